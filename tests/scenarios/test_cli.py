"""The command line: validate, schema, and serve with its scenario and clock flags."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.runtime import Runtime
from emulator.scenarios import default_scenario, json_schema, parse_scenario, use_scenario
from emulator.tenant import DEFAULT_TENANT_ID
from tests.scenarios.conftest import BUNDLED

ROOT = BUNDLED.parent


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [str(p) for p in sorted(BUNDLED.glob("*.yaml"))]
    assert main(["validate", *good]) == 0
    assert "contact-centre.yaml: valid (5001 users, 255002 events)" in capsys.readouterr().out
    bad = tmp_path / "office.yaml"
    bad.write_text("users:\n  - id: nope\n")
    assert main(["validate", good[0], str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:2:9: users[0].id: 'nope' is not a GUID")


def test_validate_merged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users, day = tmp_path / "users.yaml", tmp_path / "day.yaml"
    users.write_text("users: [{id: fa8bf3dc-eca7-46b7-bad1-db199b62afc3, userPrincipalName: a@contoso.com}]\n")
    day.write_text("timeline:\n  - {at: 1m, user: a@contoso.com, clearPresence: {sessionId: x}}\n")
    assert main(["validate", str(day)]) == 1  # on its own, the user is unknown
    assert main(["validate", "--merge", str(users), str(day)]) == 0
    assert main(["validate", "--merge", str(users), str(users)]) == 1  # a clash
    assert "duplicate user id" in capsys.readouterr().err


def test_schema_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json_schema()
    assert schema["title"] == "Graph presence emulator scenario"
    assert set(schema["$defs"]["Event"]["properties"]) >= {"at", "every", "setPresence", "setTeamsPresence"}


@pytest.mark.parametrize(("clock", "speed", "expected"), [
    (None, None, ("speed", 60.0)),
    ("manual", None, ("manual", 60.0)),
    ("real", None, ("real", 60.0)),
    (None, 5.0, ("speed", 5.0)),
])
def test_clock_flags_override_the_scenario(clock: str | None, speed: float | None,
                                           expected: tuple[str, float]) -> None:
    scenario = parse_scenario("clock: {start: 2026-03-02T09:00:00Z, mode: speed, speed: 60}\n", "s.yaml")
    runtime = Runtime()
    use_scenario(runtime, scenario, clock_mode=clock, speed=speed)
    assert (runtime.settings.clock_mode, runtime.settings.speed) == expected
    assert runtime.tenant.clock.mode == expected[0]
    assert runtime.settings.start == scenario.start


def test_default_scenario_keeps_any_guid_readable() -> None:
    runtime = Runtime()
    use_scenario(runtime, default_scenario())
    assert runtime.settings.clock_mode == "real" and not runtime.settings.restrict_users
    assert runtime.tenant.tenant_id == DEFAULT_TENANT_ID
    assert len(runtime.tenant.presence.users) == 5


def serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "listening on " in first, first + (process.stderr.read() if process.poll() is not None else "")
    banner = first
    while "Press Ctrl-C" not in banner:
        banner += process.stdout.readline()
    return process, banner


def get(base: str, path: str) -> dict[str, object]:
    with urllib.request.urlopen(base + path, timeout=5) as resp:
        body: dict[str, object] = json.loads(resp.read())
        return body


def test_serve_with_no_flags_plays_the_default_office() -> None:
    process, banner = serve()
    try:
        base = banner.split("listening on ", 1)[1].split()[0]
        assert "Scenario       scenarios/default.yaml: 5 users, 30 events" in banner
        assert get(base, "/_emulator/health")["status"] == "ok"
        adele = get(base, "/v1.0/users/fa8bf3dc-eca7-46b7-bad1-db199b62afc3/presence")
        assert (adele["availability"], adele["activity"]) == ("Available", "Available")
        assert get(base, "/_emulator/clock")["mode"] == "real"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_with_scenarios_and_a_clock_flag() -> None:
    process, banner = serve("--scenario", "scenarios/walkthrough.yaml", "--clock", "manual")
    try:
        base = banner.split("listening on ", 1)[1].split()[0]
        clock = get(base, "/_emulator/clock")
        assert (clock["mode"], clock["now"]) == ("manual", "2026-03-02T09:00:00.0000000Z")
        assert get(base, "/_emulator/timeline")["ran"]["count"] == 1  # type: ignore[index]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timeline: [{at: 1m}]\n")
    result = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--scenario", str(bad)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{bad}:1:12: timeline[0]: an event needs exactly one action")
