from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import Tenant, TenantSettings

# pytester runs the README's example test and the plugin's own cases in a clean inner session. (The emulator's
# plugin itself is not listed here: the pytest11 entry point already loads it.)
pytest_plugins = ["pytester"]

START = 1_790_000_000.0  # 2026-09-21T14:13:20Z: a fixed emulated start, so every run sees the same times


@pytest.fixture(autouse=True, scope="session")
def _session_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A user cache folder of the session's own (``serve`` keeps compiled scenarios in it; subprocesses
    inherit it), so that no test reads what an earlier run left in the real one, or writes to it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))
        yield


@pytest.fixture
def tenant() -> Tenant:
    return Tenant(TenantSettings(clock_mode="manual", start=START))


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(TenantSettings(clock_mode="manual", start=START))


@pytest.fixture
async def client(aiohttp_client, runtime: Runtime) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(runtime))
