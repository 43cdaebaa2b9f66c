"""HTTPS: the cached local CA, a given certificate, and msgraph-sdk trusting only the emulator's CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from emulator import Emulator, tls

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "graph-presence-emulator"


def test_local_ca_is_made_once_in_the_user_cache(cache: Path) -> None:
    first = tls.local_ca()
    assert first.ca == cache / "ca.pem" and first.cert.parent == cache
    assert (cache / "ca-key.pem").stat().st_mode & 0o077 == 0
    contents = {p.name: p.read_bytes() for p in cache.glob("*.pem")}
    second = tls.local_ca()
    assert second == first
    assert {p.name: p.read_bytes() for p in cache.glob("*.pem")} == contents


def test_an_expiring_certificate_is_renewed_under_the_same_ca(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = tls.local_ca()
    ca, cert = files.ca.read_bytes(), files.cert.read_bytes()
    monkeypatch.setattr(tls, "RENEW_MARGIN", tls.CERT_LIFETIME * 2)
    tls.local_ca()
    assert files.ca.read_bytes() == ca and files.cert.read_bytes() != cert


def test_a_given_pair_must_match(cache: Path, tmp_path: Path) -> None:
    files = tls.local_ca()
    assert tls.given(files.cert, files.key).ca is None
    with pytest.raises(ValueError, match="cannot use certificate"):
        tls.given(files.cert, files.ca)
    with pytest.raises(ValueError, match="cannot use certificate"):
        tls.given(tmp_path / "missing.pem", files.key)


async def test_msgraph_sdk_over_https_trusting_only_the_emulators_ca(cache: Path) -> None:
    async with Emulator(tls=True) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:") and emu.ca_file == str(cache / "ca.pem")
        emu.call(lambda t: t.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=3600))
        only_our_ca = ssl.create_default_context(cafile=emu.ca_file)
        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=only_our_ca))
        adapter = GraphRequestAdapter(AnonymousAuthenticationProvider(), client=http)
        adapter.base_url = emu.graph_url
        client = GraphServiceClient(request_adapter=adapter)
        presence = await client.users.by_user_id(ALICE).presence.get()
        assert presence is not None
        assert (presence.availability, presence.activity) == ("Busy", "InACall")

        # The same server is not trusted by a client that does not know this CA.
        async with httpx.AsyncClient(verify=ssl.create_default_context()) as stranger:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await stranger.get(f"{emu.control_url}/health")
        await http.aclose()


async def test_emulator_takes_a_given_certificate(cache: Path) -> None:
    made = tls.local_ca()
    async with Emulator(tls=(made.cert, made.key)) as emu, httpx.AsyncClient(verify=made.client_context()) as http:
        assert emu.ca_file == str(made.cert)
        resp = await http.get(f"https://localhost:{emu.port}/_emulator/health")
        assert resp.status_code == 200
