"""A scenario's ``faults:`` list: the rules of POST /_emulator/faults, installed with the scenario (and again
after a reset), each bad rule reported with file:line:column, and a bad one changing nothing."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from emulator.scenarios import ScenarioError, load_scenarios, parse_scenario
from tests.webhooks import ALICE, Receiver, client, receiver, runtime, subscribe

__all__ = ["client", "receiver", "runtime"]

PRESENCE = f"/v1.0/users/{ALICE}/presence"
SCENARIO = f"""\
clock: {{start: 2026-03-02T09:00:00Z, mode: manual}}
users: [{{id: {ALICE}, userPrincipalName: adele@contoso.com}}]
timeline:
  - {{at: 0s, user: adele@contoso.com, setTeamsPresence: {{sessionId: desktop, availability: Busy, activity: InACall}}}}
faults:
  - id: second-read-unavailable
    method: GET
    path: /v1.0/users/*/presence
    nth: 2
    status: 503
    retryAfter: 7
  - {{id: later, method: POST, path: /**/setPresence, status: 429, window: {{start: PT10M}}}}
"""


async def load(client: TestClient, text: str) -> tuple[int, dict[str, object]]:
    resp = await client.post("/_emulator/scenario?clock=manual&name=office.yaml", data=text,
                             headers={"Content-Type": "application/yaml"})
    body: dict[str, object] = await resp.json()
    return resp.status, body


async def statuses(client: TestClient, count: int) -> list[tuple[int, str | None, str | None]]:
    found = []
    for _ in range(count):
        resp = await client.get(PRESENCE)
        code = (await resp.json())["error"]["code"] if resp.status >= 400 else None
        found.append((resp.status, code, resp.headers.get("Retry-After")))
    return found


async def set_presence(client: TestClient, availability: str = "Available", activity: str = "Available") -> int:
    resp = await client.post(f"{PRESENCE}/setPresence", json={
        "sessionId": "app", "availability": availability, "activity": activity, "expirationDuration": "PT1H"})
    return resp.status


async def test_a_scenario_fault_rule_fails_the_matching_request_and_comes_back_after_reset(
        client: TestClient) -> None:
    status, body = await load(client, SCENARIO)
    assert status == 200, body
    assert body["scenario"]["faults"] == 2  # type: ignore[index]
    expected = [(200, None, None), (503, "serviceNotAvailable", "7"), (200, None, None)]
    assert await statuses(client, 3) == expected
    listed = await (await client.get("/_emulator/faults")).json()
    assert [(r["id"], r["matched"], r["fired"]) for r in listed["value"]] == [
        ("second-read-unavailable", 3, 1), ("later", 0, 0)]

    # The window's PT10M counts from the scenario's start, on the emulated clock.
    assert await set_presence(client) == 200
    await client.post("/_emulator/clock/advance", data="PT9M59S")
    assert await set_presence(client) == 200
    await client.post("/_emulator/clock/advance", data="PT1S")
    assert await set_presence(client) == 429

    resp = await client.post("/_emulator/reset")
    assert resp.status == 200
    assert await statuses(client, 3) == expected  # installed afresh, counters and window with it
    assert await set_presence(client) == 200


async def test_a_scenario_delivery_fault_duplicates_a_notification(
        client: TestClient, runtime: object, receiver: Receiver) -> None:
    text = SCENARIO.split("faults:")[0] + "faults: [{target: delivery, changeType: updated, duplicate: 1}]\n"
    status, body = await load(client, text)
    assert status == 200, body
    await subscribe(client, runtime, receiver.url())  # type: ignore[arg-type]
    assert await set_presence(client, "DoNotDisturb", "Presenting") == 200  # outranks the scenario's Busy
    items = await receiver.wait_items(2)
    await asyncio.sleep(0.05)  # real time: the network, to see that no third copy follows
    assert len(receiver.items()) == 2 and items[0] == items[1]


def located(text: str, needle: str, line: int, after: str = "") -> str:
    """``line:column`` of ``needle`` (after ``after``) on the 1-based line of ``text``."""
    row = text.splitlines()[line - 1]
    return f"{line}:{row.index(needle, row.index(after) if after else 0) + 1}"


BAD = """\
faults:
  - {path: /x, status: 99}
  - {path: /x, stat: 500}
  - {target: delivery, method: GET, duplicate: 1}
  - {target: nope}
  - {path: /x, status: 500, window: {start: soon}}
  - {path: /x}
  - {path: "re:(", status: 500}
"""


def test_each_bad_rule_is_located_with_its_field_path() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BAD, "bad.yaml")
    at = lambda needle, line, after="": f"bad.yaml:{located(BAD, needle, line, after)}"  # noqa: E731
    assert caught.value.problems == [
        f"{at('99', 2)}: faults[0].status: Input should be greater than or equal to 400 (found 99)",
        f"{at('stat', 3)}: faults[1].stat: unknown field 'stat' (expected one of id, description, window, nth, "
        "times, probability, seed, target, method, path, applicationId, status, code, message, retryAfter, "
        "latency, drop)",
        f"{at('method', 4)}: faults[2].method: unknown field 'method' (expected one of id, description, window, "
        "nth, times, probability, seed, target, subscriptionId, resource, notificationUrl, changeType, "
        "duplicate, delay, outOfOrder, holdFor)",
        f"{at('nope', 5)}: faults[3].target: 'target' must be 'request' (the default) or 'delivery'",
        f"{at('soon', 6)}: faults[4].window.start: it fits none of: Input should be a valid datetime or date, "
        "input is too short; Input should be a valid timedelta, invalid digit in duration (found 'soon')",
        f"{at('{', 7)}: faults[5]: a request fault needs an effect: 'status', 'latency' or 'drop': true",
        f"{at(chr(34) + 're:(', 8)}: faults[6].path: '(' is not a regular expression: missing ), "
        "unterminated subpattern at position 0",
    ]


def test_what_installing_would_refuse_is_found_at_load_across_files(tmp_path: object) -> None:
    from pathlib import Path
    assert isinstance(tmp_path, Path)
    first = tmp_path / "one.yaml"
    first.write_text("clock: {start: 2026-03-02T09:00:00Z}\nfaults:\n  - {id: slow, path: /x, latency: 1}\n")
    second = tmp_path / "two.yaml"
    second.write_text("faults:\n  - {id: slow, path: /y, status: 500}\n"
                      "  - {path: /y, status: 500, window: {start: PT1H, end: PT1M}}\n"
                      "  - {path: /y, status: 500, window: {end: 2026-03-02T08:00:00Z}}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([first, second])
    assert caught.value.problems == [
        f"{second}:2:10: faults[0].id: duplicate fault rule id 'slow' (first given at {first}:3:10)",
        f"{second}:3:37: faults[1].window: the window ends before it starts",
    ]  # a window that closed before the start is no error: the rule never fires


async def test_a_bad_rule_changes_nothing(client: TestClient) -> None:
    status, _ = await load(client, SCENARIO)
    assert status == 200
    await client.post("/_emulator/clock/advance", data="PT1M")
    before = [await (await client.get(p)).json() for p in ("/_emulator/faults", "/_emulator/timeline")]
    status, body = await load(client, SCENARIO.replace("retryAfter: 7", "retryAfter: soon")
                              .replace("Busy, activity: InACall", "Away, activity: Away"))
    assert status == 400
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "InvalidScenario"
    assert "office.yaml:11:17: faults[0].retryAfter: expected an integer (found 'soon')" in error["message"]
    after = [await (await client.get(p)).json() for p in ("/_emulator/faults", "/_emulator/timeline")]
    assert after == before
    assert (await (await client.get("/_emulator/clock")).json())["now"] == "2026-03-02T09:01:00.0000000Z"
    assert await statuses(client, 2) == [(200, None, None), (503, "serviceNotAvailable", "7")]
