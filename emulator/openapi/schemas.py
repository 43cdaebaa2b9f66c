"""Response bodies as pydantic models, for the OpenAPI document only.

The wire layer writes bodies from dicts and cached bytes (it is the hot path); these models describe the
same shapes, strictly (no extra properties), and the schemathesis run in the suite checks every response
against them, so a drift between the two fails a test.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emulator.presence import states

Availability = Literal[states.AVAILABILITIES]  # type: ignore[valid-type]
Activity = Literal[states.ACTIVITIES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- Graph ------------------------------------------------------------------------------------------------

class ItemBody(Strict):
    content: str | None
    contentType: str | None


class DateTimeTimeZone(Strict):
    dateTime: str
    timeZone: str


class PresenceStatusMessage(Strict):
    message: ItemBody | None
    # Only when users read their own presence (/me, or their own id).
    expiryDateTime: DateTimeTimeZone | None = None
    publishedDateTime: str | None = None


class OutOfOfficeSettings(Strict):
    message: str | None
    isOutOfOffice: bool


class UserWorkLocation(Strict):
    workLocationType: str
    source: str
    placeId: str | None


class PresenceItem(Strict):
    """A presence inside a collection (no ``@odata.context`` of its own)."""

    id: str
    availability: Availability
    activity: Activity
    statusMessage: PresenceStatusMessage | None
    outOfOfficeSettings: OutOfOfficeSettings
    workLocation: UserWorkLocation
    sequenceNumber: str


class Presence(PresenceItem):
    """A presence read on its own, with its ``@odata.context``."""

    odata_context: str = Field(alias="@odata.context")


class PresenceCollection(Strict):
    odata_context: str = Field(alias="@odata.context")
    value: list[PresenceItem]


class InnerError(Strict):
    date: str
    request_id: str = Field(alias="request-id")
    client_request_id: str = Field(alias="client-request-id")


class ErrorDetail(Strict):
    code: str
    message: str
    innerError: InnerError


class ErrorResponse(Strict):
    """Graph's error envelope, on every error of the Graph surface and the control plane alike."""

    error: ErrorDetail


class BatchResponseItem(Strict):
    id: str
    status: int = Field(ge=100, le=599)
    headers: dict[str, str]
    body: Any = Field(default=None, description="JSON, or base64 for other content; absent when empty.")


class BatchResponse(Strict):
    responses: list[BatchResponseItem]


# -- control plane ------------------------------------------------------------------------------------------

class Health(Strict):
    status: Literal["ok"]
    version: str


class ClockState(Strict):
    mode: Literal["real", "manual", "speed"]
    speed: float
    now: str
    nextDueDateTime: str | None
    pending: int
    ran: int | None = Field(default=None, description="Timed entries run by an advance.")


class Reset(Strict):
    status: Literal["reset"]
    clock: ClockState


class SessionState(Strict):
    sessionId: str
    source: str
    availability: str
    activity: str
    shownAvailability: str
    shownActivity: str
    setDateTime: str | None
    expirationDateTime: str | None
    nextTransitionDateTime: str | None


class PreferredState(Strict):
    availability: str
    activity: str
    setDateTime: str | None
    expirationDateTime: str | None


class StatusMessageState(Strict):
    message: ItemBody
    publishedDateTime: str | None
    expiryDateTime: DateTimeTimeZone | None
    expiresAt: str | None


class UserState(Strict):
    id: str
    userPrincipalName: str | None
    displayName: str | None
    availability: str
    activity: str
    sequenceNumber: str
    sessions: list[SessionState]
    preferredPresence: PreferredState | None
    statusMessage: StatusMessageState | None
    outOfOfficeSettings: OutOfOfficeSettings


class EmulatorState(Strict):
    model_config = ConfigDict(extra="allow")  # other parts of the emulator add their own sections

    tenantId: str
    clock: ClockState
    restrictUsers: bool
    users: list[UserState]


class ClockAdvance(Strict):
    duration: str = Field(description="ISO 8601 duration, e.g. PT5M.")


class ClockSettings(Strict):
    mode: Literal["real", "manual", "speed"] | None = None
    speed: float | None = Field(default=None, gt=0)


class TokenResponse(Strict):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    expires_on: int
    expirationDateTime: str
    claims: dict[str, Any]


class JsonWebKey(Strict):
    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    use: str
    alg: str
    n: str
    e: str


class JsonWebKeySet(Strict):
    keys: list[JsonWebKey]


class OpenIdConfiguration(Strict):
    issuer: str
    jwks_uri: str
    token_endpoint: str
    id_token_signing_alg_values_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]


class OpenApiDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# -- scenarios ----------------------------------------------------------------------------------------------

class ScenarioClock(Strict):
    start: str | None
    mode: str | None
    speed: float | None


class ScenarioSummary(Strict):
    sources: list[str]
    tenantId: str | None
    clock: ScenarioClock
    restrictUsers: bool
    users: int
    occurrences: int
    faults: int = Field(description="Fault rules the scenario installs (its faults: list).")


class ScenarioLoaded(Strict):
    status: Literal["loaded"]
    scenario: ScenarioSummary
    clock: dict[str, Any]


class TimelineItems(Strict):
    count: int
    # Each item: index, dateTime, offsetSeconds, user, userPrincipalName, action, the action's own fields,
    # source (file:line), and for what ran an outcome.
    items: list[dict[str, Any]]


class TimelineEntry(Strict):
    dateTime: str
    label: str


class Timeline(Strict):
    scenario: ScenarioSummary | None
    startDateTime: str | None = None
    now: str | None = None
    ran: TimelineItems
    upcoming: TimelineItems
    scheduled: list[TimelineEntry] | None = None


# -- subscriptions and notifications ---------------------------------------------------------------------

class Subscription(Strict):
    id: str
    resource: str
    applicationId: str
    changeType: str
    clientState: str | None = Field(description="null in lists, for security purposes.")
    notificationUrl: str
    notificationQueryOptions: str | None
    lifecycleNotificationUrl: str | None
    expirationDateTime: str
    creatorId: str
    includeResourceData: bool
    latestSupportedTlsVersion: str
    encryptionCertificate: str | None
    encryptionCertificateId: str | None
    notificationUrlAppId: str | None


class SubscriptionEntity(Subscription):
    odata_context: str = Field(alias="@odata.context")


class SubscriptionCollection(Strict):
    odata_context: str = Field(alias="@odata.context")
    value: list[Subscription]


class SubscriptionList(Strict):
    value: list[Subscription]


class DeliveryRecord(Strict):
    id: int
    kind: Literal["notification", "lifecycle", "validation"]
    url: str
    subscriptionIds: list[str]
    attempt: int
    dateTime: str
    status: str
    httpStatus: int | None
    latencyMs: float | None
    nextRetryDateTime: str | None
    error: str | None
    payload: Any = Field(description="The body as sent (encrypted content stays encrypted).")
    decrypted: list[Any] | None = Field(description="Each item's decrypted content, beside the payload.")
    outcome: str | None = None
    releaseCondition: str | None = Field(default=None, description="A held POST (outOfOrder): when it goes out.")
    holdUntil: str | None = Field(default=None, description="A held POST: when it goes out at the latest.")
    releasedDateTime: str | None = Field(default=None, description="A held POST, once released: when.")
    releasedBy: Literal["nextPost", "holdExpired"] | None = Field(
        default=None, description="A released POST's own record: what let it go.")
    heldSince: str | None = Field(default=None, description="A released POST's own record: when it was held.")


class DeliveryLog(Strict):
    count: int
    value: list[DeliveryRecord]


class NotificationEndpoint(Strict):
    url: str
    state: Literal["healthy", "slow", "drop"]
    penaltyUntil: str | None
    queued: int
    inFlight: bool
    samplesInWindow: int


class NotificationEndpoints(Strict):
    value: list[NotificationEndpoint]


class LifecycleSent(Strict):
    subscriptionId: str
    lifecycleEvent: str
