"""Scenario files as read, before any parsing: a name for error messages and the bytes.

The loader parses what this reads, and the compiled-scenario cache keys on the same bytes, so that what is
validated is exactly what is cached; neither needs PyYAML or pydantic here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from emulator.scenarios.errors import ScenarioError

DEFAULT_SOURCE = "scenarios/default.yaml"


@dataclass(frozen=True)
class ScenarioSource:
    """One file's name (as given: it names the file in error messages) and its bytes (None: unreadable)."""

    name: str
    data: bytes | None
    problem: str | None = None

    def text(self) -> str:
        """The text as ``open(path, encoding="utf-8")`` reads it (universal newlines); a file that cannot
        be read or decoded is a ``ScenarioError``."""
        if self.data is None:
            raise ScenarioError([f"{self.name}:1:1: cannot read the file: {self.problem}"])
        try:
            return io.TextIOWrapper(io.BytesIO(self.data), encoding="utf-8").read()
        except UnicodeDecodeError as exc:
            raise ScenarioError([f"{self.name}:1:1: cannot read the file: {exc}"]) from None


def read_source(path: str | Path) -> ScenarioSource:
    try:
        return ScenarioSource(str(path), Path(path).read_bytes())
    except OSError as exc:
        return ScenarioSource(str(path), None, str(exc))


def default_source() -> ScenarioSource:
    """The small office day that ``serve`` plays when given no ``--scenario`` (shipped in the package)."""
    # Beside this module (a wheel installs it there); importlib.resources would add 2-3 ms of imports.
    return ScenarioSource(DEFAULT_SOURCE, Path(__file__).with_name("default.yaml").read_bytes())
