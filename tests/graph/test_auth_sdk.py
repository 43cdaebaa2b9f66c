"""msgraph-sdk in strict mode, with a token from POST /_emulator/token (the recipe in docs/auth-and-batch.md)."""

from __future__ import annotations

from typing import Any

import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"


class EmulatorTokens(AccessTokenProvider):
    """Hands the SDK a token minted by the emulator."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])  # no list: every host, the emulator's 127.0.0.1 included


async def test_sdk_with_a_minted_token_in_strict_mode(aiohttp_client: Any) -> None:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START, auth="strict"))
    client = await aiohttp_client(create_app(runtime))
    minted = await (await client.post("/_emulator/token", json={"oid": ALICE, "scp": "Presence.Read"})).json()
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(EmulatorTokens(minted["access_token"])))
    adapter.base_url = str(client.make_url("/v1.0"))
    graph = GraphServiceClient(request_adapter=adapter)
    presence = await graph.me.presence.get()
    assert presence is not None and presence.id == ALICE
    with pytest.raises(APIError) as denied:
        await graph.users.by_user_id(BOB).presence.get()
    assert denied.value.response_status_code == 403
    await client.post("/_emulator/clock/advance", data="PT1H")
    with pytest.raises(APIError) as expired:
        await graph.me.presence.get()
    assert expired.value.response_status_code == 401
