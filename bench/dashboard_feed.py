"""What the dashboard costs the emulator: a 5,000-user burst with and without a page watching.

    python -m bench.dashboard_feed

Baseline: the same burst of set_session calls on a tenant with no dashboard feed. Then with the feed
attached but no page open (the cost every emulator pays), and with one page open (the burst's coalesced
``users`` event serialised). Also the snapshot a page gets on connect. Figures are ratios to the baseline in
the same run, best of several rounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from emulator.dashboard.feed import DashboardFeed
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings

USERS = 5000
ROUNDS = 7


def burst(runtime: Runtime, round_no: int) -> None:
    presence = runtime.tenant.presence
    for i in range(USERS):
        presence.set_session(f"00000000-0000-4000-8000-{i:012d}", "app", "Busy" if round_no % 2 else "Away",
                             "InACall" if round_no % 2 else "Away", expires_in=600)


def best(run: Callable[[int], None]) -> float:
    times = []
    for round_no in range(ROUNDS):
        started = time.perf_counter()
        run(round_no)
        times.append(time.perf_counter() - started)
    return min(times)


async def main() -> None:
    settings = TenantSettings(clock_mode="manual", start=1_790_000_000.0)

    plain = Runtime(settings)
    baseline = best(lambda n: burst(plain, n))

    idle = Runtime(settings)
    DashboardFeed(idle)
    unwatched = best(lambda n: burst(idle, n))

    watched_runtime = Runtime(settings)
    feed = DashboardFeed(watched_runtime)
    viewer = feed.open()

    def watched_round(n: int) -> None:
        burst(watched_runtime, n)
        feed.flush()
        viewer.take()

    watched = best(watched_round)
    snapshot = best(lambda _n: feed.snapshot() and None)
    size = len(feed.snapshot())
    await feed.stop()

    print(f"{USERS} users, best of {ROUNDS} rounds")
    print(f"  burst, no dashboard (baseline)   {baseline * 1000:8.1f} ms   1.00x")
    print(f"  burst, feed attached, no page    {unwatched * 1000:8.1f} ms   {unwatched / baseline:.2f}x")
    print(f"  burst + coalesced event, 1 page  {watched * 1000:8.1f} ms   {watched / baseline:.2f}x")
    print(f"  snapshot on connect              {snapshot * 1000:8.1f} ms   {snapshot / baseline:.2f}x"
          f"   ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    asyncio.run(main())
