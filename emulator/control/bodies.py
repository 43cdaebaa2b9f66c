"""The request bodies of the control plane, as pydantic models: imported on first use, as
``emulator/graph/bodies.py`` is, so that ``serve``'s start imports no pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from emulator.graph.bodies import GraphBody
from emulator.tokens import DEFAULT_AUDIENCE
from emulator.traffic.journal import DEFAULT_CAPACITY, DEFAULT_MAX_BODY, JournalSettings
from emulator.traffic.throttle import MAX_LIMIT, MAX_WINDOW_SECONDS, ThrottleCode, ThrottleSettings


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


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)


class JournalSettingsBody(_Settings):
    """``POST /_emulator/requests/settings``: a ``JournalSettings``, in camelCase."""

    capacity: int = Field(default=DEFAULT_CAPACITY, ge=0, le=1_000_000, description="0 turns the journal off.")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY, ge=0, le=4 * 1024 * 1024)
    record_control_plane: bool = False

    def settings(self) -> JournalSettings:
        return JournalSettings(self.capacity, self.max_body_bytes, self.record_control_plane)


class ThrottleSettingsBody(_Settings):
    """``POST /_emulator/throttling``: a ``ThrottleSettings``, in camelCase. Which fields go together is
    checked by ``ThrottleSettings`` itself (a ``ValueError``)."""

    enabled: bool = True
    preset: Literal["1500", "10000"] | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    window_seconds: float | None = Field(default=None, gt=0, le=MAX_WINDOW_SECONDS)
    code: ThrottleCode = "activityLimitReached"

    def settings(self) -> ThrottleSettings:
        return ThrottleSettings(self.enabled, self.preset, self.limit, self.window_seconds, self.code)
