"""The Python API: ``Emulator`` in the caller's loop and ``EmulatorThread`` for synchronous code."""

from __future__ import annotations

import dataclasses
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from emulator import Emulator, EmulatorThread
from emulator.runtime import Runtime
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
SET_AVAILABLE = {"sessionId": "app", "availability": "Available", "activity": "Available",
                 "expirationDuration": "PT1H"}


async def test_serves_graph_on_a_free_loopback_port_with_a_manual_clock() -> None:
    async with Emulator(start=START) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:") and emu.port > 0
        assert emu.graph_url == emu.base_url + "/v1.0"
        assert emu.clock.mode == "manual"
        async with aiohttp.ClientSession() as http:
            resp = await http.post(f"{emu.graph_url}/users/{ALICE}/presence/setPresence", json=SET_AVAILABLE)
            assert resp.status == 200
            emu.assert_presence(ALICE, "Available", "Available")
            assert emu.advance("PT5M") == 1
            resp = await http.get(f"{emu.beta_url}/users/{ALICE}/presence")
            assert (await resp.json())["activity"] == "AvailableInactive"
        assert emu.now() == datetime.fromtimestamp(START, UTC) + timedelta(minutes=5)
    with pytest.raises(RuntimeError):
        _ = emu.base_url


async def test_advance_takes_seconds_timedeltas_and_iso_durations() -> None:
    async with Emulator(start=START) as emu:
        emu.advance(60)
        emu.advance(timedelta(minutes=1))
        emu.advance("PT1M")
        assert emu.clock.time() == START + 180
        with pytest.raises(ValueError):
            emu.advance("1:00:00")
        with pytest.raises(ValueError):
            emu.advance(-1)


async def test_reset_state_and_clock_operations() -> None:
    async with Emulator(start=START) as emu:
        emu.call(lambda t: t.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=3600))
        [user] = emu.state()["users"]
        assert (user["id"], user["availability"], user["sessions"][0]["sessionId"]) == (ALICE, "Busy", "s")
        old = emu.tenant
        fresh = emu.reset()
        assert fresh is emu.tenant is not old
        assert emu.state()["users"] == [] and emu.presence_of(ALICE) == ("Offline", "Offline")
        emu.set_clock("speed", speed=60)
        assert (emu.clock.mode, emu.clock.speed) == ("speed", 60)


async def test_assert_presence_says_what_it_saw() -> None:
    async with Emulator() as emu:
        emu.assert_presence(ALICE, "Offline")
        with pytest.raises(AssertionError, match=r"is Offline/Offline at .*expected Busy/InACall"):
            emu.assert_presence(ALICE, "Busy", "InACall")


async def test_two_emulators_do_not_share_state() -> None:
    async with Emulator() as one, Emulator() as two:
        one.call(lambda t: t.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=3600))
        assert one.port != two.port
        two.assert_presence(ALICE, "Offline")


def test_options_that_contradict_are_refused() -> None:
    with pytest.raises(ValueError, match="manual"):
        Emulator(clock="manual", speed=10)


def test_thread_serves_synchronous_code() -> None:
    with EmulatorThread(start=START) as emu:
        request = urllib.request.Request(f"{emu.graph_url}/users/{ALICE}/presence/setPresence",
                                         data=json.dumps(SET_AVAILABLE).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            assert resp.status == 200
        emu.advance("PT10M")
        emu.assert_presence(ALICE, "Away", "Away")
        assert emu.presence_of(ALICE) == ("Away", "Away")
        assert emu.now() == datetime.fromtimestamp(START + 600, UTC)
        assert emu.call(lambda t: t.clock.mode) == "manual"
        assert [u["id"] for u in emu.state()["users"]] == [ALICE]
        emu.reset()
        emu.assert_presence(ALICE, "Offline")
        url = emu.control_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/health", timeout=2)


def test_thread_reports_a_failed_start() -> None:
    with EmulatorThread() as first, pytest.raises(OSError):
        EmulatorThread(port=first.emulator.port).start()


class RecordingScenarios:
    """Stands in for ``emulator.scenarios`` through its public interface: load_scenarios and use_scenario."""

    def __init__(self) -> None:
        self.loaded: list[list[str]] = []
        self.used: list[tuple[object, dict[str, object]]] = []

    def load_scenarios(self, paths: list[object]) -> object:
        self.loaded.append([str(p) for p in paths])
        return ("scenario", len(self.loaded))

    def use_scenario(self, runtime: Runtime, scenario: object, **options: object) -> None:
        self.used.append((scenario, options))
        # As the real one does: the scenario's own settings (here a start and a tenant), then a fresh tenant.
        runtime.settings = dataclasses.replace(runtime.settings, start=1.0, tenant_id="scenario-tenant")
        runtime.reset()


@pytest.fixture
def scenarios(monkeypatch: pytest.MonkeyPatch) -> RecordingScenarios:
    recording = RecordingScenarios()
    monkeypatch.setitem(sys.modules, "emulator.scenarios", recording)  # type: ignore[arg-type]
    return recording


async def test_scenario_files_objects_and_clock_options_reach_the_scenarios_interface(
        scenarios: RecordingScenarios) -> None:
    async with Emulator(scenario="a.yaml") as emu:
        assert emu.clock.time() == 1.0 and emu.tenant.tenant_id == "scenario-tenant"
    Emulator(scenario=["a.yaml", "b.yaml"], speed=30)
    prepared = object()  # a Scenario already loaded
    Emulator(scenario=prepared)
    assert scenarios.loaded == [["a.yaml"], ["a.yaml", "b.yaml"]]
    assert scenarios.used == [(("scenario", 1), {"clock_mode": "manual", "speed": None}),
                              (("scenario", 2), {"clock_mode": "speed", "speed": 30}),
                              (prepared, {"clock_mode": "manual", "speed": None})]


def test_a_given_start_and_tenant_win_over_the_scenarios(scenarios: RecordingScenarios) -> None:
    emu = Emulator(scenario="a.yaml", start=START, tenant_id="mine")
    assert emu.clock.time() == START and emu.tenant.tenant_id == "mine"
