"""The presence resource as Graph writes it: camelCase keys, PascalCase values, ``@odata.context``.

Reads are served from bytes cached on each user and dropped by the domain on every change, so a read costs
a dictionary look-up, not a serialisation (see the issue's throughput targets).
"""

from __future__ import annotations

from typing import Any

import orjson

from emulator.clock import format_graph_datetime
from emulator.presence import states
from emulator.presence.directory import User

# Keys of the two cached views in ``User.wire_cache``: a user reading their own presence sees more.
OWN_VIEW = "own"
OTHER_VIEW = "other"

_WORK_LOCATION = {"workLocationType": "unspecified", "source": "none", "placeId": None}


def presence_dict(user: User | None, user_id: str, *, own: bool, unknown: bool = False) -> dict[str, Any]:
    """The presence resource of ``user`` (None: a user who never had presence). ``own`` adds what only the
    user themselves may read: the status message's expiry and published time."""
    if user is None:
        availability, activity = states.UNKNOWN if unknown else states.OFFLINE
        return {
            "id": user_id,
            "availability": availability,
            "activity": activity,
            "statusMessage": None,
            "outOfOfficeSettings": {"message": None, "isOutOfOffice": False},
            "workLocation": _WORK_LOCATION,
            "sequenceNumber": "A0000000000",
        }
    status: dict[str, Any] | None = None
    if user.status_message is not None:
        message = user.status_message
        status = {"message": {"content": message.content, "contentType": message.content_type}}
        if own:
            status["expiryDateTime"] = (
                {"dateTime": message.expiry.date_time, "timeZone": message.expiry.time_zone}
                if message.expiry is not None else None
            )
            status["publishedDateTime"] = format_graph_datetime(message.published_at)
    is_oof, oof_message = user.out_of_office
    return {
        "id": user.id,
        "availability": user.availability,
        "activity": user.activity,
        "statusMessage": status,
        "outOfOfficeSettings": {"message": oof_message, "isOutOfOffice": is_oof},
        "workLocation": _WORK_LOCATION,
        "sequenceNumber": user.sequence_number,
    }


def presence_bytes(user: User | None, user_id: str, *, own: bool) -> bytes:
    """The serialised presence object, without ``@odata.context``; cached per user and view."""
    if user is None:
        return orjson.dumps(presence_dict(None, user_id, own=own))
    key = OWN_VIEW if own else OTHER_VIEW
    body = user.wire_cache.get(key)
    if body is None:
        # orjson's result keeps its whole working buffer (4 KB), which would be most of a user's memory once
        # cached: what stays is a copy of the exact size.
        body = bytes(memoryview(orjson.dumps(presence_dict(user, user_id, own=own))))
        user.wire_cache[key] = body
    return body


def presence_document(user: User | None, user_id: str, *, own: bool, context: str) -> bytes:
    """The presence object with its ``@odata.context``, as a read answers it: cached per user, view and
    context, so that a repeated read costs a look-up."""
    if user is None:
        return with_context(context, presence_bytes(None, user_id, own=own))
    key = (own, context)
    body = user.wire_cache.get(key)
    if body is None:
        body = user.wire_cache[key] = with_context(context, presence_bytes(user, user_id, own=own))
    return body


def with_context(context: str, body: bytes) -> bytes:
    """Prefix a serialised object with its ``@odata.context``."""
    return b'{"@odata.context":' + orjson.dumps(context) + b"," + body[1:]


def user_presence_context(base: str, user_id: str) -> str:
    return f"{base}/$metadata#users('{user_id}')/presence/$entity"


def communications_presence_context(base: str) -> str:
    return f"{base}/$metadata#communications/presences/$entity"


def presence_collection_context(base: str) -> str:
    return f"{base}/$metadata#Collection(microsoft.graph.presence)"
