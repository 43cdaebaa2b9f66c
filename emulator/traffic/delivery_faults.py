"""Delivery fault rules (``target: delivery``) as an interceptor of the deliverer's POSTs.

``Deliverer.interceptors`` calls ``await interceptor(batch, send)`` once per POST to one notification URL
(emulator/delivery/deliverer.py). This one asks the tenant's fault rules about each notification in the POST,
on its first attempt only (a rule counts notifications, not retries), and applies what fires:

- ``duplicate: N``: the POST is sent N more times after the first; the first answer is what counts.
- ``delay``: the POST waits that long on the emulated clock (an entry on the scheduler, never a sleep), then
  goes out. The URL's later notifications queue behind it, as they do behind any POST in flight.
- ``outOfOrder``: the POST is held back and reported delivered; it goes out right after the URL's next POST
  has been sent, so the receiver sees the two in swapped order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from emulator.delivery.deliverer import AttemptResult, OutgoingBatch, Send

if TYPE_CHECKING:
    from emulator.tenant import Tenant

Interceptor = Callable[[OutgoingBatch, Send], Awaitable[AttemptResult]]


def fault_interceptor(tenant: Tenant) -> Interceptor:
    """An interceptor for ``tenant.delivery.interceptors`` that carries out its delivery fault rules."""
    held: dict[str, list[OutgoingBatch]] = {}  # url -> POSTs waiting for the next one to that URL

    async def intercept(batch: OutgoingBatch, send: Send) -> AttemptResult:
        duplicate, delay, out_of_order = 0, 0.0, False
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
                    out_of_order = out_of_order or verdict.out_of_order
        if delay > 0:
            due: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake() -> None:
                if not due.done():
                    due.set_result(None)
            tenant.scheduler.call_later(delay, wake, "delivery fault delay")
            await due
        if out_of_order and not held.get(batch.url):
            held.setdefault(batch.url, []).append(batch)
            return AttemptResult("delivered", latency=0.0)
        result = await send(batch)
        for _ in range(duplicate):
            await send(batch)
        for late in held.pop(batch.url, []):
            await send(late)
        return result

    return intercept
