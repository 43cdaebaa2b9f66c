"""Delivery fault rules (``target: delivery``) as an interceptor of the deliverer's POSTs.

``Deliverer.interceptors`` calls ``await interceptor(batch, send)`` once per POST to one notification URL
(emulator/delivery/deliverer.py). This one asks the tenant's fault rules about each notification in the POST,
on its first attempt only (a rule counts notifications, not retries), and applies what fires:

- ``duplicate: N``: the POST is sent N more times after the first; the first answer is what counts.
- ``delay``: the POST waits that long on the emulated clock (an entry on the scheduler, never a sleep), then
  goes out. The URL's later notifications queue behind it, as they do behind any POST in flight.
- ``outOfOrder``: the POST is held back, and the delivery log records it as ``held`` with its release
  condition. It goes out right after the URL's next POST has been sent, so the receiver sees the two in
  swapped order; if no other POST comes to the URL within ``holdFor`` (default PT1M, emulated: an entry on the
  scheduler), it goes out then, on its own. Once sent, its real outcome is logged as a record of its own (and
  a failure is retried like any POST), and the ``held`` record turns ``released``. One POST per URL is held
  at a time: while one waits, another ``outOfOrder`` POST to that URL goes out as usual and releases it. A
  POST released by its hold's end is sent beside the URL's worker, whose next POST waits for it to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.clock import TimerHandle, format_graph_datetime
from emulator.delivery.deliverer import AttemptResult, OutgoingBatch, Send

if TYPE_CHECKING:
    from emulator.tenant import Tenant

Interceptor = Callable[[OutgoingBatch, Send], Awaitable[AttemptResult]]
DEFAULT_HOLD_FOR = 60.0  # emulated seconds an out-of-order POST waits for the URL's next one (holdFor: PT1M)


@dataclass
class _Held:
    batch: OutgoingBatch
    send: Send  # the rest of the chain, as it was when the POST was held
    since: float
    timer: TimerHandle | None = None


def fault_interceptor(tenant: Tenant) -> Interceptor:
    """An interceptor for ``tenant.delivery.interceptors`` that carries out its delivery fault rules."""
    held: dict[str, _Held] = {}  # url -> the POST waiting for the next one to that URL
    # url -> an expired hold's POST in flight outside the URL's worker: the worker's next POST waits for it,
    # so the URL still has one POST in flight at a time.
    releasing: dict[str, asyncio.Future[None]] = {}

    async def release(entry: _Held, reason: str) -> Callable[[], None]:
        """Send the held POST; what it returns records the outcome (the caller says when: the log keeps the
        order in which the POSTs went out)."""
        result = await entry.send(entry.batch)
        now = tenant.clock.time()

        def record() -> None:
            for logged in tenant.delivery.log.query(url=entry.batch.url, status="held"):
                if logged.payload is entry.batch.payload:
                    logged.status = "released"
                    logged.extra["releasedDateTime"] = format_graph_datetime(now)
            tenant.delivery.settle(entry.batch, AttemptResult(
                result.outcome, result.http_status, result.latency, result.error,
                {**result.extra, "releasedBy": reason, "heldSince": format_graph_datetime(entry.since)}))
        return record

    async def expire_later(entry: _Held) -> None:
        url = entry.batch.url
        done = releasing[url] = asyncio.get_running_loop().create_future()
        try:
            (await release(entry, "holdExpired"))()
        finally:
            del releasing[url]
            done.set_result(None)

    def expire(url: str, entry: _Held) -> None:
        if held.get(url) is entry:
            del held[url]
            tenant.delivery.background(expire_later(entry), f"release held POST to {url}")

    async def intercept(batch: OutgoingBatch, send: Send) -> AttemptResult:
        duplicate, delay, out_of_order, hold_for = 0, 0.0, False, DEFAULT_HOLD_FOR
        faults = tenant.gate.faults
        if faults.has_delivery_rules and batch.attempt <= 1:
            for pending in batch.items:
                outgoing = pending.outgoing
                item = outgoing.item
                verdict = faults.for_delivery(
                    subscription_id=outgoing.subscription_id, resource=str(item.get("resource") or ""),
                    notification_url=batch.url,
                    change_type=str(item.get("lifecycleEvent") or item.get("changeType") or ""),
                    now=tenant.clock.time())
                if verdict is not None:
                    duplicate = max(duplicate, verdict.duplicate)
                    delay = max(delay, verdict.delay)
                    if verdict.out_of_order:
                        hold_for = verdict.hold_for if not out_of_order else min(hold_for, verdict.hold_for)
                        out_of_order = True
        if delay > 0:
            due: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake() -> None:
                if not due.done():
                    due.set_result(None)
            tenant.scheduler.call_later(delay, wake, "delivery fault delay")
            await due
        busy = releasing.get(batch.url)
        if busy is not None:
            await busy
        if out_of_order and batch.url not in held:
            now = tenant.clock.time()
            entry = held[batch.url] = _Held(batch, send, now)
            entry.timer = tenant.scheduler.call_later(hold_for, expire, "outOfOrder hold for {0}", batch.url, entry)
            until = format_graph_datetime(now + hold_for)
            return AttemptResult("held", extra={
                "releaseCondition": f"after the next POST to this URL, or at {until} if none comes",
                "holdUntil": until})
        result = await send(batch)
        for _ in range(duplicate):
            await send(batch)
        late = held.pop(batch.url, None)
        if late is not None:
            if late.timer is not None:
                late.timer.cancel()
            # Recorded once the deliverer has recorded this POST, which went out first.
            asyncio.get_running_loop().call_soon(await release(late, "nextPost"))
        return result

    return intercept
