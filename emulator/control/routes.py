"""Control-plane endpoints: health, reset, the clock and a dump of all state."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from emulator import __version__
from emulator.clock import format_graph_datetime
from emulator.graph import errors, requests
from emulator.graph.pipeline import Routes, json_response
from emulator.presence.directory import User
from emulator.runtime import RUNTIME
from emulator.tenant import Tenant

PREFIX = "/_emulator"
# Emulated time stays representable (datetime, HTTP dates) however far a client pushes the clock.
LATEST = 253_402_300_799.0 - 400 * 366 * 86400.0  # 400 years short of 9999-12-31T23:59:59Z
MAX_SPEED = 1_000_000.0


def _when(ts: float | None) -> str | None:
    return None if ts is None else format_graph_datetime(ts)


def user_state(user: User) -> dict[str, Any]:
    """Everything about one user's presence, including what Graph never shows (sessions, expiries)."""
    message = user.status_message
    preferred = user.preferred
    is_oof, oof_message = user.out_of_office
    return {
        "id": user.id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
        "availability": user.availability,
        "activity": user.activity,
        "sequenceNumber": user.sequence_number,
        "sessions": [
            {
                "sessionId": s.session_id,
                "source": s.source,
                "availability": s.availability,
                "activity": s.activity,
                "shownAvailability": s.shown()[0],
                "shownActivity": s.shown()[1],
                "setDateTime": _when(s.set_at),
                "expirationDateTime": _when(s.expires_at),
                "nextTransitionDateTime": _when(s.next_transition()),
            }
            for s in user.sessions.values()
        ],
        "preferredPresence": None if preferred is None else {
            "availability": preferred.availability,
            "activity": preferred.activity,
            "setDateTime": _when(preferred.set_at),
            "expirationDateTime": _when(preferred.expires_at),
        },
        "statusMessage": None if message is None else {
            "message": {"content": message.content, "contentType": message.content_type},
            "publishedDateTime": _when(message.published_at),
            "expiryDateTime": None if message.expiry is None else {
                "dateTime": message.expiry.date_time, "timeZone": message.expiry.time_zone},
            "expiresAt": None if message.expiry is None else _when(message.expiry.at),
        },
        "outOfOfficeSettings": {"isOutOfOffice": is_oof, "message": oof_message},
    }


def clock_state(tenant: Tenant) -> dict[str, Any]:
    state = tenant.clock.describe()
    state["nextDueDateTime"] = _when(tenant.scheduler.next_due())
    state["pending"] = len(tenant.scheduler)
    return state


def _tenant(request: web.Request) -> Tenant:
    return request.app[RUNTIME].tenant


async def health(request: web.Request) -> web.Response:
    return json_response(orjson.dumps({"status": "ok", "version": __version__}))


async def reset(request: web.Request) -> web.Response:
    tenant = request.app[RUNTIME].reset()
    return json_response(orjson.dumps({"status": "reset", "clock": clock_state(tenant)}))


async def get_clock(request: web.Request) -> web.Response:
    return json_response(orjson.dumps(clock_state(_tenant(request))))


async def set_clock(request: web.Request) -> web.Response:
    """Change the clock's mode or speed: ``{"mode": "manual"|"real"|"speed", "speed": N}``."""
    data = requests.json_object(await request.read())
    unknown = sorted(set(data) - {"mode", "speed"})
    if unknown:  # as the OpenAPI document says (additionalProperties: false)
        raise errors.invalid_argument(f"The property '{unknown[0]}' is not a clock setting; use 'mode' and 'speed'.")
    tenant = _tenant(request)
    mode = data.get("mode", "speed" if "speed" in data else tenant.clock.mode)
    speed = data.get("speed")
    if mode not in ("real", "manual", "speed"):
        raise errors.invalid_argument("The property 'mode' must be 'real', 'manual' or 'speed'.")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)
                              or not 0 < speed <= MAX_SPEED):
        raise errors.invalid_argument(f"The property 'speed' must be a number greater than 0 and at most "
                                      f"{MAX_SPEED:g}.")
    request.app[RUNTIME].set_clock(mode, speed=float(speed) if speed is not None else None)
    return json_response(orjson.dumps(clock_state(tenant)))


async def advance_clock(request: web.Request) -> web.Response:
    """Advance by an ISO 8601 duration, given as the plain body, a JSON string or ``{"duration": …}``."""
    raw = (await request.read()).strip()
    text: Any = raw.decode("utf-8", "replace")
    if raw[:1] in (b"{", b'"'):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.malformed_json(str(exc)) from None
        text = parsed.get("duration") if isinstance(parsed, dict) else parsed
    if not isinstance(text, str) or not text:
        raise errors.invalid_argument("Send an ISO 8601 duration such as PT5M, as the body or as "
                                      '{"duration": "PT5M"}.')
    try:
        seconds = requests.parse_iso_duration(text)
    except ValueError as exc:
        raise errors.invalid_argument(str(exc)) from None
    tenant = _tenant(request)
    if tenant.clock.time() + seconds > LATEST:
        raise errors.invalid_argument(f"Advancing by {text} would take the clock past the year 9599.")
    ran = request.app[RUNTIME].advance(seconds)
    state = clock_state(tenant)
    state["ran"] = ran
    return json_response(orjson.dumps(state))


def tenant_state(tenant: Tenant) -> dict[str, Any]:
    """The whole state dump that ``GET /_emulator/state`` serves (and the Python API returns)."""
    return {
        "tenantId": tenant.tenant_id,
        "clock": clock_state(tenant),
        "restrictUsers": tenant.presence.restrict_users,
        "users": [user_state(u) for u in tenant.presence.users.values()],
    }


async def get_state(request: web.Request) -> web.Response:
    return json_response(orjson.dumps(tenant_state(_tenant(request))))


def add_routes(routes: Routes) -> None:
    routes.add_get(f"{PREFIX}/health", health)
    routes.add_post(f"{PREFIX}/reset", reset)
    routes.add_get(f"{PREFIX}/clock", get_clock)
    routes.add_post(f"{PREFIX}/clock", set_clock)
    routes.add_post(f"{PREFIX}/clock/advance", advance_clock)
    routes.add_get(f"{PREFIX}/state", get_state)
