"""Control plane for the request journal, fault rules and throttling (docs/faults-and-journal.md).

    GET    /_emulator/requests            entries, filtered: path, method, status, since, until,
                                          applicationId, fault, earlyRetry, throttled, limit
    DELETE /_emulator/requests            clear the journal (and the early-retry counts)
    GET    /_emulator/requests/har        the same entries as HAR 1.2
    GET    /_emulator/requests/summary    counts, latency, early retries
    GET    /_emulator/requests/settings   capacity, body limit, control-plane recording
    POST   /_emulator/requests/settings
    GET    /_emulator/faults              the rules, with how often each matched and fired
    POST   /_emulator/faults              add one rule (an object) or several (an array); 201
    GET    /_emulator/faults/{id}
    DELETE /_emulator/faults/{id}
    DELETE /_emulator/faults              remove every rule
    GET    /_emulator/throttling          the limit and each application's count in the window
    POST   /_emulator/throttling          {"preset": "1500"} | {"limit": N, "windowSeconds": S} | {"enabled": false}
    DELETE /_emulator/throttling          throttling off
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from aiohttp import web

from emulator.graph import errors
from emulator.graph.errors import GraphError
from emulator.graph.pipeline import Routes, json_response
from emulator.runtime import RUNTIME
from emulator.tenant import Tenant
from emulator.traffic.faults import DuplicateRuleId
from emulator.traffic.har import har_log
from emulator.traffic.throttle import OFF

# pydantic and what is built on it load with the first request that needs them, not at serve's start.
if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from emulator.traffic.journal_query import JournalQuery

PREFIX = "/_emulator"
_TAGS = {"request", "delivery"}


def _tenant(request: web.Request) -> Tenant:
    return request.app[RUNTIME].tenant


def describe_errors(exc: ValidationError, what: str) -> str:
    """One readable sentence per problem, naming the field (``[0].retryAfter``) where there is one."""
    parts = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p not in _TAGS]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "required"
        elif err["type"] == "extra_forbidden":
            message = "not a property of a " + what
        parts.append(f"'{where}': {message}." if where else f"{message[:1].upper()}{message[1:]}.")
    return f"Invalid {what}: " + " ".join(parts)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.malformed_json(str(exc)) from None


M = TypeVar("M", bound="BaseModel")


def _validate(model: type[M], data: Any, what: str) -> M:
    if not isinstance(data, dict):
        raise errors.invalid_argument(f"Invalid {what}: the body must be a JSON object.")
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.invalid_argument(describe_errors(exc, what)) from None


def _ok(body: Any, status: int = 200) -> web.Response:
    return json_response(orjson.dumps(body), status=status)


# -- the journal ---------------------------------------------------------------------------------------------

def _query(request: web.Request) -> JournalQuery:
    from emulator.traffic.journal_query import JournalQuery

    params: dict[str, str] = {}
    for name, value in request.query.items():
        if name in params:
            raise errors.invalid_argument(f"The query parameter '{name}' is given twice; give a list: a,b.")
        params[name] = value
    return _validate(JournalQuery, params, "journal filter")


async def list_requests(request: web.Request) -> web.Response:
    journal = _tenant(request).journal
    entries = journal.entries(_query(request))
    return _ok({"count": len(entries), "value": [journal.describe(e) for e in entries]})


async def clear_requests(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    tenant.journal.clear()
    tenant.gate.forget_retries()
    return web.Response(status=204)


async def export_har(request: web.Request) -> web.Response:
    journal = _tenant(request).journal
    response = _ok(har_log(journal, journal.entries(_query(request))))
    response.headers["Content-Disposition"] = 'attachment; filename="emulator-requests.har"'
    return response


async def summarise_requests(request: web.Request) -> web.Response:
    journal = _tenant(request).journal
    return _ok(journal.summary(journal.entries(_query(request))))


async def get_journal_settings(request: web.Request) -> web.Response:
    return _ok(_tenant(request).journal.settings.to_json())


async def set_journal_settings(request: web.Request) -> web.Response:
    journal = _tenant(request).journal
    data = await _json(request)
    if isinstance(data, dict):
        data = {**journal.settings.to_json(), **data}
    from emulator.control.bodies import JournalSettingsBody

    journal.configure(_validate(JournalSettingsBody, data, "journal settings").settings())
    return _ok(journal.settings.to_json())


# -- fault rules -----------------------------------------------------------------------------------------

async def list_faults(request: web.Request) -> web.Response:
    rules = _tenant(request).gate.faults.rules()
    return _ok({"count": len(rules), "value": [r.describe() for r in rules]})


async def add_faults(request: web.Request) -> web.Response:
    from pydantic import ValidationError

    from emulator.traffic.fault_rules import FAULT_RULE, FAULT_RULES

    tenant = _tenant(request)
    data = await _json(request)
    try:
        rules = FAULT_RULES.validate_python(data) if isinstance(data, list) else [FAULT_RULE.validate_python(data)]
    except ValidationError as exc:
        raise errors.invalid_argument(describe_errors(exc, "fault rule")) from None
    try:
        added = tenant.gate.add_faults(rules)
    except DuplicateRuleId as exc:
        raise GraphError(409, "Conflict", str(exc)) from None
    except ValueError as exc:
        raise errors.invalid_argument(f"Invalid fault rule: {exc}.") from None
    described = [r.describe() for r in added]
    return _ok(described if isinstance(data, list) else described[0], status=201)


def _rule_id(request: web.Request) -> str:
    return request.match_info["id"]


async def get_fault(request: web.Request) -> web.Response:
    rule = _tenant(request).gate.faults.get(_rule_id(request))
    if rule is None:
        raise errors.item_not_found(f"No fault rule has the id '{_rule_id(request)}'.")
    return _ok(rule.describe())


async def delete_fault(request: web.Request) -> web.Response:
    gate = _tenant(request).gate
    if not gate.faults.remove(_rule_id(request)):
        raise errors.item_not_found(f"No fault rule has the id '{_rule_id(request)}'.")
    gate.refresh()
    return web.Response(status=204)


async def clear_faults(request: web.Request) -> web.Response:
    gate = _tenant(request).gate
    gate.faults.clear()
    gate.refresh()
    return web.Response(status=204)


# -- throttling ------------------------------------------------------------------------------------------

def _throttle_state(tenant: Tenant) -> dict[str, Any]:
    throttle = tenant.gate.throttle
    state = throttle.settings.describe()
    state["applications"] = throttle.usage(tenant.clock.time()) if throttle.enabled else {}
    state["rejected"] = throttle.rejected
    return state


async def get_throttling(request: web.Request) -> web.Response:
    return _ok(_throttle_state(_tenant(request)))


async def set_throttling(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    from emulator.control.bodies import ThrottleSettingsBody

    body = _validate(ThrottleSettingsBody, await _json(request), "throttling")
    try:
        settings = body.settings()
    except ValueError as exc:  # fields that do not go together
        raise errors.invalid_argument(f"Invalid throttling: {exc}.") from None
    tenant.gate.configure_throttle(settings)
    return _ok(_throttle_state(tenant))


async def clear_throttling(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    tenant.gate.configure_throttle(OFF)
    return _ok(_throttle_state(tenant))


def add_routes(routes: Routes) -> None:
    routes.add_get(f"{PREFIX}/requests", list_requests, allow_head=False)
    routes.add_delete(f"{PREFIX}/requests", clear_requests)
    routes.add_get(f"{PREFIX}/requests/har", export_har, allow_head=False)
    routes.add_get(f"{PREFIX}/requests/summary", summarise_requests, allow_head=False)
    routes.add_get(f"{PREFIX}/requests/settings", get_journal_settings, allow_head=False)
    routes.add_post(f"{PREFIX}/requests/settings", set_journal_settings)
    routes.add_get(f"{PREFIX}/faults", list_faults, allow_head=False)
    routes.add_post(f"{PREFIX}/faults", add_faults)
    routes.add_delete(f"{PREFIX}/faults", clear_faults)
    routes.add_get(f"{PREFIX}/faults/{{id}}", get_fault, allow_head=False)
    routes.add_delete(f"{PREFIX}/faults/{{id}}", delete_fault)
    routes.add_get(f"{PREFIX}/throttling", get_throttling, allow_head=False)
    routes.add_post(f"{PREFIX}/throttling", set_throttling)
    routes.add_delete(f"{PREFIX}/throttling", clear_throttling)
