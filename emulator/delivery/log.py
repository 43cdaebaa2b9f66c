"""Every delivery attempt, as the control plane shows it: filterable, clearable, bounded."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import format_graph_datetime


@dataclass
class DeliveryRecord:
    id: int
    kind: str  # "notification", "lifecycle" or "validation"
    url: str
    subscription_ids: list[str]
    attempt: int
    at: float
    # delivered, failed, timedOut, refused, error, invalidResponse, delayed, dropped, discarded; held (a delivery
    # fault keeps the POST back), released (that held POST went out later: its outcome is a record of its own)
    status: str
    payload: Any
    decrypted: list[Any] | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    next_retry_at: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "subscriptionIds": self.subscription_ids,
            "attempt": self.attempt,
            "dateTime": format_graph_datetime(self.at),
            "status": self.status,
            "httpStatus": self.http_status,
            "latencyMs": None if self.latency_ms is None else round(self.latency_ms, 3),
            "nextRetryDateTime": None if self.next_retry_at is None else format_graph_datetime(self.next_retry_at),
            "error": self.error,
            "payload": self.payload,
            "decrypted": self.decrypted,
        }
        out.update(self.extra)
        return out


class DeliveryLog:
    def __init__(self, limit: int) -> None:
        self._records: deque[DeliveryRecord] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._records)

    def add(self, **fields: Any) -> DeliveryRecord:
        record = DeliveryRecord(id=next(self._ids), **fields)
        self._records.append(record)
        return record

    def clear(self) -> None:
        self._records.clear()

    def query(self, *, subscription_id: str | None = None, url: str | None = None, status: str | None = None,
              kind: str | None = None) -> list[DeliveryRecord]:
        return [
            r for r in self._records
            if (subscription_id is None or subscription_id in r.subscription_ids)
            and (url is None or r.url == url)
            and (status is None or r.status == status)
            and (kind is None or r.kind == kind)
        ]
