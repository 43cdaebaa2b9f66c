"""POST /_emulator/token and the published signing key."""

from __future__ import annotations

import jwt
from aiohttp.test_utils import TestClient

from emulator.tenant import DEFAULT_APP_ID, DEFAULT_TENANT_ID
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


async def test_minted_token_carries_what_was_asked_on_the_emulated_clock(client: TestClient) -> None:
    resp = await client.post("/_emulator/token", json={
        "oid": ALICE, "appid": "my-app", "scp": "Presence.Read User.Read", "lifetime": "PT30M"})
    assert resp.status == 200
    body = await resp.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 1800)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims == body["claims"]
    assert (claims["oid"], claims["appid"], claims["scp"], claims["tid"]) == (
        ALICE, "my-app", "Presence.Read User.Read", DEFAULT_TENANT_ID)
    assert (claims["iat"], claims["exp"]) == (int(START), int(START) + 1800)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{DEFAULT_TENANT_ID}/"
    assert "roles" not in claims


async def test_application_token_has_roles_and_default_app(client: TestClient) -> None:
    resp = await client.post("/_emulator/token", json={"roles": ["Presence.Read.All"], "tid": "t-2"})
    claims = (await resp.json())["claims"]
    assert (claims["roles"], claims["appid"], claims["tid"], claims["idtyp"]) == (
        ["Presence.Read.All"], DEFAULT_APP_ID, "t-2", "app")
    assert "scp" not in claims


async def test_token_verifies_against_the_published_jwks(client: TestClient) -> None:
    token = (await (await client.post("/_emulator/token", json={"oid": ALICE})).json())["access_token"]
    jwks = await (await client.get("/_emulator/jwks")).json()
    (key,) = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    signing_key = jwt.PyJWK(key).key
    claims = jwt.decode(token, signing_key, algorithms=["RS256"], audience="https://graph.microsoft.com",
                        options={"verify_exp": False})
    assert claims["oid"] == ALICE
    config = await (await client.get("/_emulator/.well-known/openid-configuration")).json()
    assert config["jwks_uri"].endswith("/_emulator/jwks")
    assert config["issuer"] == claims["iss"]


async def test_bad_token_requests_are_400(client: TestClient) -> None:
    for body in ({"oid": ALICE, "scp": "Presence.Read", "roles": ["Presence.Read.All"]},
                 {"scp": "Presence.Read"},
                 {"oid": ALICE, "lifetime": "1:00:00"},
                 {"oid": ALICE, "lifetime": "PT0S"},
                 {"oid": ALICE, "lifetime": "P400D"},
                 {"oid": ALICE, "scp": ["Presence.Read", ""]},
                 {"oid": ALICE, "colour": "blue"},
                 {"oid": 7}):
        resp = await client.post("/_emulator/token", json=body)
        assert resp.status == 400, body
        assert (await resp.json())["error"]["code"] in ("InvalidArgument", "BadRequest")
    resp = await client.post("/_emulator/token", data=b"[1]", headers={"Content-Type": "application/json"})
    assert resp.status == 400
