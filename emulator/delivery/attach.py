"""Gives each tenant's deliverer the runtime's one HTTP transport, and stops the old one's on reset."""

from __future__ import annotations

from emulator.delivery.deliverer import Deliverer
from emulator.delivery.transport import HttpTransport
from emulator.tenant import Tenant


class TransportAttachment:
    """A ``runtime.install`` hook: ``runtime.install(attachment)``; ``await attachment.close()`` at shutdown."""

    def __init__(self) -> None:
        self.transport: HttpTransport | None = None
        self._current: Deliverer | None = None

    def __call__(self, tenant: Tenant) -> None:
        if self._current is not None:
            self._current.stop()
        if self.transport is None:
            self.transport = HttpTransport(tenant.settings.notifications.connections_per_host)
        tenant.delivery.transport = self.transport
        self._current = tenant.delivery

    async def close(self) -> None:
        if self._current is not None:
            await self._current.close()
        if self.transport is not None:
            await self.transport.close()
