"""The compiled-scenario cache ``serve`` starts from: a hit skips validation (and PyYAML and the models), any
change of content misses, and a corrupt entry or an unwritable folder falls back to the full validation."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.scenarios import ScenarioError, load_scenarios, loader
from emulator.scenarios import cache as scenario_cache
from emulator.scenarios.cache import cache_key, load_cached
from emulator.scenarios.sources import ScenarioSource, default_source, read_source
from emulator.scenarios.timeline import Scenario

ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
OFFICE = f"""\
clock: {{start: 2026-03-02T09:00:00Z, mode: manual}}
users: [{{id: {ADELE}, userPrincipalName: adele@contoso.com}}]
timeline:
  - {{at: 0s, user: adele@contoso.com, setTeamsPresence: {{sessionId: desktop, availability: Busy, activity: InACall}}}}
  - {{at: 1h, every: 1h, count: 3, user: adele@contoso.com, clearPresence: {{sessionId: desktop}}}}
"""


def facts(scenario: Scenario) -> tuple[object, ...]:
    """Everything a scenario plays, comparable across a pickle round trip."""
    return (scenario.describe(), scenario.users, list(scenario.plan.offsets), list(scenario.plan.actions),
            list(scenario.plan.users), [(a.name, a.where, a.detail()) for a in scenario.actions],
            [rule.model_dump() for rule in scenario.faults])


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle")) if folder.is_dir() else []


def test_a_second_load_comes_from_the_cache_without_validating(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    office = tmp_path / "office.yaml"
    office.write_text(OFFICE)
    folder = tmp_path / "cache"
    first = load_cached([read_source(office)], folder)
    assert facts(first) == facts(load_scenarios([office]))
    assert len(entries(folder)) == 1
    monkeypatch.setattr(loader, "load_sources", lambda sources: pytest.fail("validated again"))
    second = load_cached([read_source(office)], folder)
    assert second is not first and facts(second) == facts(first)


def test_a_cached_start_imports_neither_yaml_nor_the_scenario_models(tmp_path: Path) -> None:
    probe = ("import sys; from emulator.cli import load_scenario_or_exit; scenario = load_scenario_or_exit(None); "
             "print(len(scenario.users), len(scenario.plan), sorted(m for m in ('yaml', 'emulator.scenarios.loader', "
             "'emulator.scenarios.model') if m in sys.modules))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                           check=True).stdout.strip() for _ in range(2)]
    assert runs[0] == "5 30 ['emulator.scenarios.loader', 'emulator.scenarios.model', 'yaml']"  # a miss: validated
    assert runs[1] == "5 30 []"  # a hit
    assert len(entries(tmp_path / "graph-presence-emulator" / "scenarios")) == 1


def test_a_cached_start_imports_no_pydantic_until_serve_loads_the_request_models(tmp_path: Path) -> None:
    """serve's start, as far as listening: pydantic (a fifth of a bare aiohttp app's start) is not imported;
    ``load_request_models``, which serve runs beside the loop once it listens, brings it in."""
    probe = ("import sys; from emulator.cli import load_scenario_or_exit, load_request_models; "
             "from emulator.app import create_app; from emulator.runtime import Runtime; "
             "from emulator.scenarios.install import use_scenario; "
             "scenario = load_scenario_or_exit(None); runtime = Runtime(); create_app(runtime); "
             "use_scenario(runtime, scenario, clock_mode=None, speed=None); "
             "before = 'pydantic' in sys.modules; load_request_models(); print(before, 'pydantic' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                           check=True).stdout.strip() for _ in range(2)]
    assert runs == ["True True", "False True"]  # a miss validates the scenario with pydantic; a hit does not


def test_changed_content_is_validated_again_even_with_the_same_size_and_time(tmp_path: Path) -> None:
    office = tmp_path / "office.yaml"
    office.write_text(OFFICE)
    folder = tmp_path / "cache"
    assert load_cached([read_source(office)], folder).describe()["occurrences"] == 4
    stat = office.stat()
    office.write_text(OFFICE.replace("count: 3", "count: 5"))
    os.utime(office, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert office.stat().st_size == stat.st_size
    assert load_cached([read_source(office)], folder).describe()["occurrences"] == 6
    office.write_text(OFFICE.replace("clearPresence", "clearPresense"))
    with pytest.raises(ScenarioError) as caught:  # once valid and cached, now invalid: reported, not cached
        load_cached([read_source(office)], folder)
    assert caught.value.problems[0].startswith(f"{office}:5:")
    assert len(entries(folder)) == 2


def test_the_key_covers_names_order_version_and_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = ScenarioSource("a.yaml", b"users: []\n"), ScenarioSource("b.yaml", b"users: []\n")
    keys = {cache_key([a]), cache_key([b]), cache_key([a, b]), cache_key([b, a])}
    assert len(keys) == 4
    monkeypatch.setattr(scenario_cache, "__version__", "99.0")
    assert cache_key([a]) not in keys
    code = tmp_path / "emulator"
    (code / "scenarios").mkdir(parents=True)
    module = code / "scenarios" / "loader.py"
    module.write_text("VALUE = 1\n")
    before = scenario_cache._code_fingerprint(code)
    module.write_text("VALUE = 22\n")  # an edit
    assert scenario_cache._code_fingerprint(code) != before


def test_an_invalid_scenario_is_never_cached(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timeline: [{at: 1m}]\n")
    folder = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(ScenarioError) as caught:
            load_cached([read_source(bad)], folder)
        assert caught.value.problems[0].startswith(f"{bad}:1:12: timeline[0]: an event needs exactly one action")
    assert entries(folder) == []
    with pytest.raises(ScenarioError) as caught:
        load_cached([read_source(tmp_path / "missing.yaml")], folder)
    assert caught.value.problems[0].startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read the file:")


def test_fault_windows_that_depend_on_the_time_of_loading_are_not_cached(tmp_path: Path) -> None:
    rule = "faults: [{method: GET, path: /v1.0/**, status: 503, window: {start: PT10M}}]\n"
    folder = tmp_path / "cache"
    now_relative = ScenarioSource("now.yaml", rule.encode())
    assert len(load_cached([now_relative], folder).faults) == 1
    assert entries(folder) == []  # checked against the current time: validated at every start
    fixed = ScenarioSource("fixed.yaml", ("clock: {start: 2026-03-02T09:00:00Z}\n" + rule).encode())
    first = load_cached([fixed], folder)
    assert len(entries(folder)) == 1
    assert facts(load_cached([fixed], folder)) == facts(first)


def test_a_corrupt_or_foreign_entry_falls_back_and_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    source = default_source()
    expected = facts(load_cached([source], folder))
    (entry,) = entries(folder)
    for damage in (b"", b"not a pickle", entry.read_bytes()[:40],
                   pickle.dumps(("another key", None)), pickle.dumps((entry.stem, "not a scenario"))):
        entry.write_bytes(damage)
        assert facts(load_cached([source], folder)) == expected
        assert entries(folder) == [entry]
        assert pickle.loads(entry.read_bytes())[0] == entry.stem  # rewritten whole


def test_a_folder_that_cannot_be_written_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be\n")
    source = default_source()
    for _ in range(2):  # no entry can be made: each load validates, and none fails
        assert len(load_cached([source], blocker / "scenarios").users) == 5
    # The same through serve's path: XDG_CACHE_HOME (or HOME) that cannot be written.
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    from emulator.cli import load_scenario_or_exit
    assert len(load_scenario_or_exit(None).users) == 5
    assert list(tmp_path.iterdir()) == [blocker]


def test_old_entries_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenario_cache, "MAX_ENTRIES", 2)
    folder = tmp_path / "cache"
    for n in range(4):
        load_cached([ScenarioSource(f"s{n}.yaml", b"users: []\n")], folder)
    assert len(entries(folder)) == 2


def test_no_home_folder_at_all_means_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    def unknown_user(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", unknown_user)  # a container's user with no passwd entry
    with pytest.raises(RuntimeError):
        Path.home()
    assert len(load_cached([default_source()]).users) == 5


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_an_entry_others_could_have_written_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    source = default_source()
    load_cached([source], folder)
    (entry,) = entries(folder)
    entry.chmod(0o666)  # anyone could have put these bytes there
    monkeypatch.setattr(loader, "load_sources", lambda sources: pytest.fail("validated again"))
    with pytest.raises(pytest.fail.Exception):
        load_cached([source], folder)
    monkeypatch.undo()
    assert len(load_cached([source], folder).users) == 5  # validated, and the entry made again, private
    assert entry.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(os, "getuid", lambda: os.stat(entry).st_uid + 1)  # another user's entry
    monkeypatch.setattr(loader, "load_sources", lambda sources: pytest.fail("validated again"))
    with pytest.raises(pytest.fail.Exception):
        load_cached([source], folder)
