"""Bearer tokens for tests: unsigned JWTs, since the emulator decodes tokens without verifying them."""

from __future__ import annotations

import jwt

APP = "22553ab7-3b4c-4a4f-9a3e-2b6b2c7b1e11"


def user_token(oid: str, **claims: object) -> str:
    """A delegated token naming the user ``oid`` (what ``/me`` resolves to)."""
    return jwt.encode({"oid": oid, "scp": "Presence.ReadWrite", "appid": APP, **claims}, None, algorithm="none")


def app_token() -> str:
    """An application-only token: roles and the service principal's oid, no scp, so it names no user."""
    return jwt.encode({"oid": APP, "roles": ["Presence.ReadWrite.All"], "appid": APP}, None, algorithm="none")
