"""Control-plane endpoints for what Graph cannot do to a user: add one, give them a Teams-client session with any
documented availability/activity pair, end a session, set out of office.

The dashboard drives these; so can a test. Whatever Graph can do (setPresence, preferred presence, status
message) stays on the Graph API, so that the emulator has one way to do each thing.
"""

from __future__ import annotations

import uuid

import orjson
from aiohttp import web

from emulator.control.routes import PREFIX, user_state
from emulator.graph import errors, requests
from emulator.graph.pipeline import Routes, json_response, read_json_body
from emulator.presence import states
from emulator.presence.directory import UnknownUser, User
from emulator.runtime import RUNTIME
from emulator.tenant import Tenant


def _tenant(request: web.Request) -> Tenant:
    return request.app[RUNTIME].tenant


def _user_response(user: User, status: int = 200) -> web.Response:
    return json_response(orjson.dumps(user_state(user)), status=status)


def _existing(tenant: Tenant, user_ref: str) -> User:
    user = tenant.presence.find(user_ref)
    if user is None:
        raise UnknownUser(user_ref)
    return user


async def add_user(request: web.Request) -> web.Response:
    from emulator.control import bodies  # pydantic, on first use

    body = requests.parse_body(bodies.NewUserBody, await read_json_body(request))
    user = _tenant(request).presence.add_user(body.id, body.userPrincipalName, body.displayName)
    return _user_response(user, status=201)


async def get_user(request: web.Request) -> web.Response:
    return _user_response(_existing(_tenant(request), request.match_info["id"]))


async def set_session(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    user_ref = request.match_info["id"]
    tenant.presence.resolve(user_ref)  # a bad or unknown user is reported before the body
    from emulator.control import bodies  # pydantic, on first use

    body = requests.parse_body(bodies.TeamsSessionBody, await read_json_body(request))
    availability = states.normalise_availability(body.availability)
    activity = states.normalise_activity(body.activity)
    if availability is None:
        raise errors.invalid_argument(
            f"The availability '{body.availability}' is not one of: {', '.join(states.AVAILABILITIES)}.")
    if activity is None:
        raise errors.invalid_argument(
            f"The activity '{body.activity}' is not one of: {', '.join(states.ACTIVITIES)}.")
    expires_in: float | None = None
    if body.expirationDuration is not None:
        expires_in = requests.duration(body.expirationDuration)
        if expires_in <= 0:
            raise errors.duration_out_of_range()
    if body.sessionId == "":
        raise errors.invalid_argument("The property 'sessionId' must not be empty.")
    session_id = body.sessionId or f"teams-{uuid.uuid4().hex[:8]}"
    user = tenant.presence.set_session(user_ref, session_id, availability, activity, expires_in=expires_in,
                                       fades=body.fades, source="teams")
    return _user_response(user, status=201)


async def end_session(request: web.Request) -> web.Response:
    user = _tenant(request).presence.clear_session(request.match_info["id"], request.match_info["sessionId"])
    return _user_response(user)


async def set_out_of_office(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    user_ref = request.match_info["id"]
    tenant.presence.resolve(user_ref)
    from emulator.control import bodies  # pydantic, on first use

    body = requests.parse_body(bodies.OutOfOfficeBody, await read_json_body(request))
    user = tenant.presence.set_out_of_office(user_ref, body.isOutOfOffice, body.message or None)
    return _user_response(user)


def add_routes(routes: Routes) -> None:
    routes.add_post(f"{PREFIX}/users", add_user)
    routes.add_get(f"{PREFIX}/users/{{id}}", get_user)
    routes.add_post(f"{PREFIX}/users/{{id}}/sessions", set_session)
    routes.add_delete(f"{PREFIX}/users/{{id}}/sessions/{{sessionId}}", end_session)
    routes.add_post(f"{PREFIX}/users/{{id}}/outOfOffice", set_out_of_office)
