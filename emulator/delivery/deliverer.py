"""Webhook delivery as Graph does it, on the emulator's scheduler.

Each notification URL has its own queue and at most one POST in flight; several items waiting for one URL
go out in one POST. A POST is acknowledged by a 2xx within the ack deadline (3 real seconds; 10 on
retries). Anything else is retried with exponential backoff on the emulated clock for up to 4 emulated hours,
then discarded. An endpoint that keeps answering slowly is throttled by the documented slow/drop rules.
Nothing here waits for emulated time with ``asyncio.sleep``: a due POST goes out at once, a retry is an entry
on the scheduler. Nothing here imports aiohttp: the HTTP client is a ``Transport`` (``transport.py``).

Extension point for delivery faults: ``Deliverer.interceptors``, a list of ``Interceptor``s, each called per
outgoing POST as ``await interceptor(batch, send)``. It may call ``send`` zero, one or several times (drop,
pass, duplicate), later (delay), or hold a batch and send it after the next one (reorder); the
``AttemptResult`` it returns is what the deliverer records and acts on. An outcome of ``held`` is recorded as
such and neither retried nor sampled: the interceptor owns the batch, sends it later and reports what came of
it with ``Deliverer.settle`` (logged, and retried on failure like any POST); ``Deliverer.background`` runs
such a late send as a task that ``drain`` waits for and ``stop`` cancels. The default list is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import orjson

from emulator.clock import Scheduler
from emulator.delivery.log import DeliveryLog
from emulator.notifications.crypto import TokenSigner, emulator_signer
from emulator.subscriptions.model import ValidationFailed
from emulator.subscriptions.settings import NotificationSettings

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
VALIDATION_PREFIX = "Validation: Testing client application reachability for subscription Request-Id: "


# -- the transport seam ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransportResponse:
    status: int
    content_type: str
    text: str


class TransportError(Exception):
    """No HTTP response: ``kind`` is ``timedOut``, ``refused`` or ``error``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str],
                   timeout: float) -> TransportResponse: ...

    async def close(self) -> None: ...


# -- what goes out ---------------------------------------------------------------------------------------

@dataclass
class Outgoing:
    """One changeNotification item bound for one URL."""

    subscription_id: str
    url: str
    item: dict[str, Any]
    kind: Literal["notification", "lifecycle"] = "notification"
    # The plaintext of the item's encryptedContent, kept for the delivery log's decrypted view.
    decrypted: dict[str, Any] | None = None
    # The subscribing application: a rich item needs a validation token for its app + tenant pair.
    app_id: str | None = None


@dataclass
class Pending:
    outgoing: Outgoing
    attempt: int
    first_at: float
    # When this attempt is due in emulated time: a manual clock may have been advanced past it by then, and
    # the backoff counts from when it was due, not from when the advance ended.
    due_at: float


@dataclass
class OutgoingBatch:
    """One POST: what interceptors see and may alter (``dataclasses.replace`` a copy to change it)."""

    url: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    timeout: float
    attempt: int
    items: list[Pending] = field(repr=False)


@dataclass(frozen=True)
class AttemptResult:
    # delivered | failed (non-2xx) | timedOut | refused | error | held (an interceptor keeps it for later)
    outcome: str
    http_status: int | None = None
    latency: float = 0.0
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # added to the delivery log's record

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


Send = Callable[[OutgoingBatch], Awaitable[AttemptResult]]
Interceptor = Callable[[OutgoingBatch, Send], Awaitable[AttemptResult]]


class Endpoint:
    """One notification URL: its queue, its worker and its slow/drop standing."""

    __slots__ = ("penalty_until", "ready", "samples", "state", "task", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready: deque[Pending] = deque()
        self.task: asyncio.Task[None] | None = None
        # (emulated time, over the ack deadline, over the retry deadline) per attempt in the window.
        self.samples: deque[tuple[float, bool, bool]] = deque()
        self.state: Literal["healthy", "slow", "drop"] = "healthy"
        self.penalty_until = 0.0


class Deliverer:
    def __init__(self, scheduler: Scheduler, settings: NotificationSettings, tenant_id: str, *,
                 transport: Transport | None = None, signer: TokenSigner | None = None) -> None:
        self.scheduler = scheduler
        self.clock = scheduler.clock
        self.settings = settings
        self.tenant_id = tenant_id
        # Attached by the runtime (emulator/delivery/attach.py) or by a test; nothing is sent without one.
        self.transport = transport
        self.signer = signer or emulator_signer()
        self.log = DeliveryLog(settings.log_limit)
        self.interceptors: list[Interceptor] = []
        self.endpoints: dict[str, Endpoint] = {}
        # Set by the subscription store: a notification whose subscription is gone is not sent.
        self.is_live: Callable[[str], bool] = lambda _subscription_id: True
        # Set by the subscription store: items of a change still being built (drain waits for them too).
        self.fan_out_pending: Callable[[], bool] = lambda: False
        self._closed = False
        # POSTs in flight per scheme://host:port (the transport's connection cap), taken before a deadline
        # starts: the ack deadline measures the receiver, not the emulator's own queue.
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._pacer = _Pacer(settings.starts_per_tick)
        self._background: set[asyncio.Task[None]] = set()  # interceptors' late sends (Deliverer.background)

    # -- queueing ----------------------------------------------------------------------------------------

    def enqueue(self, outgoing: Outgoing) -> None:
        endpoint = self._endpoint(outgoing.url)
        now = self.clock.time()
        pending = Pending(outgoing, 1, now, now)
        self._review(endpoint)
        if endpoint.state == "drop":
            self._log_unsent([pending], "dropped", "endpoint in drop state (too many responses over the "
                             "retry deadline); notification discarded")
            return
        if endpoint.state == "slow":
            until = endpoint.penalty_until
            pending.due_at = until
            self.scheduler.call_at(until, lambda: self._requeue(endpoint, [pending]), f"delayed {endpoint.url}")
            self._log_unsent([pending], "delayed", "endpoint in slow state; delayed 10 minutes", next_at=until)
            return
        endpoint.ready.append(pending)
        self._kick(endpoint)

    def _endpoint(self, url: str) -> Endpoint:
        endpoint = self.endpoints.get(url)
        if endpoint is None:
            endpoint = self.endpoints[url] = Endpoint(url)
        return endpoint

    def _requeue(self, endpoint: Endpoint, items: list[Pending]) -> None:
        if self._closed:
            return
        endpoint.ready.extend(items)
        self._kick(endpoint)

    def _kick(self, endpoint: Endpoint) -> None:
        if self._closed or (endpoint.task is not None and not endpoint.task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous domain test): it stays queued for the next kick in one
            return
        endpoint.task = loop.create_task(self._work(endpoint), name=f"deliver {endpoint.url}")

    async def _work(self, endpoint: Endpoint) -> None:
        while endpoint.ready and not self._closed:
            batch = self._take(endpoint)
            if batch:
                await self._attempt(endpoint, batch)

    def _take(self, endpoint: Endpoint) -> list[Pending]:
        """The next POST's items: same attempt number as the head, up to the batch limit, live ones only."""
        ready = endpoint.ready
        head_attempt = ready[0].attempt
        batch: list[Pending] = []
        while ready and len(batch) < self.settings.max_batch_items and ready[0].attempt == head_attempt:
            pending = ready.popleft()
            outgoing = pending.outgoing
            if outgoing.kind == "notification" and not self.is_live(outgoing.subscription_id):
                continue
            batch.append(pending)
        return batch

    # -- one POST ----------------------------------------------------------------------------------------

    def _build(self, url: str, items: list[Pending]) -> OutgoingBatch:
        payload: dict[str, Any] = {"value": [p.outgoing.item for p in items]}
        apps = sorted({p.outgoing.app_id or "" for p in items if p.outgoing.decrypted is not None})
        if apps:
            now = None if self.settings.token_time == "real" else self.clock.time()
            payload["validationTokens"] = [self.signer.validation_token(a, self.tenant_id, now) for a in apps]
        attempt = items[0].attempt
        timeout = self.settings.ack_timeout if attempt == 1 else self.settings.retry_timeout
        return OutgoingBatch(url, payload, orjson.dumps(payload), {"Content-Type": JSON}, timeout, attempt, items)

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        slot = self._host_slots.get(key)
        if slot is None:
            slot = self._host_slots[key] = asyncio.Semaphore(self.settings.connections_per_host)
        return slot

    async def _send(self, batch: OutgoingBatch) -> AttemptResult:
        if self.transport is None:
            return AttemptResult("error", error="no HTTP transport attached to the deliverer")
        async with self._host_slot(batch.url):
            return await self._post(self.transport, batch)

    async def _post(self, transport: Transport, batch: OutgoingBatch) -> AttemptResult:
        started = time.perf_counter()
        try:
            response = await transport.post(batch.url, batch.body, batch.headers, batch.timeout)
        except TransportError as exc:
            return AttemptResult(exc.kind, latency=time.perf_counter() - started, error=str(exc))
        latency = time.perf_counter() - started
        if 200 <= response.status < 300:
            return AttemptResult("delivered", response.status, latency)
        return AttemptResult("failed", response.status, latency, f"HTTP {response.status}")

    async def _attempt(self, endpoint: Endpoint, items: list[Pending]) -> None:
        at = min(self.clock.time(), items[0].due_at)
        await self._pacer.turn()  # building (JSON, validation tokens) and starting the POST, a slice at a time
        batch = self._build(endpoint.url, items)
        send: Send = self._send
        for interceptor in reversed(self.interceptors):
            send = _chain(interceptor, send)
        try:
            result = await send(batch)
        except Exception as exc:  # a faulty interceptor must not kill the URL's worker
            log.exception("delivery interceptor failed for %s", endpoint.url)
            result = AttemptResult("error", error=f"interceptor raised {type(exc).__name__}: {exc}")
        if result.ok and result.latency > batch.timeout:  # an interceptor's delay: too late is a failure
            result = replace(result, outcome="timedOut", error=f"answered after {result.latency:.3f} s")
        if result.outcome != "held":
            self._sample(endpoint, at, result, batch.timeout)
        self._record(endpoint, batch, items, at, result)

    def settle(self, batch: OutgoingBatch, result: AttemptResult) -> None:
        """Record a POST an interceptor held and sent later: logged at the emulated now, retried on failure."""
        self._record(self._endpoint(batch.url), batch, batch.items, self.clock.time(), result)

    def background(self, work: Coroutine[Any, Any, None], label: str) -> None:
        """Run an interceptor's late send as a task: ``drain`` waits for it, ``stop`` cancels it."""
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("delivery interceptor's %s failed", label)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous domain test advancing the clock): nothing can be sent
            work.close()
            log.warning("no event loop for the delivery interceptor's %s", label)
            return
        task = loop.create_task(run(), name=label)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _record(self, endpoint: Endpoint, batch: OutgoingBatch, items: list[Pending], at: float,
                result: AttemptResult) -> None:
        next_at: float | None = None
        status = result.outcome
        if not result.ok and status != "held":
            next_at = self._schedule_retry(endpoint, items, at)
            if next_at is None:
                status = "discarded"
        self.log.add(
            kind=_kind(items), url=endpoint.url, subscription_ids=_subscription_ids(items), attempt=batch.attempt,
            at=at, status=status, payload=batch.payload, decrypted=_decrypted(items),
            http_status=result.http_status, latency_ms=result.latency * 1000.0, next_retry_at=next_at,
            error=result.error if status != "discarded" else f"{result.error}; retries exhausted after "
            f"{self.settings.retry_window_seconds / 3600:g} h, notification discarded",
            extra={"outcome": result.outcome, **result.extra})

    def _schedule_retry(self, endpoint: Endpoint, items: list[Pending], at: float) -> float | None:
        attempt = items[0].attempt
        delay = min(self.settings.retry_base_seconds * 2.0 ** (attempt - 1), self.settings.retry_max_interval_seconds)
        next_at = at + delay
        window = self.settings.retry_window_seconds
        expired = [p for p in items if next_at - p.first_at > window]
        if len(expired) == len(items):
            return None
        if expired:  # items batched together may have started at different times; each has its own 4 hours
            self._log_unsent(expired, "discarded", f"retries exhausted after {window / 3600:g} h")
        retried = [Pending(p.outgoing, attempt + 1, p.first_at, next_at) for p in items
                   if next_at - p.first_at <= window]
        self.scheduler.call_at(next_at, lambda: self._requeue(endpoint, retried), f"retry {endpoint.url}")
        return next_at

    def _log_unsent(self, items: list[Pending], status: str, error: str, next_at: float | None = None) -> None:
        self.log.add(kind=_kind(items), url=items[0].outgoing.url, subscription_ids=_subscription_ids(items),
                     attempt=items[0].attempt, at=self.clock.time(), status=status,
                     payload={"value": [p.outgoing.item for p in items]}, decrypted=_decrypted(items),
                     next_retry_at=next_at, error=error)

    # -- slow and drop -----------------------------------------------------------------------------------

    def _sample(self, endpoint: Endpoint, at: float, result: AttemptResult, timeout: float) -> None:
        timed_out = result.outcome == "timedOut"
        over_ack = result.latency > self.settings.ack_timeout or timed_out
        over_retry = result.latency > self.settings.retry_timeout or (
            timed_out and timeout >= self.settings.retry_timeout)
        samples = endpoint.samples
        samples.append((at, over_ack, over_retry))
        horizon = at - self.settings.endpoint_window_seconds
        while samples and samples[0][0] < horizon:
            samples.popleft()
        if endpoint.state == "drop" or len(samples) < self.settings.endpoint_min_samples:
            return
        total = len(samples)
        if sum(s[2] for s in samples) / total > self.settings.drop_fraction:
            endpoint.state = "drop"
        elif endpoint.state == "healthy" and sum(s[1] for s in samples) / total > self.settings.slow_fraction:
            endpoint.state = "slow"
        else:
            return
        endpoint.penalty_until = at + self.settings.endpoint_penalty_seconds
        log.info("endpoint %s is now %s until %s", endpoint.url, endpoint.state, endpoint.penalty_until)

    def _review(self, endpoint: Endpoint) -> None:
        """After its 10 minutes, a throttled endpoint is judged afresh (drop: probed with what comes next)."""
        if endpoint.state != "healthy" and self.clock.time() >= endpoint.penalty_until:
            endpoint.state = "healthy"
            endpoint.samples.clear()

    # -- validation handshake ----------------------------------------------------------------------------

    async def validate(self, url: str, subscription_id: str | None = None) -> None:
        """``POST {url}?validationToken=…``; raises ``ValidationFailed`` unless the decoded token is echoed
        as text/plain with 200 within the deadline."""
        token = VALIDATION_PREFIX + str(uuid.uuid4())
        parts = urlsplit(url)
        query = (parts.query + "&" if parts.query else "") + "validationToken=" + quote(token, safe="")
        target = urlunsplit(parts._replace(query=query))
        at = self.clock.time()
        started = time.perf_counter()
        problem: str | None = None
        http_status: int | None = None
        outcome = "delivered"
        if self.transport is None:
            outcome, problem = "error", "no HTTP transport attached to the deliverer"
        else:
            try:
                response = await self.transport.post(
                    target, b"", {"Content-Type": "text/plain; charset=utf-8"}, self.settings.validation_timeout)
            except TransportError as exc:
                outcome, problem = exc.kind, str(exc)
            else:
                http_status = response.status
                problem = _validation_problem(response, token)
                outcome = "invalidResponse" if problem else "delivered"
        self.log.add(kind="validation", url=url, subscription_ids=[subscription_id] if subscription_id else [],
                     attempt=1, at=at, status=outcome, payload={"validationToken": token},
                     http_status=http_status, latency_ms=(time.perf_counter() - started) * 1000.0, error=problem)
        if outcome == "timedOut":
            raise ValidationFailed(f"Subscription validation request timed out: {url} did not answer within "
                                   f"{self.settings.validation_timeout:g} seconds.")
        if problem is not None:
            raise ValidationFailed(f"Subscription validation request failed. {problem}")

    # -- waiting and shutting down -----------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until nothing is queued or in flight (scheduled retries are not waited for)."""
        while True:
            await asyncio.sleep(0)  # let fan-outs scheduled with call_soon enqueue first
            tasks = [e.task for e in self.endpoints.values() if e.task is not None and not e.task.done()]
            tasks += [task for task in self._background if not task.done()]
            if tasks:
                await asyncio.wait(tasks)
            elif not self.fan_out_pending():
                return

    def stop(self) -> list[asyncio.Task[None]]:
        """Stop every worker now (after a reset the old tenant's deliveries stop with it)."""
        self._closed = True
        tasks = [e.task for e in self.endpoints.values() if e.task is not None and not e.task.done()]
        tasks += [task for task in self._background if not task.done()]
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self) -> None:
        for task in self.stop():
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Pacer:
    """Lets at most ``per_tick`` POSTs be built and started per event-loop iteration, the rest in order in the
    next ones.

    Building a POST (JSON, validation tokens) and starting it (headers, connection, write) is CPU the loop
    spends without yielding; 1,000 URLs due at
    once would otherwise start in one iteration and hold every API request (and every receiver's response)
    up for its whole length. Between slices the loop polls its sockets."""

    def __init__(self, per_tick: int) -> None:
        self.per_tick = max(1, per_tick)
        self.started = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.reset_pending = False

    async def turn(self) -> None:
        if self.started < self.per_tick and not self.waiters:
            self.started += 1
            self._schedule_reset()
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        self._schedule_reset()
        await waiter

    def _schedule_reset(self) -> None:
        if not self.reset_pending:
            self.reset_pending = True
            asyncio.get_running_loop().call_soon(self._next_tick)

    def _next_tick(self) -> None:
        self.reset_pending = False
        self.started = 0
        while self.waiters and self.started < self.per_tick:
            waiter = self.waiters.popleft()
            if not waiter.done():  # a cancelled worker's turn is skipped
                waiter.set_result(None)
                self.started += 1
        if self.started:
            self._schedule_reset()


def _validation_problem(response: TransportResponse, token: str) -> str | None:
    if response.status != 200:
        return f"Notification endpoint must respond with 200 OK to validation request (got {response.status})."
    if response.content_type.split(";", 1)[0].strip().lower() != "text/plain":
        return (f"The validation response must have Content-Type text/plain "
                f"(got '{response.content_type or 'none'}').")
    if response.text != token:
        return "Response must exactly match validationToken query parameter."
    return None


def _chain(interceptor: Interceptor, send: Send) -> Send:
    async def call(batch: OutgoingBatch) -> AttemptResult:
        return await interceptor(batch, send)
    return call


def _kind(items: list[Pending]) -> str:
    return "lifecycle" if all(p.outgoing.kind == "lifecycle" for p in items) else "notification"


def _subscription_ids(items: list[Pending]) -> list[str]:
    return list(dict.fromkeys(p.outgoing.subscription_id for p in items))


def _decrypted(items: list[Pending]) -> list[Any] | None:
    if all(p.outgoing.decrypted is None for p in items):
        return None
    return [p.outgoing.decrypted for p in items]
