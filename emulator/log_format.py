"""Log output for ``serve``: readable text for a terminal, or one JSON object a line for a log collector."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

LogFormat = Literal["text", "json"]
# Fields an access-log record carries beside its message; the JSON form writes them as keys.
ACCESS_FIELDS = ("method", "path", "status", "durationMs", "requestId", "remote")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class AccessLogger(AbstractAccessLogger):
    """One line per request, with its Graph request-id, so a client's error can be matched to the server's."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        fields = {
            "method": request.method,
            "path": request.path_qs,
            "status": response.status,
            "durationMs": round(time * 1000, 2),
            "requestId": response.headers.get("request-id"),
            "remote": request.remote,
        }
        self.logger.info("%s %s %s %.1fms", request.method, request.path_qs, response.status, time * 1000,
                         extra=fields)


def configure(log_format: LogFormat) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
