"""Microsoft's own ``msgraph-sdk``, pointed at the emulator, drives every presence endpoint.

The SDK builds the request paths itself (``client.communications.presences.by_presence_id(...)``,
``client.me.presence.set_presence.post(...)``, ...), so these tests prove the emulator accepts exactly what the
SDK sends and that the SDK's deserialised objects carry what the emulator meant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    AnonymousAuthenticationProvider,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.communications.get_presences_by_user_id.get_presences_by_user_id_post_request_body import (
    GetPresencesByUserIdPostRequestBody,
)
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.presence_status_message import PresenceStatusMessage
from msgraph.generated.users.item.presence.clear_presence.clear_presence_post_request_body import (
    ClearPresencePostRequestBody,
)
from msgraph.generated.users.item.presence.set_presence.set_presence_post_request_body import (
    SetPresencePostRequestBody,
)
from msgraph.generated.users.item.presence.set_status_message.set_status_message_post_request_body import (
    SetStatusMessagePostRequestBody,
)
from msgraph.generated.users.item.presence.set_user_preferred_presence.set_user_preferred_presence_post_request_body import (  # noqa: E501
    SetUserPreferredPresencePostRequestBody,
)

from emulator.runtime import Runtime
from tests.graph.tokens import APP, user_token

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"

# The generated request builders warn about their own deprecated configuration classes on every call.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph",
                                        "ignore::DeprecationWarning:kiota_abstractions")


class StaticToken(AccessTokenProvider):
    """Hands the SDK one fixed bearer token for every request to the emulator."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:  # noqa: B006
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


SdkFactory = Callable[..., GraphServiceClient]


@pytest.fixture
async def sdk(client: TestClient) -> AsyncIterator[SdkFactory]:
    """Builds SDK clients against the test server: anonymous, or as the user a token names."""
    adapters: list[GraphRequestAdapter] = []

    def make(*, as_user: str | None = None, version: str = "v1.0") -> GraphServiceClient:
        auth = (BaseBearerTokenAuthenticationProvider(StaticToken(user_token(as_user))) if as_user
                else AnonymousAuthenticationProvider())
        adapter = GraphRequestAdapter(auth)
        adapter.base_url = str(client.make_url(f"/{version}"))
        adapters.append(adapter)
        return GraphServiceClient(request_adapter=adapter)

    yield make
    for adapter in adapters:
        await adapter._http_client.aclose()


def set_presence_body(session: str, availability: str, activity: str, duration: Any = "PT1H",
                      ) -> SetPresencePostRequestBody:
    return SetPresencePostRequestBody(session_id=session, availability=availability, activity=activity,
                                      expiration_duration=duration)


@pytest.mark.parametrize("version", ["v1.0", "beta"])
async def test_set_and_read_presence_by_user(sdk: SdkFactory, version: str) -> None:
    graph = sdk(version=version)
    await graph.users.by_user_id(ALICE).presence.set_presence.post(set_presence_body(APP, "Busy", "InACall"))
    presence = await graph.users.by_user_id(ALICE).presence.get()
    assert presence is not None
    assert (presence.id, presence.availability, presence.activity) == (ALICE, "Busy", "InACall")
    assert presence.out_of_office_settings is not None
    assert presence.out_of_office_settings.is_out_of_office is False
    assert presence.status_message is None
    assert presence.sequence_number and presence.sequence_number > "A0000000000"


async def test_communications_presence_is_one_object(sdk: SdkFactory) -> None:
    graph = sdk()
    await graph.users.by_user_id(ALICE).presence.set_presence.post(
        set_presence_body(APP, "DoNotDisturb", "Presenting"))
    presence = await graph.communications.presences.by_presence_id(ALICE).get()
    assert presence is not None
    assert (presence.id, presence.availability, presence.activity) == (ALICE, "DoNotDisturb", "Presenting")


async def test_never_seen_user_reads_offline(sdk: SdkFactory) -> None:
    presence = await sdk().users.by_user_id(BOB).presence.get()
    assert presence is not None
    assert (presence.availability, presence.activity) == ("Offline", "Offline")


async def test_get_presences_by_user_id(sdk: SdkFactory) -> None:
    graph = sdk()
    await graph.users.by_user_id(ALICE).presence.set_presence.post(set_presence_body(APP, "Away", "Away"))
    result = await graph.communications.get_presences_by_user_id.post(
        GetPresencesByUserIdPostRequestBody(ids=[ALICE, BOB, ALICE]))
    assert result is not None and result.value is not None
    assert [(p.id, p.availability, p.activity) for p in result.value] == [
        (ALICE, "Away", "Away"), (BOB, "Offline", "Offline")]


async def test_get_presences_by_user_id_empty_is_an_odata_error(sdk: SdkFactory) -> None:
    with pytest.raises(ODataError) as caught:
        await sdk().communications.get_presences_by_user_id.post(GetPresencesByUserIdPostRequestBody(ids=[]))
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "InvalidArgument"


async def test_clear_presence_under_every_path_form(sdk: SdkFactory) -> None:
    graph = sdk()
    me = sdk(as_user=ALICE)
    users = graph.users.by_user_id(ALICE).presence
    comms = graph.communications.presences.by_presence_id(ALICE)
    for builder, session in ((users, "a"), (comms, "b"), (me.me.presence, "c")):
        await builder.set_presence.post(set_presence_body(session, "Available", "Available"))
    for builder, session in ((users, "a"), (comms, "b"), (me.me.presence, "c")):
        await builder.clear_presence.post(ClearPresencePostRequestBody(session_id=session))
    presence = await users.get()
    assert presence is not None and (presence.availability, presence.activity) == ("Offline", "Offline")


async def test_clear_unknown_session_is_a_404_odata_error(sdk: SdkFactory) -> None:
    with pytest.raises(ODataError) as caught:
        await sdk().users.by_user_id(ALICE).presence.clear_presence.post(
            ClearPresencePostRequestBody(session_id="nope"))
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None and caught.value.error.code == "NotFound"


async def test_timedelta_duration_is_rejected_as_the_real_service_does(sdk: SdkFactory, runtime: Runtime) -> None:
    # The SDK types expirationDuration as a timedelta and writes str(timedelta), i.e. "1:00:00", not ISO 8601.
    with pytest.raises(ODataError) as caught:
        await sdk().users.by_user_id(ALICE).presence.set_presence.post(
            set_presence_body(APP, "Busy", "InACall", dt.timedelta(hours=1)))
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "InvalidArgument"
    assert "expirationDuration" in (caught.value.error.message or "")
    assert ALICE not in runtime.tenant.presence.users  # nothing half-applied


async def test_preferred_presence_under_every_path_form(sdk: SdkFactory) -> None:
    graph = sdk()
    me = sdk(as_user=ALICE)
    await graph.users.by_user_id(ALICE).presence.set_presence.post(set_presence_body(APP, "Available", "Available"))
    builders = (graph.users.by_user_id(ALICE).presence, graph.communications.presences.by_presence_id(ALICE),
                me.me.presence)
    for builder, pair in zip(builders, [("Busy", "Busy"), ("DoNotDisturb", "DoNotDisturb"), ("Offline", "OffWork")],
                             strict=True):
        await builder.set_user_preferred_presence.post(SetUserPreferredPresencePostRequestBody(
            availability=pair[0], activity=pair[1], expiration_duration="PT8H"))
        presence = await graph.users.by_user_id(ALICE).presence.get()
        assert presence is not None and (presence.availability, presence.activity) == pair
        await builder.clear_user_preferred_presence.post()
        presence = await graph.users.by_user_id(ALICE).presence.get()
        assert presence is not None and (presence.availability, presence.activity) == ("Available", "Available")


async def test_status_message_under_every_path_form_and_own_view(sdk: SdkFactory, runtime: Runtime) -> None:
    graph = sdk()
    me = sdk(as_user=ALICE)
    expiry = dt.datetime.fromtimestamp(runtime.tenant.clock.time() + 3600, dt.UTC).replace(tzinfo=None)
    builders = (graph.users.by_user_id(ALICE).presence, graph.communications.presences.by_presence_id(ALICE),
                me.me.presence)
    for n, builder in enumerate(builders):
        await builder.set_status_message.post(SetStatusMessagePostRequestBody(status_message=PresenceStatusMessage(
            message=ItemBody(content=f"In a meeting {n}", content_type=BodyType.Text),
            expiry_date_time=DateTimeTimeZone(date_time=expiry.isoformat(), time_zone="UTC"))))
        other = await graph.users.by_user_id(ALICE).presence.get()
        assert other is not None and other.status_message is not None and other.status_message.message is not None
        assert other.status_message.message.content == f"In a meeting {n}"
        assert other.status_message.message.content_type == BodyType.Text
        assert other.status_message.expiry_date_time is None
        assert other.status_message.published_date_time is None
    own = await me.me.presence.get()
    assert own is not None and own.id == ALICE and own.status_message is not None
    assert own.status_message.expiry_date_time is not None
    assert own.status_message.expiry_date_time.time_zone == "UTC"
    assert own.status_message.published_date_time == dt.datetime.fromtimestamp(runtime.tenant.clock.time(), dt.UTC)
    # Clearing: an empty message.
    await me.me.presence.set_status_message.post(SetStatusMessagePostRequestBody(
        status_message=PresenceStatusMessage(message=ItemBody(content="", content_type=BodyType.Text))))
    own = await me.me.presence.get()
    assert own is not None and own.status_message is None


async def test_status_message_in_a_windows_zone(sdk: SdkFactory, runtime: Runtime) -> None:
    graph = sdk()
    await graph.users.by_user_id(ALICE).presence.set_status_message.post(SetStatusMessagePostRequestBody(
        status_message=PresenceStatusMessage(
            message=ItemBody(content="Back soon", content_type=BodyType.Text),
            expiry_date_time=DateTimeTimeZone(date_time="2099-10-18T17:05:33.2079781",
                                              time_zone="Pacific Standard Time"))))
    own = await sdk(as_user=ALICE).me.presence.get()
    assert own is not None and own.status_message is not None and own.status_message.expiry_date_time is not None
    assert own.status_message.expiry_date_time.date_time == "2099-10-18T17:05:33.2079781"
    assert own.status_message.expiry_date_time.time_zone == "Pacific Standard Time"


async def test_me_set_presence_and_read(sdk: SdkFactory) -> None:
    me = sdk(as_user=ALICE)
    await me.me.presence.set_presence.post(set_presence_body(APP, "Busy", "InAConferenceCall"))
    presence = await me.me.presence.get()
    assert presence is not None
    assert (presence.id, presence.availability, presence.activity) == (ALICE, "Busy", "InAConferenceCall")


async def test_me_without_token_is_a_400_odata_error(sdk: SdkFactory) -> None:
    with pytest.raises(ODataError) as caught:
        await sdk().me.presence.get()
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "BadRequest"


async def test_sequence_number_increases_through_the_sdk(sdk: SdkFactory) -> None:
    graph = sdk()
    presence = graph.users.by_user_id(ALICE).presence
    seen = []
    for pair in (("Available", "Available"), ("Busy", "InACall"), ("Away", "Away")):
        await presence.set_presence.post(set_presence_body(APP, *pair))
        got = await presence.get()
        assert got is not None and got.sequence_number is not None
        seen.append(got.sequence_number)
    assert seen == sorted(seen) and len(set(seen)) == 3
