"""Real webhook receivers on 127.0.0.1 for the notification tests, and what those tests share."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.subscriptions.settings import NotificationSettings
from emulator.tenant import TenantSettings

START = 1_790_000_000.0
ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"
APP = "11111111-2222-4333-8444-555555555555"
# Real-second deadlines short enough that a hanging receiver costs a test little, long enough that a loaded
# machine answering a healthy request does not miss them.
FAST = NotificationSettings(validation_timeout=1.5, ack_timeout=1.5, retry_timeout=3.0)


def token(oid: str = ALICE, appid: str = APP) -> dict[str, str]:
    """An Authorization header naming a user and an application (decoded, not verified, by default)."""
    claims = {"oid": oid, "appid": appid, "scp": "Presence.Read.All"}
    encoded = jwt.encode(claims, "not-a-secret: tokens are decoded, never verified", algorithm="HS256")
    return {"Authorization": f"Bearer {encoded}"}


def refused_url() -> str:
    """A URL on a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@dataclass
class Receiver:
    """An aiohttp server that answers handshakes and records notifications; behaviour is set per path:
    ``ok``, ``wrong-echo``, ``wrong-type``, ``hang``, ``fail`` (500), or ``slow:<seconds>``."""

    validation: dict[str, str] = field(default_factory=dict)
    notification: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    validations: list[tuple[str, str, str]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _behave(self, mode: str) -> web.Response | None:
        if mode == "hang":
            await self._closing.wait()
            return web.Response(status=503)
        if mode == "fail":
            return web.Response(status=500)
        if mode.startswith("slow:"):
            await asyncio.sleep(float(mode[5:]))
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        if "validationToken" in request.query:
            echo = request.query["validationToken"]
            self.validations.append((path, echo, request.headers.get("Content-Type", "")))
            mode = self.validation.get(path, "ok")
            answer = await self._behave(mode)
            if answer is not None:
                return answer
            if mode == "wrong-echo":
                return web.Response(text=echo + "x", content_type="text/plain")
            if mode == "wrong-type":
                return web.json_response(echo)
            return web.Response(text=echo, content_type="text/plain")
        body = await request.json()
        answer = await self._behave(self.notification.get(path, "ok"))
        if answer is not None:
            return answer
        async with self._changed:
            self.received.append((path, body))
            self._changed.notify_all()
        return web.Response(status=202)

    def items(self, path: str | None = None) -> list[dict[str, Any]]:
        return [item for p, body in self.received if path is None or p == path for item in body["value"]]

    async def wait_items(self, count: int, path: str | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait (real seconds: this is network) until ``count`` items have arrived."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.items(path)) >= count), timeout)
        return self.items(path)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def manual_runtime(settings: NotificationSettings = FAST) -> Runtime:
    return Runtime(TenantSettings(clock_mode="manual", start=START, notifications=settings))


@pytest.fixture
def runtime() -> Runtime:
    return manual_runtime()


@pytest.fixture
async def client(aiohttp_client, runtime: Runtime) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(runtime))


def expiry(runtime: Runtime, minutes: float = 50) -> str:
    from emulator.clock import format_graph_datetime
    return format_graph_datetime(runtime.tenant.clock.time() + minutes * 60)


async def subscribe(client: TestClient, runtime: Runtime, url: str, *, user: str = ALICE, oid: str = ALICE,
                    appid: str = APP, status: int = 201, **extra: Any) -> dict[str, Any]:
    body = {"changeType": "updated", "notificationUrl": url, "resource": f"communications/presences/{user}",
            "expirationDateTime": expiry(runtime), "clientState": "secret"}
    body.update(extra)
    resp = await client.post("/v1.0/subscriptions", json=body, headers=token(oid, appid))
    data: dict[str, Any] = await resp.json()
    assert resp.status == status, data
    return data


async def set_presence(client: TestClient, user: str, availability: str, activity: str) -> None:
    resp = await client.post(f"/v1.0/users/{user}/presence/setPresence", json={
        "sessionId": "app", "availability": availability, "activity": activity, "expirationDuration": "PT1H"})
    assert resp.status == 200


class LoopTicks:
    """Counts event-loop iterations from ``start()``: ``now`` is the current one (for slicing tests)."""

    def __init__(self) -> None:
        self.now = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._count())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.now += 1
