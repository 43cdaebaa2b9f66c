"""The one clock (manual, real, speed) and the one scheduler. Real time is faked with a monkeypatched
``time.monotonic``: nothing here sleeps."""

from __future__ import annotations

import asyncio

import pytest

from emulator import clock as clock_module
from emulator.clock import Clock, RealTimeDriver, Scheduler, format_graph_datetime

START = 1_790_000_000.0


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(clock_module.time, "monotonic", fake)
    return fake


def test_manual_clock_moves_only_when_advanced(monotonic: FakeMonotonic) -> None:
    clock = Clock("manual", start=START)
    monotonic.now += 3600
    assert clock.time() == START
    assert clock.speed == 0.0
    Scheduler(clock).advance(90)
    assert clock.time() == START + 90


def test_real_clock_follows_real_time(monotonic: FakeMonotonic) -> None:
    clock = Clock("real", start=START)
    monotonic.now += 2.5
    assert clock.time() == pytest.approx(START + 2.5)


def test_speed_clock_runs_n_times_faster(monotonic: FakeMonotonic) -> None:
    clock = Clock("speed", start=START, speed=60)
    monotonic.now += 10
    assert clock.time() == pytest.approx(START + 600)
    assert clock.speed == 60


def test_mode_changes_never_jump(monotonic: FakeMonotonic) -> None:
    clock = Clock("speed", start=START, speed=10)
    monotonic.now += 1
    clock.set_mode("manual")
    assert clock.time() == pytest.approx(START + 10)
    monotonic.now += 100
    assert clock.time() == pytest.approx(START + 10)
    clock.set_mode("real")
    monotonic.now += 2
    assert clock.time() == pytest.approx(START + 12)
    clock.set_mode("speed", speed=3)
    monotonic.now += 2
    assert clock.time() == pytest.approx(START + 18)


@pytest.mark.parametrize("speed", [0, -1])
def test_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError):
        Clock("speed", start=START, speed=speed)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        Clock("warp", start=START)  # type: ignore[arg-type]


def test_advance_cannot_go_backwards() -> None:
    with pytest.raises(ValueError):
        Scheduler(Clock("manual", start=START)).advance(-1)


def test_graph_datetime_format() -> None:
    assert format_graph_datetime(START + 0.25) == "2026-09-21T14:13:20.2500000Z"


def test_advance_runs_due_entries_in_time_order_with_the_clock_at_each() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[tuple[str, float]] = []
    for label, delay in [("c", 30), ("a", 10), ("b", 20), ("b2", 20), ("late", 100)]:
        scheduler.call_later(delay, lambda label=label: ran.append((label, clock.time())), label)
    assert scheduler.advance(50) == 4
    # Equal times run in the order they were scheduled.
    assert ran == [("a", START + 10), ("b", START + 20), ("b2", START + 20), ("c", START + 30)]
    assert clock.time() == START + 50
    assert scheduler.next_due() == START + 100


def test_an_entry_scheduled_by_a_callback_runs_in_the_same_advance_if_due() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[float] = []

    def first() -> None:
        ran.append(clock.time())
        scheduler.call_later(5, lambda: ran.append(clock.time()))

    scheduler.call_later(10, first)
    scheduler.call_later(12, lambda: ran.append(clock.time()))
    scheduler.advance(20)
    assert ran == [START + 10, START + 12, START + 15]


def test_cancelled_entries_do_not_run_and_failures_do_not_stop_time(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("bug in a timed effect")

    scheduler.call_later(1, lambda: ran.append("cancelled")).cancel()
    scheduler.call_later(2, broken, "broken")
    scheduler.call_later(3, lambda: ran.append("after"))
    assert scheduler.advance(10) == 2
    assert ran == ["after"]
    assert "broken" in caplog.text
    assert scheduler.next_due() is None
    assert scheduler.pending() == []


def test_run_due_runs_only_what_is_due_now(monotonic: FakeMonotonic) -> None:
    clock = Clock("speed", start=START, speed=60)
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.call_later(60, lambda: ran.append("one minute"))
    scheduler.call_later(120, lambda: ran.append("two minutes"))
    monotonic.now += 1  # one real second = one emulated minute
    assert scheduler.run_due() == 1
    assert ran == ["one minute"]
    assert [h.when for h in scheduler.pending()] == [START + 120]


async def test_real_time_driver_arms_for_the_next_due_entry(monotonic: FakeMonotonic) -> None:
    clock = Clock("speed", start=START, speed=100)
    scheduler = Scheduler(clock)
    driver = RealTimeDriver(scheduler)
    driver.start()
    try:
        scheduler.call_later(50, lambda: None)  # 0.5 real seconds at speed 100
        assert driver._timer is not None
        assert driver._timer.when() - asyncio.get_running_loop().time() == pytest.approx(0.5, abs=0.05)
        scheduler.call_later(5000, lambda: None)  # later entries do not re-arm; long waits are capped at 1 s
        monotonic.now += 0.5
        driver._fire()
        assert driver._timer is not None
        assert driver._timer.when() - asyncio.get_running_loop().time() == pytest.approx(1.0, abs=0.05)
        clock.set_mode("manual")
        driver.rearm()
        assert driver._timer is None  # a manual clock is never woken by real time
    finally:
        driver.stop()


def test_callback_args_and_a_label_filled_in_from_them() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    got: list[tuple[str, int]] = []
    handle = scheduler.call_later(5, lambda name, n: got.append((name, n)), "greet {0} #{1}", "alice", 2)
    plain = scheduler.call_later(6, lambda: got.append(("plain", 0)), "no {placeholders} filled")
    assert handle.label == "greet alice #2"
    assert plain.label == "no {placeholders} filled"
    scheduler.advance(10)
    assert got == [("alice", 2), ("plain", 0)]


def test_cancelled_entries_are_compacted_away_and_not_counted() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[int] = []
    handle = scheduler.call_later(1000, ran.append, "", -1)
    for n in range(5 * Scheduler.COMPACT_MIN_CANCELLED):  # re-arming one timer, as a re-set session does
        handle.cancel()
        handle.cancel()  # a second cancel counts once
        handle = scheduler.call_later(1000 + n, ran.append, "", n)
    assert len(scheduler) == 1
    assert len(scheduler._heap) < 2 * Scheduler.COMPACT_MIN_CANCELLED
    kept = scheduler.call_later(10, ran.append, "", -2)
    assert scheduler.next_due() == START + 10
    scheduler.advance(5000)
    assert ran == [-2, 5 * Scheduler.COMPACT_MIN_CANCELLED - 1]
    kept.cancel()  # already ran: nothing to count
    assert len(scheduler) == 0 and scheduler._heap == []


def test_cancelling_from_a_callback_while_the_heap_is_compacted_keeps_order() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[float] = []
    victims = [scheduler.call_later(100 + n, ran.append, "", -1.0)
               for n in range(3 * Scheduler.COMPACT_MIN_CANCELLED)]

    def cancel_all() -> None:
        ran.append(clock.time())
        for victim in victims:
            victim.cancel()

    scheduler.call_later(50, cancel_all)
    for n in range(5):
        scheduler.call_later(60 + n * 100, lambda: ran.append(clock.time()))
    scheduler.advance(1000)
    assert ran == [START + 50, START + 60, START + 160, START + 260, START + 360, START + 460]
    assert len(scheduler) == 0


def test_a_postponed_entry_runs_once_at_its_new_time_after_what_was_already_due_then() -> None:
    clock = Clock("manual", start=START)
    scheduler = Scheduler(clock)
    ran: list[tuple[str, float]] = []

    def note(name: str) -> None:
        ran.append((name, clock.time()))

    moved = scheduler.call_at(START + 10, note, "moved", "moved")
    scheduler.call_at(START + 20, note, "same instant, scheduled first", "first")
    scheduler.postpone(moved, START + 20)
    scheduler.call_at(START + 20, note, "same instant, scheduled after", "after")
    # Seen from outside, the entry is where it was moved to, though the heap has not been touched.
    assert [h.label for h in scheduler.pending()] == ["same instant, scheduled first", "moved",
                                                      "same instant, scheduled after"]
    assert scheduler.next_due() == START + 20
    assert len(scheduler) == 3
    scheduler.advance(15)
    assert ran == []
    scheduler.advance(10)
    assert ran == [("first", START + 20), ("moved", START + 20), ("after", START + 20)]
    with pytest.raises(ValueError):
        scheduler.postpone(scheduler.call_at(START + 50, note, "x", "x"), START + 40)
