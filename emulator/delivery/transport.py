"""The one HTTP client of the emulator: POSTs to notification URLs with real-second deadlines."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from emulator.delivery.deliverer import TransportError, TransportResponse

MAX_RESPONSE_BYTES = 64 * 1024
# Idle connections to a receiver are kept this long (real seconds), so a burst reuses the last one's.
KEEPALIVE_SECONDS = 30.0


class HttpTransport:
    """An aiohttp session shared by every delivery, created on first use inside the running loop.

    No overall connection cap, only one per host:port, so never-answering receivers (each holding at most one
    connection per URL until its deadline) cannot starve a healthy receiver of connections. The deliverer
    keeps its POSTs within that per-host cap before their deadline starts, so none waits in aiohttp's pool
    with its deadline running. TLS certificates are not verified: receivers under test use self-signed ones."""

    def __init__(self, connections_per_host: int = 64) -> None:
        self.connections_per_host = connections_per_host
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.connections_per_host, ssl=False,
                                             keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  skip_auto_headers=("User-Agent",))
        return self._session

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> TransportResponse:
        try:
            async with self._client().post(url, data=body, headers=dict(headers), allow_redirects=False,
                                           timeout=self._timeout(timeout)) as response:
                raw = await response.content.read(MAX_RESPONSE_BYTES)
                return TransportResponse(response.status, response.headers.get("Content-Type", ""),
                                         raw.decode("utf-8", "replace"))
        except TimeoutError:
            raise TransportError("timedOut", f"no response within {timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError("refused", str(exc)) from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise TransportError("error", f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
