"""The request journal: every Graph request with its response, in a bounded ring.

Recording is on the hot path, so it keeps one flat tuple per request, of what aiohttp already parsed (the
method, path, raw target, body bytes) and the request headers joined into one bytes object; ``JournalEntry``
and the JSON, HAR and summary views are built only when the journal is read.

What is recorded: every request to the Graph surface (anything outside ``/_emulator/``). Control-plane
requests are not, so a harness that polls ``/_emulator/requests`` or ``/_emulator/health`` cannot flood the
ring; with ``recordControlPlane`` on, control-plane *writes* (POST, PUT, PATCH, DELETE: a clock advance, a
fault added) are recorded too, which places them among the requests they affected. Reads never are.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator.clock import format_graph_datetime
from emulator.graph.auth import caller_from_authorization
from emulator.traffic.gate import Screening

if TYPE_CHECKING:  # pydantic: imported by the first filtered read, not at every start
    from emulator.traffic.journal_query import JournalQuery

DEFAULT_CAPACITY = 1000
DEFAULT_MAX_BODY = 16 * 1024
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """``GET``/``POST /_emulator/requests/settings``; ``serve --journal-size N`` sets the capacity. A plain
    value: the HTTP body is validated by ``control/bodies.py``'s ``JournalSettingsBody``."""

    capacity: int = DEFAULT_CAPACITY  # 0 turns the journal off
    max_body_bytes: int = DEFAULT_MAX_BODY
    record_control_plane: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "maxBodyBytes": self.max_body_bytes,
                "recordControlPlane": self.record_control_plane}


DEFAULT_JOURNAL = JournalSettings()


# Headers are kept as bytes and tuples of strings: no mapping for the garbage collector to track, and as few
# objects as can be, since every object a full ring keeps alive makes the allocator's work colder.
# The request's headers as aiohttp parsed them (``request.raw_headers``): kept by reference, so recording
# allocates nothing for them; decoded only when the journal is read.
RawHeaders = tuple[tuple[bytes, bytes], ...]


class HeaderList(list[tuple[str, str]]):
    """Headers as read back: ordered pairs, looked up case-insensitively."""

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self if key.lower() == wanted), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self)


# One recorded request, as the tuple the hot path stores: cheaper to make than any object.
Record = tuple[
    float, float, str, str, str, Any, str,  # at, real_at, method, path, raw target, HTTP version, scheme
    RawHeaders, bytes | None, int,  # request headers as parsed, body (cut to the limit), full size
    # status (0: dropped), the response's headers (by reference: aiohttp adds its own as it sends them),
    # body (cut to the limit), full size
    int, Mapping[str, str], bytes | None, int,
    float, Screening | None, bool,  # latency, what the gate decided, dropped
]
# An entry's id is not stored: the ring holds consecutive ids, the newest being ``Journal.recorded()``.


class JournalEntry:
    """One request and its response, unpacked from its ``Record`` when the journal is read."""

    __slots__ = ("at", "dropped", "id", "latency", "method", "path", "query", "real_at", "request_body",
                 "request_headers", "request_size", "response_body", "response_headers", "response_size",
                 "scheme", "screening", "status", "version")

    def __init__(self, entry_id: int, record: Record) -> None:
        self.id = entry_id
        (self.at, self.real_at, self.method, self.path, target, version, self.scheme,
         raw_request_headers, self.request_body, self.request_size,
         self.status, response_headers, self.response_body, self.response_size,
         self.latency, self.screening, self.dropped) = record
        self.query = target.partition("?")[2]  # as sent (percent-encoded): reading request.query_string costs
        self.version = version if isinstance(version, str) else f"HTTP/{version[0]}.{version[1]}"
        self.request_headers = HeaderList(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in raw_request_headers if name)
        self.response_headers = HeaderList(response_headers.items())
        if not self.dropped and self.response_headers.get("Content-Length") is None:
            self.response_headers.append(("Content-Length", str(self.response_size)))

    def caller(self, default_app_id: str) -> tuple[str, str | None]:
        """The application and user the request's token named."""
        caller = caller_from_authorization(self.request_headers.get("Authorization"))
        return caller.app_id or default_app_id, caller.user_id

    def early_retry(self) -> bool:
        return self.screening is not None and self.screening.early_retry is not None

    def fault(self) -> str | None:
        return self.screening.rule_id if self.screening is not None else None

    def throttled(self) -> bool:
        return self.screening is not None and self.screening.throttled


class Journal:
    """A bounded ring of ``JournalEntry``; also the ledger of early and honoured retries for the summary."""

    def __init__(self, settings: JournalSettings | None = None, *, default_app_id: str) -> None:
        self.default_app_id = default_app_id
        self.settings = settings or JournalSettings()
        self.enabled = self.settings.capacity > 0
        self.record_control_plane = self.settings.record_control_plane
        self.max_body = self.settings.max_body_bytes
        self._entries: deque[Record] = deque(maxlen=max(1, self.settings.capacity))
        self._next_id = 1
        self._early: Counter[str] = Counter()
        self._honoured: Counter[str] = Counter()

    def configure(self, settings: JournalSettings) -> None:
        """New settings; entries beyond a smaller capacity go, oldest first."""
        self.settings = settings
        self.enabled = settings.capacity > 0
        self.record_control_plane = settings.record_control_plane
        self.max_body = settings.max_body_bytes
        self._entries = deque(self._entries, maxlen=max(1, settings.capacity))
        if not self.enabled:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, record: Record) -> None:
        """Keep one request (see ``Record``) under the next id; a full ring lets its oldest go."""
        self._entries.append(record)
        self._next_id += 1

    def clear(self) -> None:
        """Drop every entry and the retry counts (entry ids keep counting up, so none is reused)."""
        self._entries.clear()
        self._early.clear()
        self._honoured.clear()

    def note_early_retry(self, app_id: str) -> None:
        self._early[app_id] += 1

    def note_honoured_retry(self, app_id: str) -> None:
        self._honoured[app_id] += 1

    def entries(self, query: JournalQuery | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; with ``limit``, the most recent ones."""
        first = self._next_id - len(self._entries)
        items: Iterable[JournalEntry] = [JournalEntry(first + n, record) for n, record in enumerate(self._entries)]
        if query is not None:
            keep = query.predicate(self.default_app_id)
            items = [e for e in items if keep(e)]
            if query.limit is not None:
                return list(items)[-query.limit:]
        return list(items)

    @property
    def recorded(self) -> int:
        """Entries recorded since the start (ids handed out)."""
        return self._next_id - 1

    # -- views, built on read ------------------------------------------------------------------------------

    @staticmethod
    def body_text(body: bytes | None, size: int) -> tuple[str | None, bool]:
        """A stored body as text, and whether it was cut short."""
        if not body:
            return None, size > 0
        return body.decode("utf-8", "replace"), size > len(body)

    def describe(self, entry: JournalEntry) -> dict[str, Any]:
        app_id, user_id = entry.caller(self.default_app_id)
        request_body, request_truncated = self.body_text(entry.request_body, entry.request_size)
        response_body, response_truncated = self.body_text(entry.response_body, entry.response_size)
        screening = entry.screening
        response_headers = headers_dict(entry.response_headers)
        return {
            "id": entry.id,
            "dateTime": format_graph_datetime(entry.at),
            "realDateTime": format_graph_datetime(entry.real_at),
            "method": entry.method,
            "path": entry.path,
            "query": entry.query,
            "applicationId": app_id,
            "userId": user_id,
            "status": entry.status,
            "latencyMs": round(entry.latency * 1000, 3),
            "requestId": response_headers.get("request-id"),
            "clientRequestId": response_headers.get("client-request-id"),
            "fault": screening.rule_id if screening else None,
            "throttled": bool(screening and screening.throttled),
            "dropped": entry.dropped,
            "earlyRetry": screening.early_retry.describe() if screening and screening.early_retry else None,
            "requestHeaders": headers_dict(entry.request_headers),
            "requestBody": request_body,
            "requestBodySize": entry.request_size,
            "requestBodyTruncated": request_truncated,
            "responseHeaders": response_headers,
            "responseBody": response_body,
            "responseBodySize": entry.response_size,
            "responseBodyTruncated": response_truncated,
        }

    def summary(self, entries: list[JournalEntry]) -> dict[str, Any]:
        by_status: Counter[str] = Counter()
        by_method: Counter[str] = Counter()
        by_app: Counter[str] = Counter()
        by_fault: Counter[str] = Counter()
        throttled = dropped = 0
        early_ids: list[int] = []
        latencies: list[float] = []
        for entry in entries:
            by_status[str(entry.status)] += 1
            by_method[entry.method] += 1
            by_app[entry.caller(self.default_app_id)[0]] += 1
            fault = entry.fault()
            if fault is not None:
                by_fault[fault] += 1
            throttled += entry.throttled()
            dropped += entry.dropped
            if entry.early_retry():
                early_ids.append(entry.id)
            latencies.append(entry.latency)
        latencies.sort()
        return {
            "total": len(entries),
            "held": len(self._entries),
            "capacity": self.settings.capacity,
            "recorded": self.recorded,
            "byStatus": dict(sorted(by_status.items())),
            "byMethod": dict(sorted(by_method.items())),
            "byApplication": dict(sorted(by_app.items())),
            "byFault": dict(sorted(by_fault.items())),
            "throttled": throttled,
            "dropped": dropped,
            "latencyMs": None if not latencies else {
                "median": round(latencies[len(latencies) // 2] * 1000, 3),
                "p95": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000, 3),
                "max": round(latencies[-1] * 1000, 3),
            },
            # Counted when detected, so entries that left the ring (or a filter) still count here.
            "earlyRetries": {
                "total": sum(self._early.values()),
                "byApplication": dict(sorted(self._early.items())),
                "entries": early_ids,
            },
            "honouredRetries": {
                "total": sum(self._honoured.values()),
                "byApplication": dict(sorted(self._honoured.items())),
            },
        }


def headers_dict(headers: HeaderList) -> dict[str, str]:
    """Headers as one JSON object (repeated ones joined with ', '), Authorization's credentials redacted."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key)  # multidict's case-insensitive istr, which orjson does not take as a key
        if name.lower() == "authorization":
            value = redact(value)
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def headers_list(headers: HeaderList) -> list[dict[str, str]]:
    return [{"name": str(name), "value": redact(value) if name.lower() == "authorization" else value}
            for name, value in headers.items()]


def redact(value: str) -> str:
    scheme, _, credentials = value.partition(" ")
    return f"{scheme} {REDACTED}" if credentials else REDACTED
