"""The request bodies of the Graph endpoints, as pydantic models.

Imported on first use (``requests.parse_body`` and the handlers reach them through ``emulator.graph.requests``),
not at ``serve``'s start: importing pydantic is a fifth of a bare aiohttp app's start-up, and a start that
answers reads needs none of it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from emulator.graph.batch_routes import MAX_REQUESTS


class GraphBody(BaseModel):
    """Base of the action bodies: strict types and unknown properties rejected (as OData does). ``@odata.*``
    annotations are ignored: ``parse_body`` drops them before validation."""

    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class SetPresenceBody(GraphBody):
    sessionId: str
    availability: str
    activity: str
    expirationDuration: str | None = None


class ClearPresenceBody(GraphBody):
    sessionId: str


class SetPreferredBody(GraphBody):
    availability: str
    activity: str
    expirationDuration: str | None = None


class EmptyBody(GraphBody):
    pass


class ItemBody(GraphBody):
    content: str | None = None
    contentType: str | None = None


class DateTimeTimeZone(GraphBody):
    dateTime: str
    timeZone: str


class StatusMessageBody(GraphBody):
    message: ItemBody | None = None
    expiryDateTime: DateTimeTimeZone | None = None
    publishedDateTime: str | None = None


class SetStatusMessageBody(GraphBody):
    statusMessage: StatusMessageBody | None


class GetPresencesBody(GraphBody):
    ids: list[str]




def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        kind = err["type"]
        if kind == "missing":
            parts.append(f"The property '{where}' is required.")
        elif kind == "extra_forbidden":
            parts.append(f"The property '{where}' does not exist on this action's parameters.")
        else:
            parts.append(f"The property '{where}' is invalid: {err['msg']}.")
    return " ".join(parts)


# -- subscriptions ---------------------------------------------------------------------------------------

class SubscriptionBody(GraphBody):
    changeType: str
    notificationUrl: str
    resource: str
    expirationDateTime: str
    clientState: str | None = None
    lifecycleNotificationUrl: str | None = None
    includeResourceData: bool | None = None
    encryptionCertificate: str | None = None
    encryptionCertificateId: str | None = None
    latestSupportedTlsVersion: str | None = None
    notificationQueryOptions: str | None = None
    notificationUrlAppId: str | None = None
    notificationContentType: str | None = None
    # Read-only properties an SDK may echo back; ignored.
    id: str | None = None
    applicationId: str | None = None
    creatorId: str | None = None


class SubscriptionUpdateBody(GraphBody):
    expirationDateTime: str | None = None
    notificationUrl: str | None = None
    encryptionCertificate: str | None = None
    encryptionCertificateId: str | None = None
    lifecycleNotificationUrl: str | None = None


# -- $batch ------------------------------------------------------------------------------------------------


class BatchRequestItem(BaseModel):
    """One request of a batch. Unknown properties are ignored, as Graph does (msgraph-core, for one,
    sends ``depends_on``, which is therefore not a dependency)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: StrictStr = Field(min_length=1, description="Unique in the batch, compared case-insensitively.")
    method: StrictStr = Field(description="GET, POST, PUT, PATCH or DELETE.")
    url: StrictStr = Field(min_length=1, description="Relative to the version, e.g. /users/{id}/presence.")
    headers: dict[str, StrictStr] | None = Field(
        default=None, description="Required with a body, and must then include Content-Type.")
    body: Any = Field(default=None, description="A JSON value, or a string for non-JSON content types.")
    dependsOn: list[StrictStr] | None = Field(default=None, description="Ids that must run (and succeed) first.")


class BatchRequestBody(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    requests: list[BatchRequestItem] = Field(description=f"At most {MAX_REQUESTS} requests.")
