"""JSON batching: ``POST /v1.0/$batch`` and ``POST /beta/$batch`` (graph-presence-spec.md §6).

Each request inside a batch is turned into a real ``aiohttp`` request (same connection, the batch's
``Authorization``, its own method, URL, headers and body) and handed to the application's own entry point,
so it is routed and passes through the pipeline exactly as if it had been sent alone: it gets its own
request-id and error body, strict auth checks its scopes, and the journal, faults and throttling see it as
one request of its own. ``BATCH_ITEM`` on the
sub-request says which batch item it is.

Order: requests run one at a time, in the order of their ``dependsOn`` graph (a request after everything
it depends on; otherwise in the order given), and the responses come back in that same order. Graph
promises no order, so clients must match responses by ``id``; with no ``dependsOn`` this is the request
order. A request whose dependency failed (status >= 400, a 424 included) is not run and gets 424. A
request that drops the connection (a fault) ends the batch: the requests after it are not run.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp.streams import StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from emulator.graph import errors
from emulator.graph.pipeline import Routes, read_json_body
from emulator.runtime import RUNTIME

if TYPE_CHECKING:
    from emulator.graph.bodies import BatchRequestItem

VERSIONS = ("v1.0", "beta")
MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Set on each sub-request: the id of the batch item it carries out.
BATCH_ITEM = web.RequestKey("batch_item", str)
# Headers of a sub-response that describe the transport, not the response.
_TRANSPORT_HEADERS = frozenset({"content-length", "date", "server", "transfer-encoding", "connection"})
# Headers a batch item may not set: they would act on the batch's connection, not on the item.
_CONNECTION_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "expect", "host",
                                 "upgrade", "keep-alive", "te", "trailer"})


def parse_batch(raw: bytes) -> list[BatchRequestItem]:
    """The validated requests of a batch body; ``GraphError`` 400 for anything malformed."""
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise errors.malformed_json(str(exc)) from None
    if not isinstance(data, dict):
        raise errors.invalid_batch("A batch is a JSON object with a 'requests' array.")
    from pydantic import ValidationError

    from emulator.graph.bodies import BatchRequestBody, describe_validation_error

    try:
        items = BatchRequestBody.model_validate(data).requests
    except ValidationError as exc:
        raise errors.invalid_batch(f"Invalid batch payload. {describe_validation_error(exc)}") from None
    if not items:
        raise errors.invalid_batch("The batch has no requests.")
    if len(items) > MAX_REQUESTS:
        raise errors.invalid_batch(f"The batch has {len(items)} requests; at most {MAX_REQUESTS} are allowed.")
    seen: set[str] = set()
    for item in items:
        key = item.id.lower()
        if key in seen:
            raise errors.invalid_batch(f"The request id '{item.id}' appears more than once in the batch "
                                       "(ids are compared case-insensitively).")
        seen.add(key)
        if item.method.upper() not in METHODS:
            raise errors.invalid_batch(f"Request '{item.id}': the method '{item.method}' is not supported; "
                                       f"use one of {', '.join(sorted(METHODS))}.")
        if "body" in item.model_fields_set and item.body is not None and _header(item, "Content-Type") is None:
            raise errors.invalid_batch(f"Request '{item.id}' has a body but no Content-Type header.")
        for dependency in item.dependsOn or ():
            if dependency.lower() not in {i.id.lower() for i in items}:
                raise errors.invalid_batch(f"Request '{item.id}' depends on '{dependency}', which is not "
                                           "in the batch.")
    return run_order(items)


def _header(item: BatchRequestItem, name: str) -> str | None:
    for key, value in (item.headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def run_order(items: list[BatchRequestItem]) -> list[BatchRequestItem]:
    """Every request after the ones it depends on, otherwise in the order given; 400 on a cycle."""
    pending = list(items)
    done: set[str] = set()
    ordered: list[BatchRequestItem] = []
    while pending:
        ready = next((i for i in pending if all(d.lower() in done for d in i.dependsOn or ())), None)
        if ready is None:
            cycle = ", ".join(f"'{i.id}'" for i in pending)
            raise errors.invalid_batch(f"The dependsOn of requests {cycle} form a cycle.")
        pending.remove(ready)
        done.add(ready.id.lower())
        ordered.append(ready)
    return ordered


def target_url(item: BatchRequestItem, version: str) -> str:
    """The path (and query) to route ``item`` to: its URL under the batch's version. Absolute URLs, as
    msgraph-sdk sends them, are accepted for their path; a version segment in them is replaced."""
    try:
        url = URL(item.url)
    except ValueError:
        raise errors.invalid_batch(f"Request '{item.id}': '{item.url}' is not a URL.") from None
    path = url.raw_path if url.absolute else item.url.split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    for known in VERSIONS:
        if path == f"/{known}" or path.startswith(f"/{known}/"):
            path = path[len(known) + 1:] or "/"
    if url.absolute and url.raw_query_string:
        path = f"{path}?{url.raw_query_string}"
    if path.split("?", 1)[0].rstrip("/") == "/$batch":
        raise errors.invalid_batch(f"Request '{item.id}': a batch cannot contain another batch.")
    return f"/{version}{path}"


def encode_body(item: BatchRequestItem) -> bytes:
    if item.body is None:
        return b""
    content_type = (_header(item, "Content-Type") or "").split(";", 1)[0].strip().lower()
    if isinstance(item.body, str) and not content_type.endswith("json"):
        return item.body.encode()
    return orjson.dumps(item.body)


def sub_request(parent: web.Request, item: BatchRequestItem, path: str, body: bytes) -> web.Request:
    """A request for ``item`` on the batch's connection, as the HTTP parser would have built it."""
    headers: CIMultiDict[str] = CIMultiDict()
    authorization = parent.headers.get("Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    headers["Host"] = parent.host
    headers.update({k: v for k, v in (item.headers or {}).items() if k.lower() not in _CONNECTION_HEADERS})
    headers["Content-Length"] = str(len(body))
    frozen = CIMultiDictProxy(headers)
    message = parent._message._replace(
        method=item.method.upper(), path=path, url=URL(path), headers=frozen,
        raw_headers=tuple((k.encode(), v.encode()) for k, v in frozen.items()))
    loop = asyncio.get_running_loop()
    payload = StreamReader(parent.protocol, 2**16, loop=loop)
    if body:
        payload.feed_data(body)
    payload.feed_eof()
    request = web.Request(message, payload, parent.protocol, parent.writer, parent.task, loop,
                          client_max_size=parent.client_max_size, scheme=parent.scheme, host=parent.host,
                          remote=parent.remote)
    request[BATCH_ITEM] = item.id
    return request


def response_item(item_id: str, response: web.StreamResponse) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": item_id,
        "status": response.status,
        "headers": {str(k): v for k, v in response.headers.items() if k.lower() not in _TRANSPORT_HEADERS},
    }
    raw = response.body if isinstance(response, web.Response) else None
    if isinstance(raw, bytes | bytearray) and raw:
        if (response.content_type or "").endswith("json"):
            result["body"] = orjson.loads(raw)
        else:  # as Graph does for binary content: base64
            result["body"] = base64.b64encode(raw).decode()
    return result


def failed_dependency_item(parent: web.Request, item: BatchRequestItem, failed: str) -> dict[str, Any]:
    exc = errors.failed_dependency(item.id, failed)
    request_id = str(uuid.uuid4())
    body = errors.error_body(exc.code, exc.message, request_id=request_id, client_request_id=request_id,
                             now=parent.app[RUNTIME].tenant.clock.time())
    return {"id": item.id, "status": exc.status,
            "headers": {"Content-Type": "application/json; charset=utf-8", "request-id": request_id},
            "body": orjson.loads(body)}


async def run_item(parent: web.Request, item: BatchRequestItem, version: str) -> dict[str, Any]:
    request = sub_request(parent, item, target_url(item, version), encode_body(item))
    try:
        # The app's own entry point: routing, then the route's handler inside the pipeline.
        response = await parent.app._handle(request)
    except web.HTTPException as exc:  # below 400 the pipeline lets them through (redirects)
        response = exc
    return response_item(item.id, response)


def _batch(version: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        items = parse_batch(await read_json_body(request))
        failed: set[str] = set()
        responses: list[dict[str, Any]] = []
        for item in items:
            broken = next((d for d in item.dependsOn or () if d.lower() in failed), None)
            if broken is not None:
                result = failed_dependency_item(request, item, broken)
            else:
                result = await run_item(request, item, version)
            if result["status"] >= 400:
                failed.add(item.id.lower())
            responses.append(result)
            if request.transport is None or request.transport.is_closing():
                break  # a request dropped the connection (a fault rule): nothing more is run or answered
        return web.Response(body=orjson.dumps({"responses": responses}),
                            headers={"Content-Type": "application/json; charset=utf-8"})
    return handler


def add_routes(routes: Routes) -> None:
    for version in VERSIONS:
        routes.add_post(f"/{version}/$batch", _batch(version))
