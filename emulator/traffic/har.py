"""The journal as an HTTP Archive (HAR 1.2), for browser dev tools, Fiddler, Charles or a HAR diff.

``startedDateTime`` and ``time`` are real (what the network saw); the emulated time, the fault rule and the
early-retry flag ride along in underscore-prefixed fields, which HAR 1.2 allows for custom data.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from emulator import __version__
from emulator.clock import format_graph_datetime, to_datetime
from emulator.traffic.journal import Journal, JournalEntry, headers_list


def _iso(ts: float) -> str:
    return to_datetime(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _mime(headers: Any) -> str:
    value = headers.get("Content-Type")
    return str(value) if value else ""


def har_entry(journal: Journal, entry: JournalEntry) -> dict[str, Any]:
    host = entry.request_headers.get("Host", "localhost")
    url = f"{entry.scheme}://{host}{entry.path}" + (f"?{entry.query}" if entry.query else "")
    request_text, _ = journal.body_text(entry.request_body, entry.request_size)
    response_text, _ = journal.body_text(entry.response_body, entry.response_size)
    request: dict[str, Any] = {
        "method": entry.method,
        "url": url,
        "httpVersion": entry.version,
        "cookies": [],
        "headers": headers_list(entry.request_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(entry.query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": entry.request_size,
    }
    if request_text is not None:
        request["postData"] = {"mimeType": _mime(entry.request_headers), "text": request_text}
    content: dict[str, Any] = {"size": entry.response_size, "mimeType": _mime(entry.response_headers)}
    if response_text is not None:
        content["text"] = response_text
    milliseconds = round(entry.latency * 1000, 3)
    screening = entry.screening
    app_id, user_id = entry.caller(journal.default_app_id)
    har: dict[str, Any] = {
        "startedDateTime": _iso(entry.real_at),
        "time": milliseconds,
        "request": request,
        "response": {
            "status": entry.status,
            "statusText": "" if entry.dropped else _reason(entry.status),
            "httpVersion": entry.version,
            "cookies": [],
            "headers": [] if entry.dropped else headers_list(entry.response_headers),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1 if entry.dropped else entry.response_size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0},
        "_id": entry.id,
        "_emulatedDateTime": format_graph_datetime(entry.at),
        "_applicationId": app_id,
        "_userId": user_id,
    }
    if screening is not None:
        har["_fault"] = screening.rule_id
        har["_throttled"] = screening.throttled
        har["_earlyRetry"] = screening.early_retry.describe() if screening.early_retry else None
    if entry.dropped:
        har["_error"] = "connection dropped without a response (fault)"
    return har


def har_log(journal: Journal, entries: list[JournalEntry]) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "graph-presence-emulator", "version": __version__},
            "pages": [],
            "entries": [har_entry(journal, e) for e in entries],
        }
    }
