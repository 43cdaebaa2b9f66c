"""Benchmark: the 5,000-agent contact centre scenario (issue 3's performance targets).

Measures, in one run, (1) loading scenarios/contact-centre.yaml (read, validate, expand), (2) playing its
whole day on a manual clock (advance 24 hours), and (3) the baseline: applying the same number of
setPresence operations directly to the domain (``PresenceDirectory.set_session``) on a fresh tenant.
Targets: load < 1 s, play < 5 s, play <= 1.5x the baseline. Times are CPU seconds of this process; each
figure is the median of --repeat runs, play and baseline paired in each, and the spread (min-max) says how
noisy the machine was. A second baseline gives setPresence its Graph semantics (PT5M expiry, idle fade).

    python -m bench.scenario_bench [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from emulator.scenarios import Scenario, load_scenarios
from emulator.tenant import Tenant, TenantSettings

ROOT = Path(__file__).resolve().parent.parent
CONTACT_CENTRE = ROOT / "scenarios" / "contact-centre.yaml"
DAY = 24 * 3600.0


def timed(work: Callable[[], object]) -> float:
    """CPU seconds of this process: less disturbed than wall time by other work on a shared machine."""
    gc.collect()
    began = time.process_time()
    work()
    return time.process_time() - began


def fresh_tenant(scenario: Scenario) -> Tenant:
    return Tenant(TenantSettings(clock_mode="manual", start=scenario.start, restrict_users=True))


def play_day(scenario: Scenario) -> float:
    tenant = fresh_tenant(scenario)

    def work() -> None:
        tenant.timeline.play(scenario)
        tenant.advance(DAY)
    return timed(work)


def direct_set_presence(scenario: Scenario, *, graph_semantics: bool = False) -> float:
    """The same number of operations as the plan, each a set_session on the plan's user, straight to the
    domain: what the scenario machinery would cost if it were free. ``graph_semantics``: as Graph's
    setPresence does it (an application session, PT5M expiry, idle fade), rather than as a Teams client."""
    tenant = fresh_tenant(scenario)
    for user in scenario.users:
        tenant.presence.add_user(user.id, user.user_principal_name, user.display_name)
    # Each operation flips its user between two pairs, so that each is a visible change (a new
    # sequenceNumber), as the scenario's are: the same work per operation, minus the scenario machinery.
    flips: dict[int, int] = {}
    operations = []
    for index in scenario.plan.users:
        flips[index] = flip = flips.get(index, 0) ^ 1
        operations.append((scenario.users[index].id, flip))
    pairs = [("Available", "Available"), ("Busy", "InACall")]
    set_session = tenant.presence.set_session
    expires_in, fades, source = (300.0, True, "application") if graph_semantics else (None, False, "teams")

    def work() -> None:
        for user_id, flip in operations:
            availability, activity = pairs[flip]
            set_session(user_id, "desktop", availability, activity, expires_in=expires_in, fades=fades,
                        source=source)
    return timed(work)


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    loads, plays, directs, apps, ratios = [], [], [], [], []
    scenario = load_scenarios([CONTACT_CENTRE])
    for _ in range(args.repeat):
        loads.append(timed(lambda: load_scenarios([CONTACT_CENTRE])))
        play, direct = play_day(scenario), direct_set_presence(scenario)
        plays.append(play)
        directs.append(direct)
        ratios.append(play / direct)
    apps.append(direct_set_presence(scenario, graph_semantics=True))  # once: it is slow (see the closing note)
    print(f"contact centre: {len(scenario.users)} users, {len(scenario.plan)} timeline occurrences")
    print(f"load:                          {spread(loads)}   target < 1 s")
    print(f"play one day (advance 24h):    {spread(plays)}   target < 5 s")
    print(f"direct set_session x {len(scenario.plan)}: {spread(directs)}")
    print(f"direct setPresence (PT5M, fade) x {len(scenario.plan)}, once: {apps[0]:.3f} s "
          f"(play / this: {statistics.median(plays) / apps[0]:.2f}x)")
    print(f"play / direct (paired runs):   median {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})   target <= 1.5x")


if __name__ == "__main__":
    main()
