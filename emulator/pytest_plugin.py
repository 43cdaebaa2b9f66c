"""pytest plugin, registered through the ``pytest11`` entry point: installed with the package, nothing to enable.

Fixtures:

- ``graph_emulator``: a fresh emulator per test on 127.0.0.1 and a free port, with a manual clock. In an
  ``async def`` test it is an ``Emulator`` in the test's own event loop (pytest-asyncio / pytest-aiohttp); in a
  plain test it is an ``EmulatorThread`` on a background thread. Both have the same operations.
- ``webhook_receiver``: a subscriber endpoint on 127.0.0.1 that answers the validation handshake, records
  notifications and can be told to fail, stall or answer slowly (``WebhookReceiver`` or its thread form).
- ``graph_emulator_options``: the keyword arguments the emulator is built with; override it in a module or
  conftest, or parametrise ``graph_emulator`` indirectly with a dict, to change them.

Marker: ``@pytest.mark.emulator_scenario("file.yaml", ...)`` loads scenario files (relative to the test file).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from emulator.embedded import Emulator, EmulatorThread
    from emulator.receiver import WebhookReceiver, WebhookReceiverThread

_OPTIONS = pytest.StashKey[dict[str, Any]]()

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # async tests need pytest-asyncio (pytest-aiohttp brings it); sync tests work without it
    _async_fixture = pytest.fixture  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator_scenario(*paths): load these scenario files (relative to the test file) into the "
                   "graph_emulator fixture")


def _is_async(request: pytest.FixtureRequest) -> bool:
    function = getattr(request.node, "function", None)
    return inspect.iscoroutinefunction(function)


def _near_test(request: pytest.FixtureRequest, source: Any) -> Any:
    """A relative scenario path is looked up beside the test file first, then in the working directory."""
    if isinstance(source, str | os.PathLike) and not Path(source).is_absolute():
        beside = Path(request.node.path).parent / source
        if beside.exists():
            return beside
    return source


def _resolve_scenario(request: pytest.FixtureRequest, scenario: Any) -> Any:
    if isinstance(scenario, list | tuple):
        return [_near_test(request, source) for source in scenario]
    return _near_test(request, scenario)


@pytest.fixture
def graph_emulator_options() -> dict[str, Any]:
    """Keyword arguments for ``Emulator`` (``clock``, ``speed``, ``start``, ``tls``, ``scenario``, …)."""
    return {}


def _options(request: pytest.FixtureRequest, base: dict[str, Any]) -> dict[str, Any]:
    options = dict(base)
    options.update(getattr(request, "param", None) or {})
    marker = request.node.get_closest_marker("emulator_scenario")
    if marker is not None:
        options["scenario"] = marker.args[0] if len(marker.args) == 1 else list(marker.args)
    if options.get("scenario") is not None:
        options["scenario"] = _resolve_scenario(request, options["scenario"])
    return options


@pytest.fixture
def graph_emulator(request: pytest.FixtureRequest,
                   graph_emulator_options: dict[str, Any]) -> Iterator[Emulator | EmulatorThread]:
    """A fresh, running emulator for this test (manual clock unless the options say otherwise)."""
    request.node.stash[_OPTIONS] = _options(request, graph_emulator_options)
    if _is_async(request):
        yield request.getfixturevalue("_graph_emulator_in_loop")
        return
    from emulator.embedded import EmulatorThread

    with EmulatorThread(**request.node.stash[_OPTIONS]) as emulator:
        yield emulator


@pytest.fixture
def webhook_receiver(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver | WebhookReceiverThread]:
    """A webhook endpoint on 127.0.0.1: ``.url`` to subscribe with, ``.next_notification(user)`` to wait."""
    if _is_async(request):
        yield request.getfixturevalue("_webhook_receiver_in_loop")
        return
    from emulator.receiver import WebhookReceiverThread

    with WebhookReceiverThread() as receiver:
        yield receiver


@_async_fixture
async def _graph_emulator_in_loop(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    from emulator.embedded import Emulator

    async with Emulator(**request.node.stash[_OPTIONS]) as emulator:
        yield emulator


@_async_fixture
async def _webhook_receiver_in_loop() -> AsyncIterator[WebhookReceiver]:
    from emulator.receiver import WebhookReceiver

    async with WebhookReceiver() as receiver:
        yield receiver
