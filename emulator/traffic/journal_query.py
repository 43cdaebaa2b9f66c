"""The filters of ``GET /_emulator/requests``, as a pydantic model: imported by the first read that filters,
not at ``serve``'s start (see ``emulator/graph/bodies.py``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from emulator.traffic.paths import path_regex

_STATUS = re.compile(r"^([1-5])(?:xx|XX)$|^(\d{3}|0)$")


class JournalQuery(BaseModel):
    """The filters of ``GET /_emulator/requests`` (and of its ``har`` and ``summary`` views)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)  # built at first use, not at serve's start

    path: str | None = Field(default=None, description="A substring of the path, or a glob when it has * ? [")
    method: str | None = Field(default=None, description="GET, or several: GET,POST")
    status: str | None = Field(default=None, description="429, 4xx, or several: 429,503; 0 is a dropped one")
    since: datetime | None = Field(default=None, description="Emulated time, inclusive")
    until: datetime | None = Field(default=None, description="Emulated time, exclusive")
    application_id: str | None = None
    fault: str | None = Field(default=None, description="A fault rule id, or * for any")
    early_retry: bool | None = None
    throttled: bool | None = None
    limit: int | None = Field(default=None, ge=1, description="Only the most recent N that match")

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        for part in (value or "").split(","):
            if value is not None and not _STATUS.match(part.strip()):
                raise ValueError(f"'{part}' is not a status: use 429, 4xx or a list such as 429,503")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and _is_glob(value):
            path_regex(value)
        return value

    def predicate(self, default_app_id: str) -> Any:
        """A function of one entry that says whether it matches every filter given."""
        tests: list[Any] = []
        if self.path is not None:
            if _is_glob(self.path):
                pattern = re.compile(path_regex(self.path), re.IGNORECASE | re.DOTALL)
                tests.append(lambda e: pattern.fullmatch(e.path) is not None)
            else:
                needle = self.path.lower()
                tests.append(lambda e: needle in e.path.lower())
        if self.method is not None:
            methods = {m.strip().upper() for m in self.method.split(",") if m.strip()}
            tests.append(lambda e: e.method in methods)
        if self.status is not None:
            exact: set[int] = set()
            classes: set[int] = set()
            for part in self.status.split(","):
                match = _STATUS.match(part.strip())
                assert match is not None
                if match.group(1):
                    classes.add(int(match.group(1)))
                else:
                    exact.add(int(match.group(2)))
            tests.append(lambda e: e.status in exact or e.status // 100 in classes)
        if self.since is not None:
            since = self.since.timestamp()
            tests.append(lambda e: e.at >= since)
        if self.until is not None:
            until = self.until.timestamp()
            tests.append(lambda e: e.at < until)
        if self.application_id is not None:
            app = self.application_id.lower()
            tests.append(lambda e: e.caller(default_app_id)[0].lower() == app)
        if self.fault is not None:
            wanted = self.fault
            tests.append(lambda e: e.fault() is not None and (wanted == "*" or e.fault() == wanted))
        if self.early_retry is not None:
            flag = self.early_retry
            tests.append(lambda e: e.early_retry() == flag)
        if self.throttled is not None:
            throttled = self.throttled
            tests.append(lambda e: e.throttled() == throttled)
        return lambda entry: all(test(entry) for test in tests)


def _is_glob(text: str) -> bool:
    return text.startswith("re:") or any(c in text for c in "*?[")
