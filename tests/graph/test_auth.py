"""The three auth modes, every 401 and 403 path of strict mode, and the permission table's coverage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.cli import build_parser, settings_from_args
from emulator.graph import permissions
from emulator.graph.permissions import permission_for
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from emulator.tokens import TokenIssuer
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"
SET_BODY = {"sessionId": "app", "availability": "Busy", "activity": "InACall"}

MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> MakeClient:
    async def make(auth: str, extra_routes: Callable[[web.Application], None] | None = None) -> TestClient:
        runtime = Runtime(TenantSettings(clock_mode="manual", start=START, auth=auth))  # type: ignore[arg-type]
        app = create_app(runtime)
        if extra_routes is not None:
            extra_routes(app)
        client: TestClient = await aiohttp_client(app)
        return client
    return make


async def mint(client: TestClient, **claims: Any) -> str:
    resp = await client.post("/_emulator/token", json=claims)
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    error: dict[str, Any] = (await resp.json())["error"]
    return error


# -- off and decode -----------------------------------------------------------------------------------------

async def test_off_ignores_missing_and_garbage_tokens_but_me_reads_oid(make_client: MakeClient) -> None:
    client = await make_client("off")
    assert (await client.get(f"/v1.0/users/{ALICE}/presence")).status == 200
    resp = await client.get(f"/v1.0/users/{ALICE}/presence", headers={"Authorization": "Bearer not-a-jwt"})
    assert resp.status == 200
    unsigned = jwt.encode({"oid": ALICE, "scp": "User.Read"}, "any-secret-will-do-" * 2, algorithm="HS256")
    resp = await client.get("/v1.0/me/presence", headers=bearer(unsigned))
    assert (await resp.json())["id"] == ALICE
    error = await error_of(await client.get("/v1.0/me/presence"), 400)
    assert "delegated" in error["message"]


async def test_decode_reads_unverified_tokens_and_rejects_unreadable_ones(make_client: MakeClient) -> None:
    client = await make_client("decode")
    unsigned = jwt.encode({"oid": ALICE, "scp": "User.Read", "exp": 1}, "x" * 32, algorithm="HS256")
    resp = await client.get("/v1.0/me/presence", headers=bearer(unsigned))  # expired, unsigned: still read
    assert (await resp.json())["id"] == ALICE
    assert (await client.get(f"/v1.0/users/{ALICE}/presence")).status == 200  # no token at all is fine
    resp = await client.get(f"/v1.0/users/{ALICE}/presence", headers={"Authorization": "Bearer not-a-jwt"})
    error = await error_of(resp, 401)
    assert error["code"] == "InvalidAuthenticationToken"
    resp = await client.get(f"/v1.0/users/{ALICE}/presence", headers={"Authorization": "Basic dTpw"})
    assert resp.status == 401


async def test_decode_does_not_check_scopes(make_client: MakeClient) -> None:
    client = await make_client("decode")
    token = await mint(client, oid=ALICE, scp="User.Read")
    resp = await client.post(f"/v1.0/users/{BOB}/presence/setPresence", json=SET_BODY, headers=bearer(token))
    assert resp.status == 200


# -- strict: 401 ---------------------------------------------------------------------------------------------

async def test_strict_without_token_is_401_with_the_graph_challenge(make_client: MakeClient) -> None:
    client = await make_client("strict")
    resp = await client.get(f"/v1.0/users/{ALICE}/presence")
    error = await error_of(resp, 401)
    assert (error["code"], error["message"]) == ("InvalidAuthenticationToken", "Access token is empty.")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    assert error["innerError"]["request-id"] == resp.headers["request-id"]
    # Unknown Graph paths are authenticated first, as on the real service; the control plane never is.
    assert (await client.get("/v1.0/nowhere")).status == 401
    assert (await client.get("/_emulator/health")).status == 200


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer a.b.c", "Basic dTpw", "Bearer "])
async def test_strict_rejects_unreadable_tokens(make_client: MakeClient, header: str) -> None:
    client = await make_client("strict")
    resp = await client.get(f"/v1.0/users/{ALICE}/presence", headers={"Authorization": header})
    assert (await error_of(resp, 401))["code"] == "InvalidAuthenticationToken"


async def test_strict_rejects_a_token_signed_by_another_key(make_client: MakeClient) -> None:
    client = await make_client("strict")
    good = await mint(client, oid=ALICE, scp="Presence.Read.All")
    claims = TokenIssuer.shared().claims_of(good)
    forged = TokenIssuer().sign(claims)  # same claims, a key the emulator never published
    resp = await client.get(f"/v1.0/users/{BOB}/presence", headers=bearer(forged))
    assert "Signature validation failed" in (await error_of(resp, 401))["message"]
    hs256 = jwt.encode(claims, "shared-secret-long-enough-for-hmac", algorithm="HS256")
    resp = await client.get(f"/v1.0/users/{BOB}/presence", headers=bearer(hs256))
    assert (await error_of(resp, 401))["code"] == "InvalidAuthenticationToken"
    assert (await client.get(f"/v1.0/users/{BOB}/presence", headers=bearer(good))).status == 200


async def test_strict_token_expires_when_the_emulated_clock_passes_exp(make_client: MakeClient) -> None:
    client = await make_client("strict")
    token = await mint(client, oid=ALICE, scp="Presence.Read", lifetime="PT10M")
    assert (await client.get("/v1.0/me/presence", headers=bearer(token))).status == 200
    await client.post("/_emulator/clock/advance", data="PT9M59S")
    assert (await client.get("/v1.0/me/presence", headers=bearer(token))).status == 200
    await client.post("/_emulator/clock/advance", data="PT1S")
    error = await error_of(await client.get("/v1.0/me/presence", headers=bearer(token)), 401)
    assert (error["code"], error["message"]) == ("InvalidAuthenticationToken",
                                                 "Lifetime validation failed, the token is expired.")


async def test_strict_rejects_other_audiences_and_tenants(make_client: MakeClient) -> None:
    client = await make_client("strict")
    token = await mint(client, oid=ALICE, scp="Presence.Read", aud="api://some-other-api")
    error = await error_of(await client.get("/v1.0/me/presence", headers=bearer(token)), 401)
    assert "Invalid audience" in error["message"]
    token = await mint(client, oid=ALICE, scp="Presence.Read", tid="11111111-1111-4111-8111-111111111111")
    error = await error_of(await client.get("/v1.0/me/presence", headers=bearer(token)), 401)
    assert "tenant" in error["message"]


async def test_tokens_survive_a_reset(make_client: MakeClient) -> None:
    client = await make_client("strict")
    token = await mint(client, oid=ALICE, scp="Presence.Read")
    await client.post("/_emulator/reset")
    assert (await client.get("/v1.0/me/presence", headers=bearer(token))).status == 200


# -- strict: 403 and 400 per the permission table --------------------------------------------------------------

async def test_own_presence_needs_read_another_users_needs_read_all(make_client: MakeClient) -> None:
    client = await make_client("strict")
    read = bearer(await mint(client, oid=ALICE, scp="Presence.Read"))
    assert (await client.get("/v1.0/me/presence", headers=read)).status == 200
    assert (await client.get(f"/v1.0/users/{ALICE.upper()}/presence", headers=read)).status == 200
    assert (await client.get(f"/beta/communications/presences/{ALICE}", headers=read)).status == 200
    error = await error_of(await client.get(f"/v1.0/users/{BOB}/presence", headers=read), 403)
    assert error["code"] == "Forbidden"
    assert error["message"] == ("Missing scope permissions on the request. API requires one of "
                                "'Presence.Read.All'. Scopes on the request 'Presence.Read'")
    read_all = bearer(await mint(client, oid=ALICE, scp=["User.Read", "Presence.Read.All"]))
    assert (await client.get(f"/v1.0/users/{BOB}/presence", headers=read_all)).status == 200
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": [BOB]}, headers=read)
    assert resp.status == 403
    resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": [BOB]}, headers=read_all)
    assert resp.status == 200


async def test_actions_need_readwrite(make_client: MakeClient) -> None:
    client = await make_client("strict")
    read_all = bearer(await mint(client, oid=ALICE, scp="Presence.Read.All"))
    write = bearer(await mint(client, oid=ALICE, scp="Presence.ReadWrite"))
    for path in (f"/v1.0/users/{ALICE}/presence/setPresence", "/v1.0/me/presence/setPresence",
                 f"/beta/communications/presences/{ALICE}/setPresence"):
        error = await error_of(await client.post(path, json=SET_BODY, headers=read_all), 403)
        assert "'Presence.ReadWrite'" in error["message"]
        assert (await client.post(path, json=SET_BODY, headers=write)).status == 200


async def test_application_tokens(make_client: MakeClient) -> None:
    client = await make_client("strict")
    app_read = bearer(await mint(client, roles=["Presence.Read.All"], appid="app-1"))
    app_write = bearer(await mint(client, roles=["Presence.ReadWrite.All"]))
    app_other = bearer(await mint(client, roles=["User.Read.All"]))
    assert (await client.get(f"/v1.0/users/{BOB}/presence", headers=app_read)).status == 200
    assert (await client.get(f"/v1.0/users/{BOB}/presence", headers=app_write)).status == 200
    error = await error_of(await client.get(f"/v1.0/users/{BOB}/presence", headers=app_other), 403)
    assert error["message"] == ("Missing role permissions on the request. API requires one of "
                                "'Presence.Read.All, Presence.ReadWrite.All'. Roles on the request 'User.Read.All'")
    path = f"/v1.0/users/{BOB}/presence/setPresence"
    assert (await client.post(path, json=SET_BODY, headers=app_read)).status == 403
    assert (await client.post(path, json=SET_BODY, headers=app_write)).status == 200
    # Application tokens cannot use /me at all: 400, as in every auth mode.
    error = await error_of(await client.get("/v1.0/me/presence", headers=app_read), 400)
    assert "delegated" in error["message"]
    assert (await client.post("/v1.0/me/presence/setPresence", json=SET_BODY, headers=app_write)).status == 400


async def test_application_tokens_on_me_are_400_without_strict_too(make_client: MakeClient) -> None:
    client = await make_client("decode")
    token = await mint(client, roles=["Presence.Read.All"], oid=ALICE)  # oid of the service principal
    assert (await client.get("/v1.0/me/presence", headers=bearer(token))).status == 400


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def test_subscription_routes_are_covered_by_the_table(make_client: MakeClient) -> None:
    # The real subscription routes: authorized requests get past auth to body validation (400), others 403.
    client = await make_client("strict")
    app_token = bearer(await mint(client, roles=["Presence.Read.All", "Presence.ReadWrite.All"]))
    error = await error_of(await client.post("/v1.0/subscriptions", json={}, headers=app_token), 403)
    assert "application permissions" in error["message"]
    assert (await client.patch("/beta/subscriptions/x", json={}, headers=app_token)).status == 403
    read = bearer(await mint(client, oid=ALICE, scp="Presence.Read"))
    assert (await client.post("/v1.0/subscriptions", json={}, headers=read)).status == 403
    read_all = bearer(await mint(client, oid=ALICE, scp="Presence.Read.All"))
    assert (await client.post("/v1.0/subscriptions", json={}, headers=read_all)).status == 400
    assert (await client.patch("/v1.0/subscriptions/x", json={}, headers=read_all)).status == 400


def test_every_graph_route_has_a_permission_row() -> None:
    app = create_app(Runtime(TenantSettings(clock_mode="manual", start=START)))
    missing = [
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(("/v1.0/", "/beta/"))
        and permission_for(route.method, route.resource.canonical) is None
    ]
    assert missing == []


def test_route_keys_ignore_version_and_parameter_names() -> None:
    assert permissions.route_key("get", "/beta/users/{user_id}/presence") == "GET /users/{}/presence"
    assert permissions.route_key("POST", "/v1.0/$batch") == "POST /$batch"


def test_strict_requires_https_notification_urls() -> None:
    assert TenantSettings(auth="strict").require_https_notification_urls
    assert not TenantSettings(auth="decode").require_https_notification_urls
    assert not TenantSettings().require_https_notification_urls


def test_serve_auth_option() -> None:
    parser = build_parser()
    assert settings_from_args(parser.parse_args(["serve"])).auth == "off"
    assert settings_from_args(parser.parse_args(["serve", "--auth", "strict"])).auth == "strict"
    assert settings_from_args(parser.parse_args(["serve", "--auth", "decode", "--speed", "2"])).auth == "decode"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--auth", "on"])
