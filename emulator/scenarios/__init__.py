"""Scenarios: users' presence timelines in YAML, played on the tenant's clock (docs/scenarios.md).

The public interface: ``load_scenarios`` and ``parse_scenario`` read and validate files (raising
``ScenarioError`` with file:line:column messages), ``default_scenario`` is the office day ``serve`` plays
without ``--scenario``, and ``use_scenario`` puts one on a running emulator.

Each name is imported on first use: the tenant imports ``emulator.scenarios.timeline`` (and so this package)
at every start, while reading files needs PyYAML and the pydantic models, which a start served from the
compiled-scenario cache (``emulator/scenarios/cache.py``) does without.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.scenarios.errors import ScenarioError
    from emulator.scenarios.install import default_scenario, use_scenario
    from emulator.scenarios.loader import load_scenarios, parse_scenario
    from emulator.scenarios.model import json_schema
    from emulator.scenarios.timeline import Scenario, ScenarioTimeline

__all__ = [
    "Scenario",
    "ScenarioError",
    "ScenarioTimeline",
    "default_scenario",
    "json_schema",
    "load_scenarios",
    "parse_scenario",
    "use_scenario",
]

_HOMES = {
    "Scenario": "timeline",
    "ScenarioError": "errors",
    "ScenarioTimeline": "timeline",
    "default_scenario": "install",
    "json_schema": "model",
    "load_scenarios": "loader",
    "parse_scenario": "loader",
    "use_scenario": "install",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'emulator.scenarios' has no attribute {name!r}")
    return getattr(importlib.import_module(f"emulator.scenarios.{home}"), name)
