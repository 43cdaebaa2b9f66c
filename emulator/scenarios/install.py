"""Putting a scenario on a running emulator: tenant settings from the scenario (and the command line's clock
flags), a fresh tenant, and the scenario played on it now and after every reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.scenarios.sources import default_source
from emulator.scenarios.timeline import Scenario

if TYPE_CHECKING:
    from emulator.clock import ClockMode
    from emulator.runtime import Runtime
    from emulator.tenant import Tenant, TenantSettings


def default_scenario() -> Scenario:
    """The small office day that ``serve`` plays when given no ``--scenario`` (shipped in the package)."""
    from emulator.scenarios.loader import load_sources  # PyYAML and pydantic: only when a scenario is read

    return load_sources([default_source()])


@dataclass(frozen=True)
class ScenarioHook:
    """The runtime hook that plays a scenario on each new tenant; it remembers the clock overrides."""

    scenario: Scenario
    clock_mode: str | None = None
    speed: float | None = None

    def __call__(self, tenant: Tenant) -> None:
        tenant.timeline.play(self.scenario)
        if self.scenario.faults:  # after play: window durations count from the scenario's start
            tenant.gate.add_faults(self.scenario.faults)


def current_hook(runtime: Runtime) -> ScenarioHook | None:
    return next((h for h in runtime.on_tenant if isinstance(h, ScenarioHook)), None)


def scenario_settings(base: TenantSettings, scenario: Scenario, clock_mode: str | None,
                      speed: float | None) -> TenantSettings:
    """The scenario's tenant settings; clock flags given (``--clock``, ``--speed``) win over its own."""
    from dataclasses import replace

    from emulator.tenant import DEFAULT_TENANT_ID

    mode: ClockMode
    if clock_mode is not None:
        mode = "speed" if clock_mode == "speed" else ("manual" if clock_mode == "manual" else "real")
    elif speed is not None:
        mode = "speed"
    elif scenario.clock_mode in ("real", "manual", "speed"):
        mode = scenario.clock_mode  # type: ignore[assignment]
    else:
        mode = "real"
    rate = speed if speed is not None else (scenario.speed if scenario.speed is not None else 1.0)
    return replace(base, tenant_id=scenario.tenant_id or DEFAULT_TENANT_ID, clock_mode=mode, speed=rate,
                   start=scenario.start, restrict_users=scenario.restrict_users)


def use_scenario(runtime: Runtime, scenario: Scenario, *, clock_mode: str | None = None,
                 speed: float | None = None) -> None:
    """Make ``scenario`` the runtime's: its settings (with the clock overrides), a fresh tenant, and the
    scenario played on it now and after every ``POST /_emulator/reset``. Replaces an earlier scenario."""
    if clock_mode not in (None, "real", "manual", "speed"):
        raise ValueError(f"unknown clock mode {clock_mode!r}")
    if speed is not None and not speed > 0:
        raise ValueError("speed must be greater than 0")
    runtime.on_tenant[:] = [h for h in runtime.on_tenant if not isinstance(h, ScenarioHook)]
    runtime.settings = scenario_settings(runtime.settings, scenario, clock_mode, speed)
    runtime.on_tenant.append(ScenarioHook(scenario, clock_mode, speed))
    runtime.reset()
    # The events due at the start run once every hook has run (after a reset, the next request runs them).
    runtime.tenant.scheduler.run_due()
