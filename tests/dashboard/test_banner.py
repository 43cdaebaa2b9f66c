from __future__ import annotations

from emulator.cli import banner
from emulator.runtime import Runtime


def test_banner_links_the_dashboard(runtime: Runtime) -> None:
    text = banner("http://127.0.0.1:8123", runtime)
    assert "Dashboard      http://127.0.0.1:8123/_emulator/ui" in text
