"""Scenarios: users' presence timelines in YAML, played on the tenant's clock (docs/scenarios.md).

The public interface: ``load_scenarios`` and ``parse_scenario`` read and validate files (raising
``ScenarioError`` with file:line:column messages), ``default_scenario`` is the office day ``serve`` plays
without ``--scenario``, and ``use_scenario`` puts one on a running emulator.
"""

from emulator.scenarios.install import default_scenario, use_scenario
from emulator.scenarios.loader import ScenarioError, load_scenarios, parse_scenario
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
