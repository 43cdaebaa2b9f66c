"""The request pipeline every route shares: request ids, the emulated ``Date``, the gate, auth
(``access.admit``), Graph error bodies and the journal.

Route modules add their routes through ``Routes``, which wraps each handler in the ``Pipeline``: the hot read
path pays for one extra coroutine, and for no aiohttp middleware (see ``Pipeline``). Paths no route matches
get their 404 or 405 from a catch-all route, through the same pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractRoute
from multidict import CIMultiDict, istr

from emulator.graph import errors
from emulator.graph import screening as screens
from emulator.graph.access import GRAPH_PREFIXES, admit
from emulator.graph.errors import GraphError
from emulator.presence.directory import MalformedUserId, PresenceError, SessionNotFound, UnknownUser

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
# Copied by every Response (aiohttp copies the headers it is given); a CIMultiDict copies faster than a dict.
_JSON_HEADERS = CIMultiDict({hdrs.CONTENT_TYPE: JSON})
# Header names as istr, which CIMultiDict looks up without folding their case on every request.
REQUEST_ID = istr("request-id")
CLIENT_REQUEST_ID = istr("client-request-id")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_date_cache: tuple[int, str] = (0, "")


def http_date(ts: float) -> str:
    global _date_cache
    second = int(ts)
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


def json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers=_JSON_HEADERS)


# request-ids are GUIDs in Graph's form (version 4, RFC 4122 variant): a random prefix per process and a
# counter, unique within a run and across runs. uuid.uuid4() cost a read of os.urandom and a UUID object per
# request, about a twentieth of a presence read.
def _random_guid_prefix() -> str:
    """A random version-4 GUID's first four groups, dashes included."""
    h = secrets.token_hex(10)
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{'89ab'[int(h[15], 16) & 3]}{h[16:19]}-"


_REQUEST_ID_PREFIX = _random_guid_prefix()
_request_numbers = itertools.count(1)


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers):012x}"


def from_domain(exc: PresenceError) -> GraphError:
    if isinstance(exc, MalformedUserId):
        return errors.bad_request(f"Invalid user id: '{exc.user_id}' is neither a GUID nor a known user.")
    if isinstance(exc, UnknownUser):
        return errors.item_not_found(f"User '{exc.user_id}' does not exist.")
    if isinstance(exc, SessionNotFound):
        return errors.session_not_found(exc.user_id, exc.session_id)
    return errors.bad_request(str(exc))


def from_http(request: web.Request, exc: web.HTTPException) -> GraphError:
    if exc.status == 404:
        path = request.path
        if path.startswith(GRAPH_PREFIXES):
            segments = [s for s in path.split("/")[2:] if s]
            return errors.unknown_segment(segments[-1] if segments else path)
        return errors.not_found_path(path)
    if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
        return errors.method_not_allowed(request.method, set(exc.allowed_methods))
    if exc.status == 413:
        return errors.payload_too_large(request.app._client_max_size)
    return GraphError(exc.status, exc.reason.replace(" ", ""), exc.text or exc.reason)


def _kind(path: str) -> tuple[bool, bool]:
    """Whether a path is the control plane's, and whether it is Graph's (the gate, auth and journal differ)."""
    return path.startswith(screens.CONTROL_PREFIX), path.startswith(GRAPH_PREFIXES)


class Pipeline:
    """Wraps every route's handler: one coroutine per request between aiohttp and the handler, and no aiohttp
    middleware, whose machinery (a partial per middleware, plus aiohttp's own ``current_app`` wrapper that any
    middleware brings) cost a presence read more than everything below.

    It also counts the requests in flight, so that ``serve`` can finish them on Ctrl-C (see ``wait_idle``).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False when ``timeout`` seconds pass first.

        aiohttp's own graceful shutdown stops reading from a connection as soon as it begins, which would cut
        off a request whose body is still arriving; ``serve`` instead stops listening, waits here, and only
        then closes the connections."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return self._idle.is_set()

    def wrap(self, handler: Handler, path: str | None) -> Handler:
        """``handler`` inside the pipeline, for a route whose path pattern is ``path`` (None: any path)."""
        runtime = self.runtime
        fixed = None if path is None else _kind(path)
        idle = self._idle

        # One coroutine, written out in full: this runs for every request, and a call more costs a read 1%.
        async def pipelined(request: web.Request) -> web.StreamResponse:
            self.in_flight += 1
            idle.clear()
            try:
                request_id = new_request_id()
                client_request_id = request.headers.get(CLIENT_REQUEST_ID) or request_id
                tenant = runtime.tenant
                control, graph = fixed or _kind(request.path)
                now = tenant.clock.time()
                if tenant.scheduler.is_due(now):  # a running clock may have passed an entry its driver has not run
                    tenant.scheduler.run_due()
                started = time.perf_counter()
                gate = tenant.gate
                screening = None
                dropped = False
                try:
                    # Throttling and faults (emulator/traffic/gate.py): one attribute test when none is configured.
                    if gate.active and not control:
                        path = request.path
                        screening = gate.screen(request.method, path, screens.app_id_of(request),
                                                throttled=not screens.is_batch(path), now=now)
                        if screening is not None:
                            injected = await screens.apply(screening, gate.throttle.settings.code)
                            if injected is not None:
                                raise injected
                    if graph:
                        admit(request, tenant)
                    response = await handler(request)
                except Exception as exc:
                    if isinstance(exc, web.HTTPException) and exc.status < 400:
                        raise  # a redirect: not an error
                    dropped = isinstance(exc, screens.ConnectionDropped)
                    response = answer_error(request, exc, request_id, client_request_id, now)
                headers = response.headers
                headers[REQUEST_ID] = request_id
                headers[CLIENT_REQUEST_ID] = client_request_id
                if hdrs.DATE not in headers:
                    headers[hdrs.DATE] = http_date(now)
                journal = tenant.journal
                if journal.enabled and (not control or (journal.record_control_plane
                                                        and request.method not in ("GET", "HEAD"))):
                    body = await screens.request_body(request) if request.body_exists else None
                    screens.record(journal, request, response, body, now, started, screening, dropped)
                return response
            finally:
                self.in_flight -= 1
                if not self.in_flight:
                    idle.set()

        return pipelined


PIPELINE = web.AppKey("pipeline", Pipeline)


class Routes:
    """The app's router as the route modules see it: every handler added through it runs in the pipeline."""

    def __init__(self, app: web.Application, pipeline: Pipeline) -> None:
        self.app = app
        self._router = app.router
        self._pipeline = pipeline

    def add_route(self, method: str, path: str, handler: Handler, **kwargs: Any) -> AbstractRoute:
        return self._router.add_route(method, path, self._pipeline.wrap(handler, path), **kwargs)

    def add_get(self, path: str, handler: Handler, **kwargs: Any) -> AbstractRoute:
        return self._router.add_get(path, self._pipeline.wrap(handler, path), **kwargs)

    def add_post(self, path: str, handler: Handler) -> AbstractRoute:
        return self.add_route(hdrs.METH_POST, path, handler)

    def add_patch(self, path: str, handler: Handler) -> AbstractRoute:
        return self.add_route(hdrs.METH_PATCH, path, handler)

    def add_delete(self, path: str, handler: Handler) -> AbstractRoute:
        return self.add_route(hdrs.METH_DELETE, path, handler)

    def add_unmatched(self) -> None:
        """Answer, in Graph's form, what no route matches: a 405 when another method would have, else a 404.
        Added last: aiohttp tries it only after every more specific route."""
        async def unmatched(request: web.Request) -> web.StreamResponse:
            allowed: set[str] = set()
            for resource in self._router.resources():
                if resource is not catch_all:
                    allowed |= (await resource.resolve(request))[1]
            if allowed:
                raise web.HTTPMethodNotAllowed(request.method, allowed)
            raise web.HTTPNotFound()

        catch_all = self._router.add_route("*", "/{tail:.*}", self._pipeline.wrap(unmatched, None)).resource


def answer_error(request: web.Request, exc: Exception, request_id: str, client_request_id: str,
                 now: float) -> web.Response:
    """The response to a request whose handling raised ``exc``: Graph's error body, or a dropped connection."""
    if isinstance(exc, screens.ConnectionDropped):
        return screens.drop_connection(request)
    if isinstance(exc, web.HTTPException):
        error = from_http(request, exc)
    elif isinstance(exc, GraphError):
        error = exc
    elif isinstance(exc, PresenceError):
        error = from_domain(exc)
    else:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        error = errors.internal_error()
    return error_response(error, request_id, client_request_id, now)


def error_response(exc: GraphError, request_id: str, client_request_id: str, now: float) -> web.Response:
    response = json_response(
        errors.error_body(exc.code, exc.message, request_id=request_id, client_request_id=client_request_id,
                          now=now, inner_code=exc.inner_code),
        status=exc.status,
    )
    response.headers.update(exc.headers)
    return response


async def read_json_body(request: web.Request) -> bytes:
    """The raw body of a POST/PATCH, after checking it is JSON when there is one."""
    raw = await request.read()
    if raw and not raw.isspace():
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise errors.unsupported_media_type(content_type or "(none)")
    return raw
