"""Reading scenario files: YAML with its marks, pydantic validation, merging, and expansion into a plan.

Every problem is reported as ``file:line:column: path: what is wrong (expected …)``, the line and column
taken from PyYAML's node marks. Checks go in three rounds, each reporting all it finds: YAML syntax, then
each file against the model, then what spans the files (users, clashes, caps, times against the start).
"""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError

from emulator.graph.requests import resolve_date_time_zone
from emulator.presence import states
from emulator.presence.directory import StatusExpiry
from emulator.scenarios import model
from emulator.scenarios.errors import ScenarioError
from emulator.scenarios.model import MAX_OCCURRENCES, MAX_USERS, ScenarioDocument, parse_duration, parse_time_point
from emulator.scenarios.sources import ScenarioSource, read_source
from emulator.scenarios.timeline import (
    Action,
    ClearPreferred,
    ClearSession,
    Plan,
    Scenario,
    ScenarioUser,
    SendLifecycle,
    SetOutOfOffice,
    SetPreferred,
    SetSession,
    SetStatusMessage,
)
from emulator.traffic.fault_rules import DeliveryFault, RequestFault

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: faster


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """Safe YAML, except that date-times stay text: the model parses them, so a bad one is reported with its
    place and path rather than as a crash in PyYAML's timestamp constructor."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

Path_ = tuple[str | int, ...]


def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class Marks:
    """Where each value (and each mapping key) of one file starts, by its path."""

    source: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> str:
        if key and path in self.keys:
            line, column = self.keys[path]
            return f"{self.source}:{line}:{column}"
        probe = path
        while probe and probe not in self.values:
            probe = probe[:-1]
        line, column = self.values.get(probe, (1, 1))
        return f"{self.source}:{line}:{column}"

    def problem(self, path: Path_, message: str, *, key: bool = False) -> str:
        label = format_path(path)
        return f"{self.where(path, key=key)}: {label + ': ' if label else ''}{message}"


@dataclass
class ScenarioFile:
    source: str
    document: ScenarioDocument
    marks: Marks


# -- YAML with marks ---------------------------------------------------------------------------------------

def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path_, marks: Marks, problems: list[str]) -> None:
    marks.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child = (*path, key)
            marks.keys[child] = _mark(key_node)
            if key in seen:
                problems.append(marks.problem(child, f"duplicate key '{key}' (first given on line {seen[key]})",
                                              key=True))
            seen[key] = _mark(key_node)[0]
            _walk(value_node, child, marks, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks, problems)


def read_yaml(text: str, source: str) -> tuple[Any, Marks]:
    """The document's data and the marks of its nodes; a syntax error is a ``ScenarioError``. JSON is read
    as the YAML it is, except that YAML refuses the tabs JSON may be indented with: those become spaces
    (in JSON a tab can only be whitespace; in a string it is escaped), keeping every line and column."""
    try:
        return _read_yaml(text, source)
    except ScenarioError:
        if "\t" not in text or not text.lstrip().startswith(("{", "[")):
            raise
        return _read_yaml(text.replace("\t", " "), source)


def _read_yaml(text: str, source: str) -> tuple[Any, Marks]:
    marks = Marks(source)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, marks
        problems: list[str] = []
        _walk(node, (), marks, problems)
        if problems:
            raise ScenarioError(problems)
        return loader.construct_document(node), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ScenarioError([f"{source}:{line}:{column}: YAML syntax error: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{source}:1:1: YAML error: {exc}"]) from None
    finally:
        loader.dispose()


# -- pydantic errors as file:line:column ------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "list_type": "a list", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "dict_type": "a mapping",
}


def _models_in(annotation: Any, tag: str | None = None) -> list[tuple[type[BaseModel], str | None]]:
    """The models an annotation may hold (through lists, unions and ``Annotated``), each with its union tag."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, tag)]
    if get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        found = next((extra.tag for extra in extras if isinstance(extra, Tag)), tag)
        return _models_in(inner, found if isinstance(found, str) else tag)
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _fields_at(loc: Path_) -> list[str]:
    """The field names (as written in a file) that the model at pydantic's ``loc`` allows, for "unknown field"
    errors; a tagged union's tag in ``loc`` (a fault rule's ``request``/``delivery``) picks its member."""
    models: list[tuple[type[BaseModel], str | None]] = [(ScenarioDocument, None)]
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [m for m in models if m[1] == part]
        if tagged:
            models = tagged
            continue
        for cls, _ in models:
            field = next((f for name, f in cls.model_fields.items() if part in (name, f.alias)), None)
            if field is not None:
                models = _models_in(field.annotation)
                break
        else:
            return []
    return [f.alias or name for name, f in models[0][0].model_fields.items()] if len(models) == 1 else []


def _file_path(loc: Path_, marks: Marks, kind: str) -> Path_:
    """pydantic's ``loc`` as a path in the file: without the labels it adds for union members (a tagged
    union's tag, ``datetime``/``timedelta``, ``str``/``list[str]``), which name no key in the file."""
    path: Path_ = ()
    for i, part in enumerate(loc):
        candidate = (*path, part)
        final = i == len(loc) - 1
        if candidate in marks.values or (final and kind == "missing"):
            path = candidate
    return path


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_validation(exc: ValidationError, marks: Marks) -> list[str]:
    problems: list[str] = []
    # A value that fits no member of a union (a window's date-time or duration) is one problem, not one each.
    unions: dict[Path_, tuple[int, Any, list[str]]] = {}
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        kind = err["type"]
        path = _file_path(loc, marks, kind)
        if kind == "missing":
            problems.append(marks.problem(path, "this field is required"
                                          if path[:-1] in marks.values else "required field missing"))
        elif kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            hint = f" (expected one of {', '.join(allowed)})" if allowed else ""
            problems.append(marks.problem(path, f"unknown field '{path[-1]}'{hint}", key=True))
        elif kind == "invalid_target":  # the fault rule union's own error: point at its target
            target = (*path, "target")
            problems.append(marks.problem(target if target in marks.values else path, str(err["msg"])))
        elif kind in _TYPE_WORDS and (path[-1:] == loc[-1:] or _TYPE_WORDS[kind] == "a mapping"):
            problems.append(marks.problem(path, f"expected {_TYPE_WORDS[kind]} (found {_found(err['input'])})"))
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            problems.append(marks.problem(path, f"{_found(err['input'])} is not allowed (expected {expected})"))
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(marks.problem(path, message))
        elif path in unions:
            unions[path][2].append(str(err["msg"]))
        else:
            unions[path] = (len(problems), err["input"], [str(err["msg"])])
            problems.append("")
    for path, (index, given, messages) in unions.items():
        reason = messages[0] if len(messages) == 1 else "it fits none of: " + "; ".join(messages)
        problems[index] = marks.problem(path, f"{reason} (found {_found(given)})")
    return problems


def parse_file(text: str, source: str) -> ScenarioFile:
    data, marks = read_yaml(text, source)
    if not isinstance(data, dict):
        raise ScenarioError([marks.problem((), f"expected a mapping of scenario fields (found {_found(data)})")])
    try:
        document = ScenarioDocument.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_validation(exc, marks)) from None
    return ScenarioFile(source, document, marks)


# -- merging and expansion -----------------------------------------------------------------------------------

@dataclass
class _Setting:
    value: Any = None
    where: str | None = None


class _Compiler:
    def __init__(self, files: Sequence[ScenarioFile]) -> None:
        self.files = files
        self.problems: list[str] = []
        self.users: list[ScenarioUser] = []
        self.user_where: list[str] = []
        self.index_by_ref: dict[str, int] = {}
        # name -> (member indexes, each member's jitter in seconds, where the crowd is given)
        self.crowds: dict[str, tuple[range, list[float], str]] = {}
        self.actions: list[Action] = []
        self.occurrences = 0

    def setting(self, chosen: _Setting, value: Any, marks: Marks, path: Path_) -> None:
        if value is None:
            return
        if chosen.where is not None and chosen.value != value:
            self.problems.append(marks.problem(
                path, f"{_found(value)} clashes with {_found(chosen.value)} given at {chosen.where}"))
            return
        chosen.value, chosen.where = value, marks.where(path)

    def add_user(self, user: ScenarioUser, marks: Marks, path: Path_) -> bool:
        where = marks.where(path)
        if user.id in self.index_by_ref:
            first = self.user_where[self.index_by_ref[user.id]]
            self.problems.append(marks.problem(path, f"duplicate user id '{user.id}' (first given at {first})"))
            return False
        upn = user.user_principal_name.lower() if user.user_principal_name else None
        if upn is not None and upn in self.index_by_ref:
            first = self.user_where[self.index_by_ref[upn]]
            self.problems.append(marks.problem(
                path, f"duplicate userPrincipalName '{user.user_principal_name}' (first given at {first})"))
            return False
        index = len(self.users)
        self.users.append(user)
        self.user_where.append(where)
        self.index_by_ref[user.id] = index
        if upn is not None:
            self.index_by_ref[upn] = index
        return True

    def compile(self) -> Scenario:
        tenant, restrict = _Setting(), _Setting()
        start, mode, speed = _Setting(), _Setting(), _Setting()
        for file in self.files:
            doc, marks = file.document, file.marks
            self.setting(tenant, doc.tenantId, marks, ("tenantId",))
            self.setting(restrict, doc.restrictUsers, marks, ("restrictUsers",))
            if doc.clock is not None:
                self.setting(start, None if doc.clock.start is None else model.parse_datetime(doc.clock.start),
                             marks, ("clock", "start"))
                self.setting(mode, doc.clock.mode, marks, ("clock", "mode"))
                self.setting(speed, doc.clock.speed, marks, ("clock", "speed"))
            for i, spec in enumerate(doc.users):
                oof = spec.outOfOfficeSettings
                self.add_user(ScenarioUser(spec.id, spec.userPrincipalName, spec.displayName,
                                           None if oof is None else (oof.isOutOfOffice, oof.message)),
                              marks, ("users", i))
        for file in self.files:
            for i, crowd in enumerate(file.document.crowds):
                self.add_crowd(crowd, file.marks, ("crowds", i))
        faults = self.faults(start.value)
        if self.problems:  # events name users: report those problems first, on their own
            raise ScenarioError(self.problems)
        if speed.value is not None and mode.value not in (None, "speed"):
            self.problems.append(f"{speed.where}: clock.speed: needs clock.mode speed (found {mode.value})")
        offsets: list[float] = []
        action_of: list[int] = []
        user_of: list[int] = []
        for file in self.files:
            for i, event in enumerate(file.document.timeline):
                self.add_event(event, file.marks, ("timeline", i), start.value, offsets, action_of, user_of)
        if self.problems:
            raise ScenarioError(self.problems)
        order = sorted(range(len(offsets)), key=offsets.__getitem__)  # stable: file order among equal times
        plan = Plan(array("d", [offsets[i] for i in order]), array("l", [action_of[i] for i in order]),
                    array("l", [user_of[i] for i in order]))
        return Scenario(
            sources=tuple(f.source for f in self.files),
            tenant_id=tenant.value,
            clock_mode=mode.value if mode.value is not None else ("speed" if speed.value is not None else None),
            speed=speed.value,
            start=start.value,
            restrict_users=bool(restrict.value),
            users=tuple(self.users),
            actions=tuple(self.actions),
            plan=plan,
            faults=faults,
        )

    def faults(self, start: float | None) -> tuple[RequestFault | DeliveryFault, ...]:
        """Every file's fault rules in order; what installing them would refuse is a problem here, so that a
        scenario that loads always installs (ids unique, windows that end after they start)."""
        rules: list[RequestFault | DeliveryFault] = []
        ids: dict[str, str] = {}
        installed_at = time.time() if start is None else start
        for file in self.files:
            for i, rule in enumerate(file.document.faults):
                path: Path_ = ("faults", i)
                if rule.id is not None:
                    if rule.id in ids:
                        self.problems.append(file.marks.problem(
                            (*path, "id"), f"duplicate fault rule id '{rule.id}' (first given at {ids[rule.id]})"))
                        continue
                    ids[rule.id] = file.marks.where((*path, "id"))
                if rule.window is not None:
                    try:
                        rule.window.bounds(installed_at)
                    except ValueError as exc:
                        self.problems.append(file.marks.problem((*path, "window"), str(exc)))
                        continue
                rules.append(rule)
        return tuple(rules)

    def add_crowd(self, crowd: model.Crowd, marks: Marks, path: Path_) -> None:
        if crowd.name in self.crowds:
            first = self.crowds[crowd.name][2]
            self.problems.append(marks.problem((*path, "name"), f"duplicate crowd name '{crowd.name}' "
                                                                f"(first given at {first})"))
            return
        if len(self.users) + crowd.count > MAX_USERS:
            self.problems.append(marks.problem(
                (*path, "count"), f"{crowd.count} members would make {len(self.users) + crowd.count} users, "
                                  f"over the cap of {MAX_USERS} users per scenario"))
            return
        first_index = len(self.users)
        for n in range(crowd.first, crowd.first + crowd.count):
            user = ScenarioUser(
                model.expand_pattern(crowd.id, n).lower(),
                None if crowd.userPrincipalName is None else model.expand_pattern(crowd.userPrincipalName, n),
                None if crowd.displayName is None else model.expand_pattern(crowd.displayName, n),
                None)
            if not self.add_user(user, marks, (*path, "id")):
                return
        # Seeded per crowd: each member keeps one random shift for all its events, the same on every run.
        rng = random.Random(f"{crowd.seed}/{crowd.name}")
        jitter = parse_duration(crowd.jitter)
        shifts = [rng.random() * jitter for _ in range(crowd.count)]
        self.crowds[crowd.name] = (range(first_index, len(self.users)), shifts, marks.where(path))

    def time_point(self, text: str, start: float | None, marks: Marks, path: Path_) -> float | None:
        """Seconds after the start, or None (with a problem recorded)."""
        kind, value = parse_time_point(text)
        if kind == "offset":
            return value
        if start is None:
            self.problems.append(marks.problem(path, f"'{text}' is an absolute time, which needs clock.start "
                                                     "(expected an offset such as 2h15m, or give clock.start)"))
            return None
        if value < start:
            self.problems.append(marks.problem(path, f"'{text}' is before the start "
                                                     f"{model.datetime_text(start)} (expected a time at or after it)"))
            return None
        return value - start

    def add_event(self, event: model.Event, marks: Marks, path: Path_, start: float | None,
                  offsets: list[float], action_of: list[int], user_of: list[int]) -> None:
        members: Sequence[int]
        shifts: list[float] | None = None
        if event.user is not None:
            index = self.index_by_ref.get(event.user.lower())
            if index is None:
                self.problems.append(marks.problem((*path, "user"), f"'{event.user}' is not a user of this "
                                                   "scenario (expected the id or userPrincipalName of a user "
                                                   "listed under users, or a crowd member)"))
                return
            members = (index,)
        else:
            assert event.crowd is not None
            found = self.crowds.get(event.crowd)
            if found is None:
                known = ", ".join(self.crowds) or "none defined"
                self.problems.append(marks.problem((*path, "crowd"), f"'{event.crowd}' is not a crowd of this "
                                                   f"scenario (expected one of: {known})"))
                return
            members, shifts, _ = found
        first = self.time_point(event.at, start, marks, (*path, "at"))
        if first is None:
            return
        times = [first]
        if event.every is not None:
            step = parse_duration(event.every)
            if event.count is not None:
                count = event.count
            else:
                assert event.until is not None
                last = self.time_point(event.until, start, marks, (*path, "until"))
                if last is None:
                    return
                if last < first:
                    self.problems.append(marks.problem((*path, "until"), f"'{event.until}' is before at "
                                                       f"'{event.at}' (expected a time at or after it)"))
                    return
                count = int((last - first) // step) + 1
            if count * len(members) + self.occurrences > MAX_OCCURRENCES:
                self.problems.append(marks.problem((*path, "every"), f"{count} repetitions for {len(members)} "
                                                   f"users would exceed the cap of {MAX_OCCURRENCES} occurrences"))
                return
            times = [first + k * step for k in range(count)]
        action = self.action(event, marks, path, start, times[-1] + (max(shifts) if shifts else 0.0))
        if action is None:
            return
        action_index = len(self.actions)
        self.actions.append(action)
        self.occurrences += len(times) * len(members)
        for at in times:
            offsets.extend([at] * len(members) if shifts is None else [at + shift for shift in shifts])
            action_of.extend([action_index] * len(members))
            user_of.extend(members)

    def action(self, event: model.Event, marks: Marks, path: Path_, start: float | None,
               latest: float) -> Action | None:
        where = marks.where(path)
        if event.setPresence is not None:
            spec = event.setPresence
            expires = (float(states.SESSION_DEFAULT_SECONDS) if spec.expirationDuration is None
                       else parse_duration(spec.expirationDuration))
            return SetSession("setPresence", where, spec.sessionId, spec.availability, spec.activity,
                              expires_in=expires, fades=True, source="application")
        if event.setTeamsPresence is not None:
            teams = event.setTeamsPresence
            return SetSession("setTeamsPresence", where, teams.sessionId, teams.availability, teams.activity,
                              expires_in=None if teams.expirationDuration is None
                              else parse_duration(teams.expirationDuration),
                              fades=teams.idleFade, source="teams")
        if event.clearPresence is not None:
            return ClearSession(where, event.clearPresence.sessionId)
        if event.setUserPreferredPresence is not None:
            preferred = event.setUserPreferredPresence
            return SetPreferred(where, preferred.availability, preferred.activity,
                                None if preferred.expirationDuration is None
                                else parse_duration(preferred.expirationDuration))
        if event.clearUserPreferredPresence is not None:
            return ClearPreferred(where)
        if event.setStatusMessage is not None:
            status = event.setStatusMessage
            content = status.message.content if status.message is not None else None
            expiry = None
            if status.expiryDateTime is not None:
                given = status.expiryDateTime
                expiry_path = (*path, "setStatusMessage", "expiryDateTime")
                at = resolve_date_time_zone(given.dateTime, given.timeZone)
                if start is None:
                    self.problems.append(marks.problem(expiry_path, "an absolute expiry needs clock.start "
                                                                    "(expected expiresAfter, or give clock.start)"))
                    return None
                if at <= start + latest:
                    self.problems.append(marks.problem(expiry_path, f"'{given.dateTime}' is not after the event "
                                                       f"(last at {model.datetime_text(start + latest)}; expected "
                                                       "a later expiry)"))
                    return None
                expiry = StatusExpiry(at, given.dateTime, given.timeZone)
            return SetStatusMessage(where, content, expiry=expiry,
                                    expires_after=None if status.expiresAfter is None
                                    else parse_duration(status.expiresAfter))
        if event.lifecycleNotification is not None:
            return SendLifecycle(where, event.lifecycleNotification.lifecycleEvent)
        oof = event.outOfOfficeSettings
        assert oof is not None
        return SetOutOfOffice(where, oof.isOutOfOffice, oof.message)


def compile_files(files: Sequence[ScenarioFile]) -> Scenario:
    return _Compiler(files).compile()


def parse_scenario(text: str, source: str) -> Scenario:
    """One scenario from its text; ``source`` names it in error messages."""
    return compile_files([parse_file(text, source)])


def load_scenarios(paths: Sequence[str | Path]) -> Scenario:
    """Read, validate and merge scenario files; every problem in every file is in the ``ScenarioError``."""
    return load_sources([read_source(path) for path in paths])


def load_sources(sources: Sequence[ScenarioSource]) -> Scenario:
    """Validate and merge files already read (``load_scenarios`` once the files are read)."""
    files: list[ScenarioFile] = []
    problems: list[str] = []
    for source in sources:
        try:
            files.append(parse_file(source.text(), source.name))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return compile_files(files)
