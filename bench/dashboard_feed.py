"""What the dashboard costs the emulator: a 5,000-user burst with and without a page watching.

    python -m bench.dashboard_feed

Baseline: a burst of 5,000 set_session calls on a tenant with no dashboard feed. Then the same burst with the
feed attached but no page open (the cost every emulator pays), and with one page open (plus building the
burst's one coalesced ``users`` event). Also the snapshot a page gets on connect. The variants run
interleaved, round after round, and each keeps its best round, so that load from other processes falls on
all of them alike; figures are ratios to the baseline of the same run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from emulator.dashboard.feed import DashboardFeed
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings

USERS = 5000
ROUNDS = 9
SETTINGS = TenantSettings(clock_mode="manual", start=1_790_000_000.0)


def burst(runtime: Runtime, round_no: int) -> None:
    presence = runtime.tenant.presence
    busy = round_no % 2 == 1
    for i in range(USERS):
        presence.set_session(f"00000000-0000-4000-8000-{i:012d}", "app", "Busy" if busy else "Away",
                             "InACall" if busy else "Away", expires_in=600)


async def main() -> None:
    plain = Runtime(SETTINGS)
    idle = Runtime(SETTINGS)
    DashboardFeed(idle)
    watched = Runtime(SETTINGS)
    feed = DashboardFeed(watched)
    viewer = feed.open()
    sizes: list[int] = []

    def watched_round(n: int) -> None:
        burst(watched, n)
        feed.flush()
        viewer.take()

    def snapshot_round(_n: int) -> None:
        sizes.append(len(feed.snapshot()))

    variants: dict[str, Callable[[int], None]] = {
        "burst, no dashboard (baseline)": lambda n: burst(plain, n),
        "burst, feed attached, no page": lambda n: burst(idle, n),
        "burst + coalesced event, 1 page": watched_round,
        "snapshot on connect": snapshot_round,
    }
    for run in variants.values():  # warm-up: users created, imports and caches warm
        run(0)
    best = dict.fromkeys(variants, float("inf"))
    for round_no in range(1, ROUNDS + 1):
        for name, run in variants.items():
            started = time.perf_counter()
            run(round_no)
            best[name] = min(best[name], time.perf_counter() - started)
    await feed.stop()

    baseline = best["burst, no dashboard (baseline)"]
    print(f"{USERS} users, best of {ROUNDS} interleaved rounds; snapshot {sizes[-1] / 1e6:.1f} MB")
    for name, seconds in best.items():
        print(f"  {name:34s} {seconds * 1000:8.1f} ms   {seconds / baseline:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
