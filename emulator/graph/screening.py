"""The gate and the journal on the wire: apply a screening (wait, drop, answer with an error) and record a
request with its response. The pipeline calls these for every request, and so for every request inside a
``$batch`` too, which re-enters the pipeline one request at a time (emulator/graph/batch_routes.py)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from emulator.graph import errors
from emulator.graph.auth import caller_from_authorization
from emulator.graph.errors import GraphError
from emulator.tenant import DEFAULT_APP_ID
from emulator.traffic.gate import Screening
from emulator.traffic.journal import Journal

CONTROL_PREFIX = "/_emulator/"


class ConnectionDropped(Exception):
    """A fault rule says: close the connection without answering. The pipeline does it."""


def app_id_of(request: web.Request) -> str:
    """The application the request's token names (the default application without one): what throttling
    counts against and what fault rules' ``applicationId`` matches."""
    return caller_from_authorization(request.headers.get("Authorization")).app_id or DEFAULT_APP_ID


def is_batch(path: str) -> bool:
    return path.endswith("/$batch")


def as_error(screening: Screening, throttle_code: str) -> GraphError | None:
    if screening.status is None:
        return None
    if screening.throttled:
        return errors.throttled(throttle_code, screening.retry_after or 1)
    return errors.injected(screening.status, screening.code, screening.message, screening.retry_after)


async def apply(screening: Screening, throttle_code: str) -> GraphError | None:
    """Carry out a screening: wait its latency (real seconds: it stands for the network), then raise
    ``ConnectionDropped`` or return the error to answer with (None: go ahead)."""
    if screening.latency:
        await asyncio.sleep(screening.latency)
    if screening.drop:
        raise ConnectionDropped(screening.rule_id)
    return as_error(screening, throttle_code)


def drop_connection(request: web.Request) -> web.Response:
    """Close the transport; aiohttp's write of the returned placeholder then finds it closed and gives up."""
    request.protocol.force_close()
    return web.Response(status=499)


async def request_body(request: web.Request) -> bytes | None:
    """The request's body for the journal (call only when ``request.body_exists``)."""
    try:
        return await request.read()  # the handler's read is cached, so this costs nothing then
    except Exception:  # too large, or the client went away: the journal notes no body
        return None


def record(journal: Journal, request: web.Request, response: web.StreamResponse, body: bytes | None, at: float,
           started: float, screening: Screening | None, dropped: bool) -> None:
    """Append one request and its response to the journal: references only, in one tuple (journal.py)."""
    latency = time.perf_counter() - started
    path = request.path
    # A request inside a $batch (is_batch, inlined) may have dropped the connection: nothing was sent.
    if not dropped and path.endswith("/$batch"):
        transport = request.transport
        dropped = transport is None or transport.is_closing()
    limit = journal.max_body
    size = 0
    if body is not None:
        size = len(body)
        if size > limit:
            body = body[:limit]
    response_body = response.body if not dropped and isinstance(response, web.Response) else None
    response_size = 0
    if response_body is not None:
        if not isinstance(response_body, bytes):  # a streamed payload: not kept
            response_body = None
        else:
            response_size = len(response_body)
            if response_size > limit:
                response_body = response_body[:limit]
    journal.append((
        at, time.time() - latency, request.method, path, request.raw_path, request.version, request.scheme,
        request.raw_headers, body, size,
        0 if dropped else response.status, response.headers, response_body, response_size,
        latency, screening, dropped,
    ))
