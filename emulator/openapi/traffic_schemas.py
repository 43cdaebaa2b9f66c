"""Response bodies of the journal, fault and throttling endpoints, for the OpenAPI document only."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel


class _Open(BaseModel):
    # Entries and rules carry many fields (docs/faults-and-journal.md); the document pins the main ones.
    model_config = ConfigDict(extra="allow")


class JournalEntries(_Open):
    count: int
    value: list[dict[str, Any]]


class HarDocument(_Open):
    log: dict[str, Any]


class JournalSummary(_Open):
    total: int
    held: int
    capacity: int
    recorded: int
    byStatus: dict[str, int]
    byMethod: dict[str, int]
    byApplication: dict[str, int]
    byFault: dict[str, int]
    throttled: int
    dropped: int
    latencyMs: dict[str, float] | None
    earlyRetries: dict[str, Any]
    honouredRetries: dict[str, Any]


class JournalSettingsState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int
    maxBodyBytes: int
    recordControlPlane: bool


class FaultRuleState(_Open):
    id: str
    target: str
    matched: int
    fired: int


class FaultRules(_Open):
    count: int
    value: list[FaultRuleState]


class FaultRulesAdded(RootModel[FaultRuleState | list[FaultRuleState]]):
    pass


class ThrottlingState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    preset: str | None
    limit: int | None
    windowSeconds: float | None
    code: str
    applications: dict[str, int]
    rejected: int
