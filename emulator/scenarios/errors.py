"""The one error of the scenarios feature, in a module of its own so that catching it imports neither PyYAML
nor pydantic (``serve`` catches it before it knows whether its scenario comes from the cache)."""

from __future__ import annotations

from collections.abc import Sequence


class ScenarioError(Exception):
    """One or more problems in scenario files; ``str()`` gives them one per line, each with file:line:col."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
