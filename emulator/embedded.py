"""The emulator as a Python object: ``async with Emulator() as emu`` and, for synchronous code, ``EmulatorThread``.

Both start the same aiohttp app in this process on 127.0.0.1 and a free port, with a manual clock unless told
otherwise, and offer the same control operations as the ``/_emulator/`` control plane, as direct calls: no HTTP
round trip, so a test pays microseconds to move the clock. ``Emulator`` runs in the caller's event loop;
``EmulatorThread`` runs one on a background thread and hands every operation to that thread, so the server's
state is only ever touched from its own loop.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from emulator.app import create_app
from emulator.clock import Clock, ClockMode, to_timestamp
from emulator.control.routes import tenant_state
from emulator.graph.requests import parse_iso_duration
from emulator.loop_thread import OnThread
from emulator.runtime import Runtime
from emulator.tenant import Tenant, TenantSettings
from emulator.tls import TLSFiles, given, local_ca

T = TypeVar("T")
# A scenario file, several, or a Scenario object that ``emulator.scenarios.load_scenarios`` returned.
ScenarioSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Any
# Seconds, a timedelta, or an ISO 8601 duration such as "PT5M".
Duration = float | timedelta | str
# True: the cached local CA (see emulator.tls); a (cert, key) pair; or TLSFiles.
TLSOption = bool | TLSFiles | tuple[str | os.PathLike[str], str | os.PathLike[str]]


def duration_seconds(duration: Duration) -> float:
    if isinstance(duration, timedelta):
        seconds = duration.total_seconds()
    elif isinstance(duration, str):
        seconds = parse_iso_duration(duration)
    else:
        seconds = float(duration)
    if seconds < 0:
        raise ValueError("the clock cannot go backwards")
    return seconds


def load_scenario(source: ScenarioSource) -> Any:
    """Files become a Scenario through ``emulator.scenarios``; a Scenario object is used as it is."""
    # Imported on use: the scenarios feature is optional for everything else here.
    scenarios = importlib.import_module("emulator.scenarios")
    if isinstance(source, str | os.PathLike):
        return scenarios.load_scenarios([source])
    if isinstance(source, list | tuple):
        return scenarios.load_scenarios(list(source))
    return source


def tls_files(option: TLSOption) -> TLSFiles | None:
    if option is False:
        return None
    if option is True:
        return local_ca()
    if isinstance(option, TLSFiles):
        return option
    cert, key = option
    return given(cert, key)


class Emulator:
    """An emulator serving in the running event loop; use ``async with``, or ``await start()``/``stop()``."""

    def __init__(self, scenario: ScenarioSource | None = None, *, clock: ClockMode | None = None,
                 speed: float | None = None, start: float | datetime | None = None, tls: TLSOption = False,
                 host: str = "127.0.0.1", port: int = 0, tenant_id: str | None = None) -> None:
        if speed is not None and clock == "manual":
            raise ValueError("a manual clock does not run: give speed or clock='manual', not both")
        mode: ClockMode = clock or ("speed" if speed is not None else "manual")
        start_ts = to_timestamp(start) if isinstance(start, datetime) else start
        settings = TenantSettings(clock_mode=mode, speed=speed or 1.0, start=start_ts)
        if tenant_id is not None:
            settings = dataclasses.replace(settings, tenant_id=tenant_id)
        self.runtime = Runtime(settings)
        # The app first, so that what it hooks onto each tenant (listeners) sees the scenario from its start.
        self._app: web.Application | None = create_app(self.runtime)
        if scenario is not None:
            importlib.import_module("emulator.scenarios").use_scenario(
                self.runtime, load_scenario(scenario), clock_mode=mode, speed=speed)
            # A start or tenant given here wins over the scenario's own, as the clock arguments do.
            if start_ts is not None or tenant_id is not None:
                chosen = self.runtime.settings
                self.runtime.settings = dataclasses.replace(
                    chosen, start=chosen.start if start_ts is None else start_ts,
                    tenant_id=tenant_id or chosen.tenant_id)
                self.runtime.reset()
        self.tls = tls_files(tls)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Life cycle -------------------------------------------------------------------------------------------

    async def start(self) -> Self:
        app, self._app = self._app, None
        if app is None:
            raise RuntimeError("an Emulator runs once: make a new one to start again")
        # No access log and a short grace period: a test's leftover connection must not hold up teardown.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port,
                               ssl_context=self.tls.server_context() if self.tls else None)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self.port = 0
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # Where it is ------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:PORT``, without a version segment."""
        if not self.port:
            raise RuntimeError("the emulator is not running yet")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def graph_url(self) -> str:
        """The Graph v1.0 base URL, what msgraph-sdk's ``adapter.base_url`` takes."""
        return f"{self.base_url}/v1.0"

    @property
    def beta_url(self) -> str:
        return f"{self.base_url}/beta"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_emulator"

    @property
    def ca_file(self) -> str | None:
        """The file a client must trust to reach this emulator over https (None over http)."""
        if self.tls is None:
            return None
        return str(self.tls.ca or self.tls.cert)

    # The state and its control operations -----------------------------------------------------------------

    @property
    def tenant(self) -> Tenant:
        """The current state root (a new object after ``reset()``)."""
        return self.runtime.tenant

    @property
    def clock(self) -> Clock:
        return self.runtime.tenant.clock

    def now(self) -> datetime:
        """The emulated current time."""
        return self.runtime.tenant.clock.now()

    def advance(self, duration: Duration) -> int:
        """Move the clock forward (seconds, a timedelta or "PT5M"), running everything that falls due on the way,
        in order. Returns how many timed effects ran."""
        return self.runtime.advance(duration_seconds(duration))

    def set_clock(self, mode: ClockMode, *, speed: float | None = None) -> None:
        """Switch the clock to ``real``, ``manual`` or ``speed`` (N emulated seconds per real second)."""
        self.runtime.set_clock(mode, speed=speed)

    def reset(self) -> Tenant:
        """Drop all state for a fresh tenant (the scenario, if any, is loaded again)."""
        self.runtime.reset()
        return self._caught_up()

    def state(self) -> dict[str, Any]:
        """The same dump as ``GET /_emulator/state``: every user, their sessions, expiries and the clock."""
        return tenant_state(self._caught_up())

    def presence_of(self, user: str) -> tuple[str, str]:
        """A user's (availability, activity) as Graph shows them now; ``Offline`` for a user never seen."""
        found = self._caught_up().presence.find(user)
        return ("Offline", "Offline") if found is None else (found.availability, found.activity)

    def assert_presence(self, user: str, availability: str, activity: str | None = None) -> None:
        """Fail with both values shown unless ``user`` reads ``availability`` (and ``activity``, if given)."""
        actual = self.presence_of(user)
        expected = (availability, actual[1] if activity is None else activity)
        if actual != expected:
            wanted = availability if activity is None else f"{availability}/{activity}"
            raise AssertionError(f"user {user} is {actual[0]}/{actual[1]} at {self.now().isoformat()}, "
                                 f"expected {wanted}")

    def call(self, function: Callable[[Tenant], T]) -> T:
        """Run ``function(tenant)`` against the live state (on the server's loop) and return its result."""
        return function(self._caught_up())

    def _caught_up(self) -> Tenant:
        """The tenant with whatever is due by now run first, as every Graph request sees it."""
        tenant = self.runtime.tenant
        tenant.scheduler.run_due()
        return tenant


class EmulatorThread(OnThread[Emulator]):
    """An ``Emulator`` on a background thread with its own event loop, for synchronous code and tests.

    Takes the same arguments as ``Emulator``; use it as a ``with`` block or call ``start()``/``stop()``.
    Every operation runs on the emulator's own thread, so it never races a request being served.
    """

    def __init__(self, scenario: ScenarioSource | None = None, **options: Any) -> None:
        async def make() -> Emulator:
            return await Emulator(scenario, **options).start()

        super().__init__("graph-presence-emulator", make)

    @property
    def emulator(self) -> Emulator:
        """The wrapped ``Emulator``; touch its state only through ``call`` (it lives on another thread)."""
        return self.served

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    @property
    def graph_url(self) -> str:
        return self.emulator.graph_url

    @property
    def beta_url(self) -> str:
        return self.emulator.beta_url

    @property
    def control_url(self) -> str:
        return self.emulator.control_url

    @property
    def ca_file(self) -> str | None:
        return self.emulator.ca_file

    @property
    def tls(self) -> TLSFiles | None:
        return self.emulator.tls

    def now(self) -> datetime:
        return self._call(self.emulator.now)

    def advance(self, duration: Duration) -> int:
        return self._call(self.emulator.advance, duration)

    def set_clock(self, mode: ClockMode, *, speed: float | None = None) -> None:
        self._call(lambda: self.emulator.set_clock(mode, speed=speed))

    def reset(self) -> Tenant:
        return self._call(self.emulator.reset)

    def state(self) -> dict[str, Any]:
        return self._call(self.emulator.state)

    def presence_of(self, user: str) -> tuple[str, str]:
        return self._call(self.emulator.presence_of, user)

    def assert_presence(self, user: str, availability: str, activity: str | None = None) -> None:
        self._call(self.emulator.assert_presence, user, availability, activity)

    def call(self, function: Callable[[Tenant], T]) -> T:
        return self._call(lambda: self.emulator.call(function))
