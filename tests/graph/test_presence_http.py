"""The Graph presence endpoints through a real aiohttp server: bodies, status codes, headers, errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from tests.conftest import START
from tests.graph.tokens import app_token, user_token

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"
VERSIONS = ["v1.0", "beta"]
ACTIONS = ["setPresence", "clearPresence", "setUserPreferredPresence", "clearUserPreferredPresence",
           "setStatusMessage"]


def me(user: str = ALICE) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token(user)}"}


def action_path(form: str, version: str, action: str, user: str = ALICE) -> str:
    base = {"users": f"/users/{user}/presence", "me": "/me/presence",
            "communications": f"/communications/presences/{user}"}[form]
    return f"/{version}{base}/{action}"


def headers_for(form: str, user: str = ALICE) -> dict[str, str]:
    return me(user) if form == "me" else {}


async def set_presence(client: TestClient, availability: str = "Busy", activity: str = "InACall",
                       session: str = "app", user: str = ALICE, **extra: Any) -> ClientResponse:
    return await client.post(f"/v1.0/users/{user}/presence/setPresence", json={
        "sessionId": session, "availability": availability, "activity": activity, **extra})


async def read(client: TestClient, user: str = ALICE, **kwargs: Any) -> dict[str, Any]:
    resp = await client.get(f"/v1.0/users/{user}/presence", **kwargs)
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def graph_error(resp: ClientResponse, status: int, code: str) -> dict[str, Any]:
    """Check ``resp`` is a Graph error envelope with ``status`` and ``code``; returns the error object."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == resp.headers["request-id"]
    assert inner["client-request-id"] == resp.headers["client-request-id"]
    assert inner["date"]
    return error


# -- reads -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
async def test_user_presence_shape(client: TestClient, version: str) -> None:
    assert (await set_presence(client)).status == 200
    resp = await client.get(f"/{version}/users/{ALICE}/presence")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = await resp.json()
    assert body["@odata.context"] == f"{client.make_url('')}/{version}/$metadata#users('{ALICE}')/presence/$entity"
    assert body["id"] == ALICE
    assert (body["availability"], body["activity"]) == ("Busy", "InACall")
    assert body["statusMessage"] is None
    assert body["outOfOfficeSettings"] == {"message": None, "isOutOfOffice": False}
    assert isinstance(body["sequenceNumber"], str)


async def test_never_seen_user_is_offline(client: TestClient) -> None:
    body = await read(client, BOB)
    assert (body["id"], body["availability"], body["activity"]) == (BOB, "Offline", "Offline")
    assert body["outOfOfficeSettings"] == {"message": None, "isOutOfOffice": False}


async def test_reads_do_not_create_users(client: TestClient, runtime: Runtime) -> None:
    await read(client, BOB)
    await client.get(f"/v1.0/communications/presences/{BOB}")
    await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": [BOB]})
    assert runtime.tenant.presence.users == {}


@pytest.mark.parametrize("version", VERSIONS)
async def test_communications_presence_is_one_object(client: TestClient, version: str) -> None:
    await set_presence(client, "DoNotDisturb", "Presenting")
    resp = await client.get(f"/{version}/communications/presences/{ALICE}")
    body = await resp.json()
    assert "value" not in body
    assert body["@odata.context"] == f"{client.make_url('')}/{version}/$metadata#communications/presences/$entity"
    assert (body["id"], body["availability"], body["activity"]) == (ALICE, "DoNotDisturb", "Presenting")


@pytest.mark.parametrize("version", VERSIONS)
async def test_me_presence_from_the_token_oid(client: TestClient, version: str) -> None:
    await set_presence(client, "Away", "Away")
    resp = await client.get(f"/{version}/me/presence", headers=me())
    body = await resp.json()
    assert (body["id"], body["availability"], body["activity"]) == (ALICE, "Away", "Away")
    assert body["@odata.context"].endswith(f"/{version}/$metadata#users('{ALICE}')/presence/$entity")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwdw=="},
    {"Authorization": f"Bearer {app_token()}"},
])
async def test_me_without_a_user_token_is_400(client: TestClient, headers: dict[str, str]) -> None:
    resp = await client.get("/v1.0/me/presence", headers=headers)
    await graph_error(resp, 400, "BadRequest")
    resp = await client.post("/v1.0/me/presence/setPresence", headers=headers, json={
        "sessionId": "app", "availability": "Busy", "activity": "InACall"})
    await graph_error(resp, 400, "BadRequest")


async def test_me_with_a_malformed_oid_is_400(client: TestClient) -> None:
    await graph_error(await client.get("/v1.0/me/presence", headers=me("not-a-guid")), 400, "BadRequest")


@pytest.mark.parametrize("path", ["/v1.0/users/{id}/presence", "/v1.0/communications/presences/{id}"])
@pytest.mark.parametrize("bad", ["not-a-guid", "fa8bf3dc-eca7-46b7-bad1", "fa8bf3dc-eca7-46b7-bad1-db199b62afcz"])
async def test_malformed_id_is_400(client: TestClient, path: str, bad: str) -> None:
    await graph_error(await client.get(path.format(id=bad)), 400, "BadRequest")
    resp = await client.post(path.format(id=bad) + "/setPresence", json={
        "sessionId": "app", "availability": "Busy", "activity": "InACall"})
    await graph_error(resp, 400, "BadRequest")


async def test_ids_are_case_insensitive_and_answered_lower_case(client: TestClient) -> None:
    await set_presence(client, user=ALICE.upper())
    body = await read(client, ALICE.upper())
    assert (body["id"], body["availability"]) == (ALICE, "Busy")


# -- status message: expiry and published time only on one's own reads ------------------------------------

async def test_status_message_extra_fields_only_on_own_reads(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json={"statusMessage": {
        "message": {"content": "Hey I'm currently in a meeting.", "contentType": "text"},
        "expiryDateTime": {"dateTime": "2026-09-22T17:05:33.2079781", "timeZone": "Pacific Standard Time"}}})
    assert resp.status == 200
    other = (await read(client))["statusMessage"]
    assert other == {"message": {"content": "Hey I'm currently in a meeting.", "contentType": "text"}}
    for url in ("/v1.0/users/{id}/presence", "/v1.0/communications/presences/{id}"):
        body = await (await client.get(url.format(id=ALICE), headers=me(BOB))).json()
        assert "expiryDateTime" not in body["statusMessage"]
    own = (await (await client.get("/v1.0/me/presence", headers=me())).json())["statusMessage"]
    assert own["message"]["content"] == "Hey I'm currently in a meeting."
    assert own["expiryDateTime"] == {"dateTime": "2026-09-22T17:05:33.2079781", "timeZone": "Pacific Standard Time"}
    assert own["publishedDateTime"] == "2026-09-21T14:13:20.0000000Z"
    body = await (await client.post("/v1.0/communications/getPresencesByUserId", headers=me(),
                                    json={"ids": [ALICE]})).json()
    assert "publishedDateTime" not in body["value"][0]["statusMessage"]


async def test_odata_annotations_are_ignored_at_any_depth_even_escaped(client: TestClient) -> None:
    """What msgraph-sdk sends: ``@odata.type`` beside the properties, in nested objects too."""
    bodies = [
        ('{"@odata.type": "#microsoft.graph.setStatusMessagePostRequestBody", "statusMessage": {'
         '"message": {"@odata.type": "#microsoft.graph.itemBody", "content": "Lunch", "contentType": "text"}}}'),
        '{"statusMessage": {"\\u0040odata.type": "#microsoft.graph.presenceStatusMessage", "message": {'
        '"content": "Gym"}}}',
    ]
    for raw, content in zip(bodies, ("Lunch", "Gym"), strict=True):
        resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", data=raw,
                                 headers={"Content-Type": "application/json"})
        assert resp.status == 200, await resp.text()
        assert (await read(client))["statusMessage"]["message"]["content"] == content
    # Any other unknown property is still refused, wherever it is.
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                             json={"statusMessage": {"message": {"content": "x", "colour": "red"}}})
    assert resp.status == 400
    assert "statusMessage.message.colour" in (await resp.json())["error"]["message"]


async def test_status_message_expires_on_the_clock(client: TestClient, runtime: Runtime) -> None:
    await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json={"statusMessage": {
        "message": {"content": "back at 3", "contentType": "text"},
        "expiryDateTime": {"dateTime": "2026-09-21T15:13:20", "timeZone": "UTC"}}})
    runtime.tenant.advance(3599)
    assert (await read(client))["statusMessage"] is not None
    runtime.tenant.advance(1)
    assert (await read(client))["statusMessage"] is None


@pytest.mark.parametrize("clear", [{"statusMessage": None}, {"statusMessage": {"message": {"content": ""}}},
                                   {"statusMessage": {}}])
async def test_status_message_clearing(client: TestClient, clear: dict[str, Any]) -> None:
    await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                      json={"statusMessage": {"message": {"content": "hi", "contentType": "text"}}})
    assert (await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json=clear)).status == 200
    assert (await read(client))["statusMessage"] is None


async def test_far_future_status_expiry_is_accepted(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json={"statusMessage": {
        "message": {"content": "forever", "contentType": "text"},
        "expiryDateTime": {"dateTime": "9999-12-30T23:59:59.9999999", "timeZone": "UTC"}}})
    assert resp.status == 200
    assert (await read(client))["statusMessage"]["message"]["content"] == "forever"


# -- getPresencesByUserId --------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
async def test_get_presences_by_user_id(client: TestClient, version: str) -> None:
    await set_presence(client)
    resp = await client.post(f"/{version}/communications/getPresencesByUserId",
                             json={"ids": [ALICE, BOB, ALICE.upper(), BOB]})
    assert resp.status == 200
    body = await resp.json()
    assert body["@odata.context"] == f"{client.make_url('')}/{version}/$metadata#Collection(microsoft.graph.presence)"
    assert [(p["id"], p["availability"], p["activity"]) for p in body["value"]] == [
        (ALICE, "Busy", "InACall"), (BOB, "Offline", "Offline")]
    assert all("statusMessage" in p and "outOfOfficeSettings" in p for p in body["value"])


async def test_get_presences_repeated_reads_follow_every_change(client: TestClient) -> None:
    """A second read is served from each user's cached body: it must still drop repeats, keep the order
    asked, and show a change made since."""
    await set_presence(client)
    await set_presence(client, "Away", "Away", user=BOB)

    async def bulk(ids: list[str]) -> list[tuple[str, str]]:
        resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": ids})
        assert resp.status == 200
        return [(p["id"], p["availability"]) for p in (await resp.json())["value"]]

    assert await bulk([ALICE, BOB]) == [(ALICE, "Busy"), (BOB, "Away")]
    assert await bulk([BOB, ALICE, BOB, ALICE]) == [(BOB, "Away"), (ALICE, "Busy")]
    await set_presence(client, "DoNotDisturb", "Presenting")
    assert await bulk([BOB, ALICE]) == [(BOB, "Away"), (ALICE, "DoNotDisturb")]


async def test_get_presences_650_ids_is_the_limit(client: TestClient) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(651)]
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": ids[:650]})
    assert resp.status == 200
    assert len((await resp.json())["value"]) == 650
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": ids})
    await graph_error(resp, 400, "InvalidArgument")


@pytest.mark.parametrize("body", [{"ids": []}, {}, {"ids": None}, {"ids": ALICE}, {"ids": [1]},
                                  {"ids": [ALICE], "extra": 1}])
async def test_get_presences_bad_bodies(client: TestClient, body: dict[str, Any]) -> None:
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json=body)
    await graph_error(resp, 400, "InvalidArgument")


async def test_get_presences_malformed_id_is_400(client: TestClient) -> None:
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": [ALICE, "nope"]})
    await graph_error(resp, 400, "BadRequest")


# -- restricted users (a scenario's list) -----------------------------------------------------------------

@pytest.fixture
async def restricted(aiohttp_client: Any) -> TestClient:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START, restrict_users=True))
    runtime.install(lambda tenant: tenant.presence.add_user(ALICE, "alice@contoso.com", "Alice"))
    client: TestClient = await aiohttp_client(create_app(runtime))
    return client


async def test_restricted_unknown_user_is_404_on_reads_and_actions(restricted: TestClient) -> None:
    await graph_error(await restricted.get(f"/v1.0/users/{BOB}/presence"), 404, "itemNotFound")
    await graph_error(await restricted.get(f"/v1.0/communications/presences/{BOB}"), 404, "itemNotFound")
    resp = await set_presence(restricted, user=BOB)
    await graph_error(resp, 404, "itemNotFound")


async def test_restricted_users_in_bulk_are_presence_unknown(restricted: TestClient) -> None:
    resp = await restricted.post("/v1.0/communications/getPresencesByUserId", json={"ids": [ALICE, BOB, BOB]})
    body = await resp.json()
    assert [(p["id"], p["availability"], p["activity"]) for p in body["value"]] == [
        (ALICE, "Offline", "Offline"), (BOB, "PresenceUnknown", "PresenceUnknown")]


async def test_restricted_user_by_principal_name(restricted: TestClient) -> None:
    resp = await set_presence(restricted, user="Alice@Contoso.com")
    assert resp.status == 200
    body = await read(restricted, "alice@contoso.com")
    assert (body["id"], body["availability"]) == (ALICE, "Busy")


# -- the five actions under the three path forms ----------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("form", ["users", "me", "communications"])
async def test_every_action_under_every_path_form(client: TestClient, version: str, form: str) -> None:
    async def post(action: str, body: dict[str, Any] | None) -> None:
        resp = await client.post(action_path(form, version, action), json=body, headers=headers_for(form))
        assert resp.status == 200, await resp.text()
        assert await resp.read() == b""

    await post("setPresence", {"sessionId": "s1", "availability": "available", "activity": "AVAILABLE",
                               "expirationDuration": "PT1H"})
    assert ((await read(client))["availability"], (await read(client))["activity"]) == ("Available", "Available")
    await post("setUserPreferredPresence", {"availability": "DoNotDisturb", "activity": "DoNotDisturb",
                                            "expirationDuration": "PT8H"})
    assert (await read(client))["activity"] == "DoNotDisturb"
    await post("clearUserPreferredPresence", {})
    assert (await read(client))["activity"] == "Available"
    await post("setStatusMessage", {"statusMessage": {"message": {"content": "hi", "contentType": "text"}}})
    assert (await read(client))["statusMessage"]["message"]["content"] == "hi"
    await post("clearPresence", {"sessionId": "s1"})
    assert (await read(client))["availability"] == "Offline"


async def test_clear_user_preferred_presence_without_a_body_or_a_preference(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/clearUserPreferredPresence")
    assert resp.status == 200


@pytest.mark.parametrize(("duration", "ok"), [
    (None, True), ("PT5M", True), ("PT4H", True), ("PT1H30M", True), ("PT300S", True), ("PT0.25H", True),
    ("PT4M59S", False), ("PT4H0M1S", False), ("P1D", False), ("PT0S", False),
])
async def test_set_presence_duration_range(client: TestClient, duration: str | None, ok: bool) -> None:
    extra = {} if duration is None else {"expirationDuration": duration}
    resp = await set_presence(client, **extra)
    if ok:
        assert resp.status == 200
    else:
        error = await graph_error(resp, 400, "InvalidArgument")
        assert error["message"] == "The provided [ExpirationDuration] is out of range."


async def test_default_session_duration_is_five_minutes(client: TestClient, runtime: Runtime) -> None:
    await set_presence(client)
    runtime.tenant.advance(299)
    assert (await read(client))["availability"] == "Busy"
    runtime.tenant.advance(1)
    assert (await read(client))["availability"] == "Offline"


@pytest.mark.parametrize("duration", ["1:00:00", "01:00:00", "60", "5 minutes", "PT", "P", "P1Y", "P1M", "-PT5M",
                                      "P999999999999W"])
async def test_non_iso_durations_are_400(client: TestClient, duration: str) -> None:
    resp = await set_presence(client, expirationDuration=duration)
    await graph_error(resp, 400, "InvalidArgument")
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setUserPreferredPresence", json={
        "availability": "Busy", "activity": "Busy", "expirationDuration": duration})
    await graph_error(resp, 400, "InvalidArgument")


@pytest.mark.parametrize("pair", [("Busy", "Busy"), ("Available", "InACall"), ("DoNotDisturb", "DoNotDisturb"),
                                  ("Offline", "Offline"), ("Busy", "InAMeeting"), ("BeRightBack", "BeRightBack"),
                                  ("Sleeping", "Available"), ("", "")])
async def test_set_presence_unsupported_pairs(client: TestClient, pair: tuple[str, str]) -> None:
    await graph_error(await set_presence(client, *pair), 400, "InvalidArgument")


@pytest.mark.parametrize("duration", ["PT0S", "P0D", "1.00:00:00"])
async def test_preferred_duration_must_be_a_positive_iso_duration(client: TestClient, duration: str) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setUserPreferredPresence", json={
        "availability": "Busy", "activity": "Busy", "expirationDuration": duration})
    await graph_error(resp, 400, "InvalidArgument")


async def test_preferred_duration_has_no_upper_bound_below_100_years(client: TestClient, runtime: Runtime) -> None:
    await set_presence(client, expirationDuration="PT4H")
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setUserPreferredPresence", json={
        "availability": "Away", "activity": "Away", "expirationDuration": "P30D"})
    assert resp.status == 200
    preferred = runtime.tenant.presence.users[ALICE].preferred
    assert preferred is not None and preferred.expires_at == START + 30 * 86400


@pytest.mark.parametrize("pair", [("Busy", "InACall"), ("Available", "AvailableInactive"), ("Offline", "Offline"),
                                  ("DoNotDisturb", "Presenting")])
async def test_preferred_unsupported_pairs(client: TestClient, pair: tuple[str, str]) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setUserPreferredPresence",
                             json={"availability": pair[0], "activity": pair[1]})
    await graph_error(resp, 400, "InvalidArgument")


async def test_clear_presence_unknown_session_is_404(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/clearPresence", json={"sessionId": "nope"})
    error = await graph_error(resp, 404, "NotFound")
    assert "nope" in error["message"]


# -- bad input, with nothing half-applied ------------------------------------------------------------------

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("setPresence", {"availability": "Busy", "activity": "InACall"}, "sessionId"),
    ("setPresence", {"sessionId": "", "availability": "Busy", "activity": "InACall"}, "sessionId"),
    ("setPresence", {"sessionId": 7, "availability": "Busy", "activity": "InACall"}, "sessionId"),
    ("setPresence", {"sessionId": "app", "availability": "Busy"}, "activity"),
    ("setPresence", {"sessionId": "app", "availability": ["Busy"], "activity": "InACall"}, "availability"),
    ("setPresence", {"sessionId": "app", "availability": "Busy", "activity": "InACall",
                     "expirationDuration": 3600}, "expirationDuration"),
    ("setPresence", {"sessionId": "app", "availability": "Busy", "activity": "InACall", "mood": "happy"}, "mood"),
    ("clearPresence", {}, "sessionId"),
    ("clearPresence", {"sessionId": None}, "sessionId"),
    ("setUserPreferredPresence", {"availability": "Busy"}, "activity"),
    ("clearUserPreferredPresence", {"sessionId": "x"}, "sessionId"),
    ("setStatusMessage", {}, "statusMessage"),
    ("setStatusMessage", {"statusMessage": "hi"}, "statusMessage"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi", "contentType": "html"}}}, "contentType"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": 5}}}, "content"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi"}, "expiryDateTime": {
        "dateTime": "tomorrow", "timeZone": "UTC"}}}, "expiryDateTime"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi"}, "expiryDateTime": {
        "dateTime": "2099-01-01T00:00:00", "timeZone": "Mars Standard Time"}}}, "expiryDateTime"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi"}, "expiryDateTime": {
        "dateTime": "2020-01-01T00:00:00", "timeZone": "UTC"}}}, "expiryDateTime"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi"}, "expiryDateTime": {
        "dateTime": "9999-12-31T23:59:59", "timeZone": "Pacific Standard Time"}}}, "expiryDateTime"),
    ("setStatusMessage", {"statusMessage": {"message": {"content": "hi"}, "expiryDateTime": {
        "dateTime": "2099-01-01T00:00:00"}}}, "timeZone"),
]


@pytest.mark.parametrize(("action", "body", "mentions"), BAD_BODIES)
async def test_bad_bodies_are_400_and_change_nothing(client: TestClient, runtime: Runtime, action: str, body: Any,
                                                    mentions: str) -> None:
    await set_presence(client, session="keep", expirationDuration="PT4H")
    await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                      json={"statusMessage": {"message": {"content": "before", "contentType": "text"}}})
    before = await read(client)
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/{action}", json=body)
    error = await graph_error(resp, 400, "InvalidArgument")
    assert mentions in error["message"]
    assert await read(client) == before
    user = runtime.tenant.presence.users[ALICE]
    assert list(user.sessions) == ["keep"] and user.preferred is None


@pytest.mark.parametrize("raw", [b"{", b"not json", b"[1, 2]", b'"text"', b"{'single': 'quotes'}", b"\xff\xfe"])
async def test_malformed_json_is_400(client: TestClient, runtime: Runtime, raw: bytes) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", data=raw,
                             headers={"Content-Type": "application/json"})
    await graph_error(resp, 400, "BadRequest")
    assert ALICE not in runtime.tenant.presence.users


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_415(client: TestClient, runtime: Runtime, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", headers=headers,
                             data=b'{"sessionId": "app", "availability": "Busy", "activity": "InACall"}')
    await graph_error(resp, 415, "UnsupportedMediaType")
    assert ALICE not in runtime.tenant.presence.users


async def test_json_content_type_with_parameters_is_accepted(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence",
                             headers={"Content-Type": "Application/JSON; charset=utf-8"},
                             data=b'{"sessionId": "app", "availability": "Busy", "activity": "InACall"}')
    assert resp.status == 200


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("POST", f"/v1.0/users/{ALICE}/presence", "GET"),
    ("DELETE", "/v1.0/me/presence", "GET"),
    ("PATCH", f"/beta/communications/presences/{ALICE}", "GET"),
    ("GET", "/v1.0/communications/getPresencesByUserId", "POST"),
    ("GET", f"/v1.0/users/{ALICE}/presence/setPresence", "POST"),
    ("PUT", "/v1.0/me/presence/setStatusMessage", "POST"),
    ("HEAD", f"/v1.0/users/{ALICE}/presence", "GET"),
])
async def test_wrong_method_is_405_with_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    resp = await client.request(method, path)
    assert resp.status == 405
    assert resp.headers["Allow"] == allow
    if method != "HEAD":
        await graph_error(resp, 405, "MethodNotAllowed")


@pytest.mark.parametrize("path", [f"/v1.0/users/{ALICE}/presence/setMood", f"/v1.0/users/{ALICE}/presences",
                                  "/v2.0/me/presence"])
async def test_unknown_paths(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status in (400, 404)
    body = await resp.json()
    assert body["error"]["code"] in ("BadRequest", "NotFound")
    assert resp.headers["request-id"]


# -- headers ---------------------------------------------------------------------------------------------

async def test_request_ids_on_every_response(client: TestClient) -> None:
    resp = await client.get(f"/v1.0/users/{ALICE}/presence", headers={"client-request-id": "my-correlation-id"})
    assert resp.headers["client-request-id"] == "my-correlation-id"
    assert resp.headers["request-id"] != "my-correlation-id"
    resp2 = await client.get(f"/v1.0/users/{ALICE}/presence")
    assert resp2.headers["request-id"] != resp.headers["request-id"]
    assert resp2.headers["client-request-id"] == resp2.headers["request-id"]  # none sent: one is made up
    resp = await set_presence(client, "Busy", "Busy")
    assert resp.headers["request-id"]
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/clearPresence", json={"sessionId": "x"},
                             headers={"client-request-id": "abc"})
    error = await graph_error(resp, 404, "NotFound")
    assert error["innerError"]["client-request-id"] == "abc"


async def test_date_header_follows_the_emulated_clock(client: TestClient, runtime: Runtime) -> None:
    resp = await client.get(f"/v1.0/users/{ALICE}/presence")
    assert resp.headers["Date"] == "Mon, 21 Sep 2026 14:13:20 GMT"
    runtime.tenant.advance(86400)
    resp = await client.get(f"/v1.0/users/{ALICE}/presence")
    assert resp.headers["Date"] == "Tue, 22 Sep 2026 14:13:20 GMT"
    error = await graph_error(await client.get("/v1.0/me/presence"), 400, "BadRequest")
    assert error["innerError"]["date"] == "2026-09-22T14:13:20"


# -- sequenceNumber over HTTP ----------------------------------------------------------------------------

async def test_sequence_number_moves_only_on_visible_changes(client: TestClient, runtime: Runtime) -> None:
    numbers = []
    await set_presence(client, "Available", "Available", expirationDuration="PT1H")
    numbers.append((await read(client))["sequenceNumber"])
    await set_presence(client, "Available", "Available", expirationDuration="PT1H")  # keep-alive
    assert (await read(client))["sequenceNumber"] == numbers[-1]
    runtime.tenant.advance(300)
    body = await read(client)
    assert body["activity"] == "AvailableInactive" and body["sequenceNumber"] > numbers[-1]
    numbers.append(body["sequenceNumber"])
    await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                      json={"statusMessage": {"message": {"content": "hi", "contentType": "text"}}})
    assert (await read(client))["sequenceNumber"] > numbers[-1]


async def test_oversized_body_is_413(client: TestClient, runtime: Runtime) -> None:
    body = b'{"sessionId": "' + b"x" * (5 * 1024 * 1024) + b'", "availability": "Busy", "activity": "InACall"}'
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", data=body,
                             headers={"Content-Type": "application/json"})
    await graph_error(resp, 413, "RequestEntityTooLarge")
    assert ALICE not in runtime.tenant.presence.users


async def test_a_running_clock_never_serves_state_that_is_already_due(
        aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator import clock as clock_module

    real = [1000.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real[0])
    runtime = Runtime(TenantSettings(clock_mode="speed", speed=600, start=START))
    client: TestClient = await aiohttp_client(create_app(runtime))
    runtime.driver.stop()  # as if the driver's wake-up were late: the request itself must catch up
    await set_presence(client, "Available", "Available", expirationDuration="PT1H")
    real[0] += 0.5  # 300 emulated seconds
    assert (await read(client))["activity"] == "AvailableInactive"
    real[0] += 6.0  # 3600 more
    assert (await read(client))["availability"] == "Offline"


@pytest.mark.parametrize(("zone", "expires"), [
    ("UTC", 1_790_035_200.0), ("utc", 1_790_035_200.0), ("Pacific Standard Time", 1_790_060_400.0),
    ("pacific standard time", 1_790_060_400.0), ("Europe/Berlin", 1_790_028_000.0),
    ("Tokyo Standard Time", 1_790_002_800.0),
])
async def test_status_expiry_in_windows_and_iana_zones(client: TestClient, runtime: Runtime, zone: str,
                                                       expires: float) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json={"statusMessage": {
        "message": {"content": "hi", "contentType": "text"},
        "expiryDateTime": {"dateTime": "2026-09-22T00:00:00", "timeZone": zone}}})
    assert resp.status == 200
    message = runtime.tenant.presence.users[ALICE].status_message
    assert message is not None and message.expiry is not None
    assert message.expiry.at == expires
    assert message.expiry.time_zone == zone  # read back as given
