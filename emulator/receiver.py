"""A webhook receiver for tests: the subscriber's side of Graph change notifications, on 127.0.0.1.

It answers the validation handshake (the URL-decoded ``validationToken`` echoed as ``text/plain``), records
every notification item it is sent, and can be told to misbehave the ways real subscribers do: answer with an
error status, stall (never answer), or answer slowly. Waiting for a notification uses the real clock, since
deliveries are network events, not emulated time.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import orjson
from aiohttp import web

from emulator.loop_thread import OnThread

NOTIFICATIONS_PATH = "/notifications"
LIFECYCLE_PATH = "/lifecycle"
DEFAULT_TIMEOUT = 5.0
_PRESENCE_RESOURCE = re.compile(r"presences/([^/?']+)$", re.IGNORECASE)

Behaviour = Literal["answer", "fail", "stall", "slow"]


@dataclass(frozen=True)
class Notification:
    """One item of a changeNotificationCollection, as received."""

    item: dict[str, Any]
    path: str
    # Real monotonic time of arrival.
    received_at: float
    # Every item of the same POST shares its validationTokens (rich notifications).
    validation_tokens: tuple[str, ...] = ()

    @property
    def user_id(self) -> str | None:
        """The user whose presence changed: ``resourceData.id`` or the id at the end of ``resource``."""
        data = self.item.get("resourceData")
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return str(data["id"])
        match = _PRESENCE_RESOURCE.search(str(self.item.get("resource", "")))
        return match.group(1) if match else None

    @property
    def lifecycle_event(self) -> str | None:
        value = self.item.get("lifecycleEvent")
        return value if isinstance(value, str) else None

    @property
    def subscription_id(self) -> str | None:
        value = self.item.get("subscriptionId")
        return value if isinstance(value, str) else None

    @property
    def client_state(self) -> str | None:
        value = self.item.get("clientState")
        return value if isinstance(value, str) else None

    def __getitem__(self, key: str) -> Any:
        return self.item[key]


@dataclass(frozen=True)
class Handshake:
    """A validation request and the token it carried (URL-decoded)."""

    path: str
    token: str
    received_at: float


@dataclass
class _Behaviour:
    kind: Behaviour = "answer"
    status: int = 202
    delay: float = 0.0
    handshake: bool = False  # also applies to the validation handshake


@dataclass
class _Waiters:
    taken: set[int] = field(default_factory=set)
    arrived: asyncio.Condition | None = None


class WebhookReceiver:
    """Serves in the running event loop; use ``async with`` or ``await start()``/``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._behaviour = _Behaviour()
        self._stop = asyncio.Event()
        self._waiters = _Waiters()
        self.port = 0
        self.handshakes: list[Handshake] = []
        self.notifications: list[Notification] = []
        # (path, status) of every POST answered, handshakes included, in order.
        self.answers: list[tuple[str, int]] = []

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._waiters.arrived = asyncio.Condition()
        return self

    async def stop(self) -> None:
        self._stop.set()  # releases stalled requests, so shutdown does not wait on them
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the receiver is not running yet")
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``notificationUrl`` to subscribe with."""
        return self.base_url + NOTIFICATIONS_PATH

    @property
    def lifecycle_url(self) -> str:
        """A separate ``lifecycleNotificationUrl``; its items are told apart by ``Notification.path``."""
        return self.base_url + LIFECYCLE_PATH

    # How it answers ---------------------------------------------------------------------------------------

    def answer(self, status: int = 202) -> None:
        """Behave: acknowledge every notification at once with ``status`` (202 Accepted by default)."""
        self._behaviour = _Behaviour("answer", status)

    def fail(self, status: int = 503, *, handshake: bool = False) -> None:
        """Answer notifications (and the handshake, if ``handshake``) with an error ``status``."""
        self._behaviour = _Behaviour("fail", status, handshake=handshake)

    def stall(self, *, handshake: bool = False) -> None:
        """Never answer: hold each request open until the receiver stops (the sender's deadline passes)."""
        self._behaviour = _Behaviour("stall", handshake=handshake)

    def slow(self, seconds: float, status: int = 202, *, handshake: bool = False) -> None:
        """Answer after ``seconds`` of real time."""
        self._behaviour = _Behaviour("slow", status, delay=seconds, handshake=handshake)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("validationToken")  # aiohttp has already URL-decoded it
        body = await request.read()
        now = time.monotonic()
        behaviour = self._behaviour
        if token is not None:
            self.handshakes.append(Handshake(request.path, token, now))
        else:
            self._record(request.path, body, now)
        misbehaves = behaviour.kind != "answer" and (token is None or behaviour.handshake)
        if misbehaves and behaviour.kind == "stall":
            await self._stop.wait()
            raise web.HTTPServiceUnavailable()
        if misbehaves and behaviour.kind == "slow":
            await asyncio.sleep(behaviour.delay)  # real seconds: it imitates a slow network peer
        if token is not None and not (misbehaves and behaviour.kind == "fail"):
            self.answers.append((request.path, 200))
            return web.Response(status=200, text=token, content_type="text/plain")
        self.answers.append((request.path, behaviour.status))
        return web.Response(status=behaviour.status)

    def _record(self, path: str, body: bytes, now: float) -> None:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        items = payload.get("value") if isinstance(payload, dict) else None
        tokens = payload.get("validationTokens") if isinstance(payload, dict) else None
        token_tuple = tuple(t for t in tokens if isinstance(t, str)) if isinstance(tokens, list) else ()
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                self.notifications.append(Notification(item, path, now, token_tuple))
        arrived = self._waiters.arrived
        if arrived is not None:
            asyncio.get_running_loop().create_task(self._wake(arrived))

    @staticmethod
    async def _wake(arrived: asyncio.Condition) -> None:
        async with arrived:
            arrived.notify_all()

    # Waiting for what arrives -----------------------------------------------------------------------------

    async def next_notification(self, user: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Notification:
        """The next change notification (for ``user``, if given) not yet returned by this method; waits up to
        ``timeout`` real seconds for it to arrive."""
        def wanted(n: Notification) -> bool:
            return n.lifecycle_event is None and (user is None or (n.user_id or "").lower() == user.lower())

        what = "a change notification" + (f" for user {user}" if user else "")
        return await self._next(wanted, timeout, what)

    async def next_lifecycle_event(self, event: str | None = None, *,
                                   timeout: float = DEFAULT_TIMEOUT) -> Notification:
        """The next lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""
        def wanted(n: Notification) -> bool:
            return n.lifecycle_event is not None and (event is None or n.lifecycle_event == event)

        return await self._next(wanted, timeout, f"lifecycle event {event or '(any)'}")

    async def _next(self, wanted: Callable[[Notification], bool], timeout: float, what: str) -> Notification:
        arrived = self._waiters.arrived
        if arrived is None:
            raise RuntimeError("the receiver is not running")
        deadline = time.monotonic() + timeout
        async with arrived:
            while True:
                for index, notification in enumerate(self.notifications):
                    if index not in self._waiters.taken and wanted(notification):
                        self._waiters.taken.add(index)
                        return notification
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what} did not arrive within {timeout:g} s "
                                         f"({len(self.notifications)} item(s) received in all)")
                try:
                    await asyncio.wait_for(arrived.wait(), remaining)
                except TimeoutError:
                    continue


class WebhookReceiverThread(OnThread[WebhookReceiver]):
    """A ``WebhookReceiver`` on a background thread, for synchronous tests: the same methods, blocking."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        async def make() -> WebhookReceiver:
            return await WebhookReceiver(host, port).start()

        super().__init__("graph-webhook-receiver", make)

    @property
    def receiver(self) -> WebhookReceiver:
        return self.served

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def lifecycle_url(self) -> str:
        return self.receiver.lifecycle_url

    @property
    def base_url(self) -> str:
        return self.receiver.base_url

    @property
    def notifications(self) -> list[Notification]:
        return self._call(lambda: list(self.receiver.notifications))

    @property
    def handshakes(self) -> list[Handshake]:
        return self._call(lambda: list(self.receiver.handshakes))

    @property
    def answers(self) -> list[tuple[str, int]]:
        return self._call(lambda: list(self.receiver.answers))

    def answer(self, status: int = 202) -> None:
        self._call(self.receiver.answer, status)

    def fail(self, status: int = 503, *, handshake: bool = False) -> None:
        self._call(lambda: self.receiver.fail(status, handshake=handshake))

    def stall(self, *, handshake: bool = False) -> None:
        self._call(lambda: self.receiver.stall(handshake=handshake))

    def slow(self, seconds: float, status: int = 202, *, handshake: bool = False) -> None:
        self._call(lambda: self.receiver.slow(seconds, status, handshake=handshake))

    def next_notification(self, user: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Notification:
        return self._run(self.receiver.next_notification(user, timeout=timeout))

    def next_lifecycle_event(self, event: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Notification:
        return self._run(self.receiver.next_lifecycle_event(event, timeout=timeout))
