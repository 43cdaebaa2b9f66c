"""Control-plane endpoints for scenarios: load or replace one at runtime, and see its timeline."""

from __future__ import annotations

import orjson
from aiohttp import web

from emulator.graph import errors
from emulator.graph.pipeline import Routes, json_response
from emulator.runtime import RUNTIME
from emulator.scenarios.errors import ScenarioError
from emulator.scenarios.install import current_hook, use_scenario

PREFIX = "/_emulator"
DEFAULT_LIMIT = 100


async def load_scenario(request: web.Request) -> web.Response:
    """Load a scenario (YAML or JSON body) in place of the current one. Atomic: a bad one changes nothing.

    ``?clock=manual|real|speed`` and ``?speed=N`` override its clock; without them the overrides given to
    ``serve`` (``--clock``, ``--speed``) still apply. ``?name=office.yaml`` names it in error messages."""
    runtime = request.app[RUNTIME]
    query = request.query
    clock_mode = query.get("clock")
    if clock_mode not in (None, "real", "manual", "speed"):
        raise errors.invalid_argument("The parameter 'clock' must be 'real', 'manual' or 'speed'.")
    speed: float | None = None
    if "speed" in query:
        try:
            speed = float(query["speed"])
        except ValueError:
            speed = 0.0
        if not speed > 0:
            raise errors.invalid_argument("The parameter 'speed' must be a number greater than 0.")
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_scenario(["request:1:1: the body is not UTF-8 text"]) from None
    from emulator.scenarios.loader import parse_scenario  # PyYAML and the models: not needed to start serving

    try:
        scenario = parse_scenario(text, query.get("name", "request"))
    except ScenarioError as exc:
        raise errors.invalid_scenario(exc.problems) from None
    previous = current_hook(runtime)
    if clock_mode is None and speed is None and previous is not None:
        clock_mode, speed = previous.clock_mode, previous.speed
    use_scenario(runtime, scenario, clock_mode=clock_mode, speed=speed)
    tenant = runtime.tenant
    return json_response(orjson.dumps({
        "status": "loaded",
        "scenario": scenario.describe(),
        "clock": tenant.clock.describe(),
    }))


async def get_timeline(request: web.Request) -> web.Response:
    """What the scenario has run and what is still to come, with emulated times (``?limit=N`` of each)."""
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = -1
    if limit < 0:
        raise errors.invalid_argument("The parameter 'limit' must be a whole number, 0 or more.")
    tenant = request.app[RUNTIME].tenant
    return json_response(orjson.dumps(tenant.timeline.describe(limit)))


def add_routes(routes: Routes) -> None:
    routes.add_post(f"{PREFIX}/scenario", load_scenario)
    routes.add_get(f"{PREFIX}/timeline", get_timeline)
