"""The Python API: ``Emulator`` in the caller's loop and ``EmulatorThread`` for synchronous code."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from emulator import Emulator, EmulatorThread
from emulator.scenarios import ScenarioError, load_scenarios
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


OFFICE = """\
clock: {start: 2026-03-02T09:00:00Z, mode: real}
users:
  - {id: fa8bf3dc-eca7-46b7-bad1-db199b62afc3, userPrincipalName: adele@contoso.com}
timeline:
  - at: 0s
    user: adele@contoso.com
    setTeamsPresence: {sessionId: desktop, availability: Available, activity: Available}
  - {at: 10m, user: adele@contoso.com, setPresence: {sessionId: softphone, availability: Busy, activity: InACall}}
"""
RESTRICTED = "restrictUsers: true\nusers:\n  - {id: 0b3b1d8f-2a55-4ec1-8b7d-5a1a5c2d7f31}\n"
SCENARIO_START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def office(tmp_path: Path) -> Path:
    path = tmp_path / "office.yaml"
    path.write_text(OFFICE)
    return path


async def test_a_scenario_file_plays_on_the_manual_clock_and_again_after_reset(office: Path) -> None:
    async with Emulator(scenario=office) as emu:
        assert emu.clock.mode == "manual"  # the test's default wins over the file's "real"
        assert emu.now() == SCENARIO_START
        emu.assert_presence("adele@contoso.com", "Available", "Available")
        emu.advance("PT10M")
        emu.assert_presence(ALICE, "Busy", "InACall")
        emu.reset()
        assert emu.now() == SCENARIO_START
        emu.assert_presence(ALICE, "Available", "Available")


def test_scenarios_as_a_list_of_files_or_a_loaded_scenario(office: Path, tmp_path: Path) -> None:
    restricted = tmp_path / "restricted.yaml"
    restricted.write_text(RESTRICTED)
    with EmulatorThread(scenario=[str(office), restricted]) as emu:
        emu.assert_presence(ALICE, "Available", "Available")
        state = emu.state()
        assert state["restrictUsers"] is True and len(state["users"]) == 2
    with EmulatorThread(scenario=load_scenarios([office]), speed=60) as emu:
        assert emu.call(lambda t: (t.clock.mode, t.clock.speed)) == ("speed", 60)


def test_a_given_start_and_tenant_win_over_the_scenarios(office: Path) -> None:
    emu = Emulator(scenario=office, start=START, tenant_id="11111111-2222-4333-8444-555555555555")
    assert emu.clock.time() == START
    assert emu.tenant.tenant_id == "11111111-2222-4333-8444-555555555555"


def test_a_bad_scenario_file_is_refused_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - {id: not-a-guid}\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:2"):
        Emulator(scenario=bad)
