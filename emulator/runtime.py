"""What a running server holds: the current tenant (replaced on reset) and what drives its clock."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from emulator.clock import ClockMode, RealTimeDriver
from emulator.tenant import Tenant, TenantSettings

log = logging.getLogger(__name__)


class Runtime:
    """The holder an aiohttp app keeps: handlers read ``runtime.tenant`` on every request."""

    def __init__(self, settings: TenantSettings | None = None) -> None:
        self.settings = settings or TenantSettings()
        self.tenant = Tenant(self.settings)
        self.driver = RealTimeDriver(self.tenant.scheduler)
        # Run with each new tenant (at start and after every reset), e.g. to load scenarios or hook listeners.
        self.on_tenant: list[Callable[[Tenant], None]] = []
        self._started = False

    def start(self) -> None:
        """Begin driving the clock in real time (inside the running event loop)."""
        self._started = True
        self.driver.start()

    def stop(self) -> None:
        self._started = False
        self.driver.stop()

    def install(self, hook: Callable[[Tenant], None]) -> None:
        """Run ``hook`` on the current tenant now and on every tenant after a reset."""
        self.on_tenant.append(hook)
        hook(self.tenant)

    def advance(self, seconds: float) -> int:
        """Advance the emulated clock, run what falls due, and re-arm the real-time driver."""
        ran = self.tenant.advance(seconds)
        self.driver.rearm()
        return ran

    def set_clock(self, mode: ClockMode, *, speed: float | None = None) -> None:
        """Switch the clock's mode or speed without a jump, and re-arm the real-time driver."""
        self.tenant.clock.set_mode(mode, speed=speed)
        self.driver.rearm()

    def reset(self) -> Tenant:
        """Replace all state with a fresh tenant built from the same settings."""
        self.driver.stop()
        last_sequence = self.tenant.presence.last_sequence
        self.tenant = Tenant(self.settings)
        # sequenceNumbers keep rising across a reset: a client that keeps the newest one never takes new
        # state for stale.
        self.tenant.presence.last_sequence = last_sequence
        self.driver = RealTimeDriver(self.tenant.scheduler)
        for hook in self.on_tenant:
            hook(self.tenant)
        if self._started:
            self.driver.start()
        return self.tenant


RUNTIME = web.AppKey("runtime", Runtime)
