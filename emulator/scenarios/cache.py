"""Compiled scenarios kept in the user cache folder, so that ``serve`` need not validate its scenario again.

Validating a scenario takes PyYAML, the pydantic scenario models and the compiler: 50-70 ms of a cold start
of ~300 ms, most of it importing and building them, for a result (``Scenario``: users, actions, a plan) that
is plain data. ``load_cached`` pickles that result under a key made of all it is made from: each file's name
and bytes, the emulator's version and code, the parsing libraries, the Python version. A later start with the
same key reads it back; any change makes another key, so an entry never answers for what it was not made
from.

Only valid scenarios are cached (an invalid one is reported by the full validation every time), and only
those whose validity does not depend on when they are loaded (fault windows are checked against the current
time when there is no ``clock.start``). Anything wrong with the cache (no entry, a corrupt or foreign one, a
folder that cannot be made or written, as under a read-only HOME in a container) falls back silently to the
full validation.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from emulator import __version__
from emulator.scenarios.sources import ScenarioSource
from emulator.scenarios.timeline import Scenario
from emulator.tls import cache_dir

# Bump when the entry layout changes.
FORMAT = 1
# Entries kept: each edit of a scenario (or of the emulator) makes a new one; the oldest go first.
MAX_ENTRIES = 16
# What the loader's result depends on besides the emulator's own code.
LIBRARIES = ("pydantic", "pydantic_core", "yaml")
PACKAGE = Path(__file__).resolve().parents[1]


def load_cached(sources: Sequence[ScenarioSource], directory: Path | None = None) -> Scenario:
    """``loader.load_sources(sources)``, read from the cache (``directory``, by default the user cache
    folder's ``scenarios``) when it holds them; a ``ScenarioError`` as the loader raises it."""
    if any(source.data is None for source in sources):  # unreadable: the loader says so
        return _validate(sources)
    try:
        folder = directory or cache_dir() / "scenarios"
    except (RuntimeError, KeyError):  # no home folder to put it in (a container user with no HOME or passwd entry)
        return _validate(sources)
    key = cache_key(sources)
    entry = folder / f"{key}.pickle"
    scenario = _read(entry, key)
    if scenario is None:
        scenario = _validate(sources)
        if scenario.start is not None or all(rule.window is None for rule in scenario.faults):
            _write(folder, entry, key, scenario)
    return scenario


def cache_key(sources: Sequence[ScenarioSource]) -> str:
    digest = hashlib.sha256(f"{FORMAT}\n{__version__}\n{sys.version}\n{sys.implementation.cache_tag}\n".encode())
    digest.update(_code_fingerprint())
    for source in sources:
        assert source.data is not None
        name = source.name.encode("utf-8", "surrogateescape")
        digest.update(b"%d:%s%d:" % (len(name), name, len(source.data)))
        digest.update(source.data)
    return digest.hexdigest()


def _code_fingerprint(root: Path = PACKAGE) -> bytes:
    """The emulator's modules and the parsing libraries by path, size and modification time: an edited
    emulator (a work tree) or another install (pip writes every file afresh) makes new keys, as Python's own
    bytecode cache tells an edited source by its size and time. Stat calls only: reading the code would cost
    what the cache saves."""
    files: list[str] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
        files.extend(os.path.join(directory, name) for name in sorted(names) if name.endswith(".py"))
    for library in LIBRARIES:
        try:
            spec = importlib.util.find_spec(library)
        except (ImportError, ValueError):  # a module without a spec: it still has a name to key on
            spec = None
        files.append(spec.origin if spec is not None and spec.origin else library)
    parts: list[str] = []
    for path in files:
        try:
            stat = os.stat(path)
        except OSError:
            parts.append(f"{path} -")
        else:
            parts.append(f"{path} {stat.st_size} {stat.st_mtime_ns}")
    return "\n".join(parts).encode("utf-8", "surrogateescape")


def _validate(sources: Sequence[ScenarioSource]) -> Scenario:
    from emulator.scenarios.loader import load_sources  # PyYAML and pydantic: only on a miss

    return load_sources(sources)


def _read(entry: Path, key: str) -> Scenario | None:
    try:
        with open(entry, "rb") as handle:
            if not _trusted(os.fstat(handle.fileno())):
                return None
            data = handle.read()
    except OSError:
        return None
    try:
        stored_key, scenario = pickle.loads(data)
    except Exception:  # a corrupt or foreign entry fails in many ways (unpickling, imports, attributes)
        return None
    return scenario if stored_key == key and isinstance(scenario, Scenario) else None


def _trusted(stat: os.stat_result) -> bool:
    """Whether an entry is this user's own, writable by no one else: unpickling runs what the bytes say, so an
    entry someone else could have made (a cache folder in a shared place) is not read."""
    if not hasattr(os, "getuid"):  # Windows: the user's profile folder is private
        return True
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _write(folder: Path, entry: Path, key: str, scenario: Scenario) -> None:
    try:
        data = pickle.dumps((key, scenario), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # something in it that pickle cannot keep
        return
    temporary = folder / f"{key}.{os.getpid()}.tmp"  # per process: starts at the same time do not clash
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, entry)
        _prune(folder)
    except OSError:  # a read-only or full cache folder: serve without caching
        with contextlib.suppress(OSError):
            temporary.unlink()


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for stale in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            stale.unlink()
