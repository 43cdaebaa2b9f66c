"""POST /_emulator/scenario (atomic), GET /_emulator/timeline, reset back to the start, identical replays."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from emulator.presence.directory import PresenceChange
from emulator.runtime import Runtime
from emulator.scenarios import load_scenarios, parse_scenario, use_scenario
from emulator.tenant import Tenant
from tests.scenarios.conftest import BUNDLED, Player
from tests.scenarios.conftest import hms as t

ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
OFFICE = f"""\
clock: {{start: 2026-03-02T09:00:00Z, mode: manual}}
restrictUsers: true
users: [{{id: {ADELE}, userPrincipalName: adele@contoso.com}}]
timeline:
  - {{at: 0s, user: adele@contoso.com, setTeamsPresence: {{sessionId: desktop, availability: Available,
      activity: Available}}}}
  - {{at: 10m, user: adele@contoso.com, setTeamsPresence: {{sessionId: desktop, availability: Busy,
      activity: InAMeeting}}}}
"""


async def presence(client: TestClient, user: str = ADELE) -> tuple[int, object]:
    resp = await client.get(f"/v1.0/users/{user}/presence")
    body = await resp.json()
    return resp.status, (body["availability"], body["activity"]) if resp.status == 200 else body["error"]["code"]


async def test_load_a_yaml_scenario_at_runtime(client: TestClient) -> None:
    resp = await client.post("/_emulator/scenario", data=OFFICE, headers={"Content-Type": "application/yaml"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["scenario"]["users"] == 1 and body["clock"]["mode"] == "manual"
    assert body["clock"]["now"] == "2026-03-02T09:00:00.0000000Z"
    assert await presence(client) == (200, ("Available", "Available"))
    assert await presence(client, "0b5e6a7c-1d2e-4f30-8a9b-0c1d2e3f4a5b") == (404, "itemNotFound")
    await client.post("/_emulator/clock/advance", data="PT10M")
    assert await presence(client) == (200, ("Busy", "InAMeeting"))


async def test_load_a_json_scenario_with_a_clock_override(client: TestClient) -> None:
    scenario = {"users": [{"id": ADELE}], "clock": {"mode": "real"},
                "timeline": [{"at": "1m", "user": ADELE, "setPresence": {
                    "sessionId": "app", "availability": "Busy", "activity": "InACall"}}]}
    resp = await client.post("/_emulator/scenario?clock=manual", json=scenario)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["clock"]["mode"] == "manual"
    assert await presence(client) == (200, ("Offline", "Offline"))
    await client.post("/_emulator/clock/advance", data="PT1M")
    assert await presence(client) == (200, ("Busy", "InACall"))


async def test_a_bad_scenario_changes_nothing(client: TestClient) -> None:
    await client.post("/_emulator/scenario", data=OFFICE)
    await client.post("/_emulator/clock/advance", data="PT10M")
    before = await (await client.get("/_emulator/state")).json()
    bad = OFFICE.replace("activity: InAMeeting", "activity: InAMeting")
    resp = await client.post("/_emulator/scenario?name=office.yaml", data=bad)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "InvalidScenario"
    assert error["message"].startswith("office.yaml:8:17: timeline[1].setTeamsPresence.activity: 'InAMeting' is "
                                       "not a valid activity (expected one of ")
    assert await (await client.get("/_emulator/state")).json() == before
    for body in (b"\xff\xfe", b"- just a list\n", b"{"):
        resp = await client.post("/_emulator/scenario", data=body)
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "InvalidScenario"
    assert await (await client.get("/_emulator/state")).json() == before


async def test_bad_query_parameters(client: TestClient) -> None:
    for query in ("clock=fast", "speed=0", "speed=x"):
        resp = await client.post(f"/_emulator/scenario?{query}", data=OFFICE)
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "InvalidArgument"
    resp = await client.get("/_emulator/timeline?limit=-1")
    assert resp.status == 400


async def test_timeline_shows_what_ran_and_what_is_to_come(client: TestClient) -> None:
    resp = await client.get("/_emulator/timeline")
    assert (await resp.json())["scenario"] is None
    await client.post("/_emulator/scenario?name=office.yaml", data=OFFICE)
    timeline = await (await client.get("/_emulator/timeline")).json()
    assert timeline["startDateTime"] == "2026-03-02T09:00:00.0000000Z"
    assert timeline["ran"]["count"] == 1 and timeline["upcoming"]["count"] == 1
    [ran] = timeline["ran"]["items"]
    assert ran["action"] == "setTeamsPresence" and ran["outcome"] == "applied"
    assert ran["dateTime"] == "2026-03-02T09:00:00.0000000Z" and ran["source"] == "office.yaml:5:5"
    [upcoming] = timeline["upcoming"]["items"]
    assert upcoming["dateTime"] == "2026-03-02T09:10:00.0000000Z" and "outcome" not in upcoming
    assert upcoming["userPrincipalName"] == "adele@contoso.com" and upcoming["activity"] == "InAMeeting"
    await client.post("/_emulator/clock/advance", data="PT1H")
    timeline = await (await client.get("/_emulator/timeline?limit=1")).json()
    assert timeline["ran"]["count"] == 2 and timeline["upcoming"] == {"count": 0, "items": []}
    assert [i["index"] for i in timeline["ran"]["items"]] == [1]


async def test_timeline_lists_the_scheduled_expiries_and_skips(client: TestClient) -> None:
    await client.post("/_emulator/scenario", data=f"""\
users: [{{id: {ADELE}}}]
timeline:
  - {{at: 0s, user: {ADELE}, setPresence: {{sessionId: app, availability: Busy, activity: InACall}}}}
  - {{at: 10m, user: {ADELE}, clearPresence: {{sessionId: app}}}}
""", params={"clock": "manual"})
    timeline = await (await client.get("/_emulator/timeline")).json()
    assert [s["label"] for s in timeline["scheduled"]] == [f"session {ADELE}/app"]
    await client.post("/_emulator/clock/advance", data="PT10M")
    timeline = await (await client.get("/_emulator/timeline")).json()
    assert timeline["ran"]["items"][1]["outcome"] == "skipped: no session 'app'"  # it lapsed at 5 minutes


async def test_reset_returns_to_the_scenario_start(client: TestClient) -> None:
    await client.post("/_emulator/scenario", data=OFFICE)
    await client.post("/_emulator/clock/advance", data="PT2H")
    assert await presence(client) == (200, ("Busy", "InAMeeting"))
    resp = await client.post("/_emulator/reset")
    assert (await resp.json())["clock"]["now"] == "2026-03-02T09:00:00.0000000Z"
    assert await presence(client) == (200, ("Available", "Available"))
    await client.post("/_emulator/clock/advance", data="PT10M")
    assert await presence(client) == (200, ("Busy", "InAMeeting"))


def record(runtime: Runtime) -> list[tuple[str, float, str, str, str, tuple[str, ...]]]:
    history: list[tuple[str, float, str, str, str, tuple[str, ...]]] = []

    def listen(change: PresenceChange) -> None:
        user = change.user
        history.append((user.id, change.at, change.sequence_number, user.availability, user.activity,
                        tuple(sorted(change.parts))))

    def attach(tenant: Tenant) -> None:
        tenant.presence.listeners.append(listen)
    runtime.install(attach)
    return history


async def test_replaying_twice_gives_identical_histories(client: TestClient, runtime: Runtime) -> None:
    history = record(runtime)
    use_scenario(runtime, load_scenarios([BUNDLED / "expiry.yaml"]), clock_mode="manual")
    p = Player(client)
    await p.to(t("30h"))
    first = list(history)
    assert len(first) >= 20
    # A fresh runtime playing the same file gives the very same history: times and sequence numbers.
    other = Runtime()
    other_history = record(other)
    use_scenario(other, load_scenarios([BUNDLED / "expiry.yaml"]), clock_mode="manual")
    other.tenant.advance(t("30h"))
    assert other_history == first
    # After a reset the same history plays again; sequence numbers carry on from before the reset (a server
    # never hands out a number below one it gave), shifted by one constant.
    history.clear()
    await client.post("/_emulator/reset")
    p.elapsed = 0
    await p.to(t("30h"))
    shift = int(history[0][2][1:]) - int(first[0][2][1:])
    assert shift >= len(first)
    assert [(*h[:2], f"A{int(h[2][1:]) - shift:010d}", *h[3:]) for h in history] == first


async def test_scenario_listeners_see_the_first_events(runtime: Runtime) -> None:
    history = record(runtime)
    use_scenario(runtime, load_scenarios([BUNDLED / "walkthrough.yaml"]), clock_mode="manual")
    assert [(h[0], h[3], h[4]) for h in history[-1:]] == [(ADELE, "Available", "Available")]
    assert json.dumps(runtime.tenant.timeline.describe(0)["ran"]) == '{"count": 1, "items": []}'


def test_a_crowd_replays_identically_when_loaded_again() -> None:
    # The contact centre with 300 agents: the same jitter and repetition, a fraction of the time.
    text = (BUNDLED / "contact-centre.yaml").read_text().replace("count: 5000", "count: 300")
    histories = []
    for _ in range(2):
        runtime = Runtime()
        history = record(runtime)
        # Parsed afresh each time: the jitter comes from the crowd's seed, not from a shared object.
        use_scenario(runtime, parse_scenario(text, "contact-centre.yaml"), clock_mode="manual")
        runtime.tenant.advance(t("24h"))
        histories.append(history)
    assert len(histories[0]) > 10_000 and histories[0] == histories[1]
    assert len({at for _, at, *_ in histories[0]}) > 5_000  # the jitter spreads the members' times


async def test_a_tab_indented_json_scenario_loads(client: TestClient) -> None:
    body = json.dumps({"users": [{"id": ADELE}], "timeline": [{"at": "0s", "user": ADELE, "setTeamsPresence": {
        "sessionId": "d", "availability": "Busy", "activity": "InAMeeting"}}]}, indent="\t")
    resp = await client.post("/_emulator/scenario?clock=manual", data=body,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()
    assert await presence(client) == (200, ("Busy", "InAMeeting"))


async def test_a_listener_hooked_after_the_scenario_sees_its_start_after_a_reset(client: TestClient,
                                                                                 runtime: Runtime) -> None:
    use_scenario(runtime, load_scenarios([BUNDLED / "walkthrough.yaml"]), clock_mode="manual")
    history = record(runtime)  # installed after the scenario, as an app component might be
    assert history == []
    await client.post("/_emulator/reset")
    assert await presence(client) == (200, ("Available", "Available"))  # the request runs the start's events
    assert [(h[0], h[3], h[4]) for h in history] == [(ADELE, "Available", "Available")]
