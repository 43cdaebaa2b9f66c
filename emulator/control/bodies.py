"""The request bodies of the control plane, as pydantic models: imported on first use, as
``emulator/graph/bodies.py`` is, so that ``serve``'s start imports no pydantic."""

from __future__ import annotations

from pydantic import Field, field_validator

from emulator.graph.bodies import GraphBody
from emulator.tokens import DEFAULT_AUDIENCE


class NewUserBody(GraphBody):
    id: str
    userPrincipalName: str | None = None
    displayName: str | None = None


class TeamsSessionBody(GraphBody):
    availability: str
    activity: str
    # A Teams client names its own session; one is made up when absent.
    sessionId: str | None = None
    # ISO 8601; absent or null: the client stays signed in until the session is ended.
    expirationDuration: str | None = None
    # An Available session goes AvailableInactive, then Away, when its client sees no input (as setPresence).
    fades: bool = True


class OutOfOfficeBody(GraphBody):
    isOutOfOffice: bool
    message: str | None = None


class LifecycleBody(GraphBody):
    lifecycleEvent: str
    remove: bool | None = None


class TokenBody(GraphBody):
    """What to put in the token. ``roles`` (non-empty) makes an application token; otherwise a delegated
    token for ``oid`` with ``scp``. ``lifetime`` is an ISO 8601 duration on the emulated clock."""

    oid: str | None = Field(default=None, description="The user (delegated) or service principal (application).")
    tid: str | None = Field(default=None, description="Tenant id; the emulator's tenant when omitted.")
    appid: str | None = Field(default=None, description="Application (client) id; a default one when omitted.")
    scp: str | list[str] | None = Field(default=None, description="Delegated scopes, space-separated or a list.")
    roles: list[str] | None = Field(default=None, description="Application roles; makes an app-only token.")
    lifetime: str = Field(default="PT1H", description="ISO 8601 duration, on the emulated clock.")
    aud: str = Field(default=DEFAULT_AUDIENCE, description="Audience; Graph's unless testing a wrong one.")

    @field_validator("scp", "roles")
    @classmethod
    def _names(cls, value: str | list[str] | None) -> str | list[str] | None:
        names = value.split() if isinstance(value, str) else value or []
        if any(not name or name != name.strip() or " " in name for name in names):
            raise ValueError("scope and role names must be non-empty and contain no spaces")
        return value
