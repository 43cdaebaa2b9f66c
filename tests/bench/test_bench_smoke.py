"""The benchmark scripts still run: each at a trivial size, in a second or two (no wrk needed).

They measure nothing here; what they check is that both throughput servers answer every scenario alike, and
that the memory and clock benchmarks run their workloads to the end state they assert.
"""

from __future__ import annotations

import pytest

from bench import clock_advance, memory, throughput


def test_both_throughput_servers_answer_every_scenario() -> None:
    for kind in throughput.SERVERS:
        with throughput.running_server(kind, users=20, cores=throughput.cpu_sets()[0]) as server:
            throughput.check_answers(server.port, users=20, ids=30)
            assert server.cpu_seconds() > 0


def test_throughput_figures_are_medians_of_per_round_ratios() -> None:
    figures = throughput.Figures({"baseline": [100.0, 200.0, 100.0], "emulator": [90.0, 100.0, 95.0]},
                                 {"baseline": [10.0, 10.0, 10.0], "emulator": [9.0, 8.0, 7.0]})
    summary = figures.summary(0.9)
    assert summary["rps"]["ratio_median"] == pytest.approx(0.9)  # type: ignore[index]
    assert summary["per_cpu_second"]["ratio_min"] == pytest.approx(0.7)  # type: ignore[index]
    assert summary["met"] is True


def test_memory_bench_measures_in_a_subprocess() -> None:
    fig = memory.measure(200)
    assert fig["users"] == 200 and fig["pending_timers"] == 200
    assert fig["rss_mb"] >= fig["empty_rss_mb"] > 0


@pytest.mark.parametrize("workload", ["default", "varied"])
def test_clock_bench_expires_every_session(workload: str) -> None:
    elapsed, ran, changes = clock_advance.run_fresh(300, workload)
    assert elapsed > 0
    assert ran == changes >= 300
