"""schemathesis over the emulator's own OpenAPI document, against a live server on a free port:
no 5xx, and no response that breaks the document (status, content type, body schema)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from emulator.app import create_app
from emulator.graph.permissions import route_key
from emulator.openapi.document import build_document
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from emulator.tokens import TokenIssuer, TokenRequest
from tests.conftest import START

USER = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


class LiveServer:
    """The emulator on 127.0.0.1 and a free port, in a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(10), "the emulator did not start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


# Operations whose generated inputs would make the emulator call out to generated URLs (the webhook
# validation handshake on a subscription's notificationUrl): tests must reach 127.0.0.1 only.
# The dashboard's event stream never ends by design: a request to it would never finish.
NOT_FUZZED = frozenset({"POST /subscriptions", "PATCH /subscriptions/{}", "GET /_emulator/events",
                        # Generated fault rules and throttles would change how every later request is
                        # answered (dropped, delayed, 429), and the journal settings whether it is recorded.
                        "POST /_emulator/faults", "POST /_emulator/throttling", "POST /_emulator/requests/settings"})


def _operations() -> list[tuple[str, str]]:
    paths = build_document(create_app(Runtime(TenantSettings(clock_mode="manual"))))["paths"]
    return [(path, method.upper()) for path, methods in paths.items() for method in methods
            if route_key(method, path) not in NOT_FUZZED]


@pytest.fixture(scope="module")
def emulator_schema() -> Iterator[BaseSchema]:
    app = create_app(Runtime(TenantSettings(clock_mode="manual", start=START)))
    with LiveServer(app) as base:
        yield schemathesis.openapi.from_url(f"{base}/_emulator/openapi.json")


@pytest.fixture(scope="module")
def token(emulator_schema: BaseSchema) -> str:
    # A user token, so /me answers 200 and presence reads of that user take the own view.
    minted = TokenIssuer.shared().mint(TokenRequest(oid=USER, scp=("Presence.Read",)), tenant_id="t",
                                       default_app_id="a", now=START)
    return minted


# One test per operation (schemathesis' own pytest plugin does not run on pytest 9 yet).
@pytest.mark.parametrize(("path", "method"), _operations(), ids=lambda value: str(value))
def test_no_server_errors_and_responses_match_the_document(emulator_schema: BaseSchema, token: str, path: str,
                                                           method: str) -> None:
    operation = emulator_schema[path][method]
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy(headers=headers)
           | operation.as_strategy(GenerationMode.NEGATIVE, headers=headers))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
