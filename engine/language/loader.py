"""Read a YAML workflow definition, check everything, and build a :class:`Definition`.

Every problem is reported with the source line and column of the offending node; nothing
here raises anything but :class:`DefinitionError` for bad input. The parts of the check
are by what they check: the document, its params, roles, regions and states here; fields
in :mod:`engine.language.field_checks`; transitions, forms, guards and ledger postings in
:mod:`engine.language.transition_checks`; the shared plumbing in
:mod:`engine.language.checking`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

from engine.errors import DefinitionError, Problem
from engine.guards.registry import Scope, hint, known
from engine.language.checking import humanize
from engine.language.field_checks import FieldChecks
from engine.language.model import (
    LANGUAGE_VERSION,
    Deadline,
    Definition,
    RoleSpec,
    StateSpec,
    TransitionSpec,
)
from engine.language.roles import BUILTIN_ROLES, LEVELS, SUBJECTS
from engine.language.source import Path, Positions, YamlSourceError, load_yaml
from engine.language.transition_checks import TransitionChecks

TOP_KEYS = (
    "rukun",
    "program",
    "title",
    "description",
    "subject",
    "params",
    "roles",
    "fields",
    "pii_roles",
    "start_form",
    "regions",
    "states",
    "transitions",
    "templates",
)
REQUIRED_TOP_KEYS = ("rukun", "program", "title", "subject", "states", "transitions")
STATE_KEYS = ("name", "label", "description", "initial", "final", "deadline")
DEADLINE_KEYS = ("days", "working_days", "escalate_to")
ROLE_KEYS = ("level", "label")


def read_definition_text(path: str | FilePath) -> str:
    """A definition file's text; a file that cannot be read is a :class:`DefinitionError`
    at its line 1, column 1."""
    try:
        return FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), 1, 1, f"cannot read file: {exc}")]) from exc


def load_definition(path: str | FilePath) -> Definition:
    """Read and validate a definition file; raise :class:`DefinitionError` with every problem."""
    return parse_definition(read_definition_text(path), str(path))


def parse_definition(
    text: str, source: str = "<definition>", *, read_before: bool = False
) -> Definition:
    """Validate YAML text; return the :class:`Definition` or raise :class:`DefinitionError`.
    ``read_before``: the text of a stored version, read faster (see :func:`load_yaml`) and
    checked in full all the same."""
    return parse_with_positions(text, source, read_before=read_before)[0]


def parse_with_positions(
    text: str, source: str = "<definition>", *, read_before: bool = False
) -> tuple[Definition, Positions]:
    """:func:`parse_definition`, also returning where each node of the text is (for checks
    that point into the source, as the studio's do), from the one reading of the YAML."""
    try:
        data, positions = load_yaml(text, source, read_before=read_before)
    except YamlSourceError as exc:
        raise DefinitionError([exc.problem]) from exc
    checker = _Checker(positions)
    definition = checker.check(data)
    if checker.problems or definition is None:
        raise DefinitionError(checker.problems)
    return definition, positions


class _Checker(FieldChecks, TransitionChecks):
    """The whole definition: its parts checked in order, then the state graph."""

    def check(self, data: Any) -> Definition | None:
        if not isinstance(data, dict):
            self.err(
                (), "a definition must be a YAML mapping with keys " + ", ".join(REQUIRED_TOP_KEYS)
            )
            return None
        self.keys(data, TOP_KEYS, (), "definition")
        for key in REQUIRED_TOP_KEYS:
            if key not in data:
                self.err((), f"missing required key '{key}'")
        version = data.get("rukun")
        if "rukun" in data and (isinstance(version, bool) or version != LANGUAGE_VERSION):
            self.err(
                ("rukun",),
                f"unsupported language version {version!r} "
                f"(this engine reads rukun: {LANGUAGE_VERSION})",
            )
        program = (
            self.name(data.get("program"), ("program",), "program") if "program" in data else None
        )
        title = self.label(data.get("title"), ("title",), humanize(program or "program"))
        description = self.label(data.get("description"), ("description",))
        subject = data.get("subject")
        if "subject" in data and not known(subject, SUBJECTS):
            self.err(
                ("subject",),
                f"unknown subject {subject!r} (one of {', '.join(SUBJECTS)})"
                f"{hint(str(subject), list(SUBJECTS))}",
            )
        params = self.params(data.get("params", {}))
        roles = self.roles(data.get("roles", {}))
        fields = self.fields(data.get("fields", {}))
        pii_roles = self.pii_roles(data.get("pii_roles", []), roles)
        regions = self.regions(data.get("regions", []))
        states = self.states(data.get("states", []), roles)
        state_names = frozenset(s.name for s in states)
        scope = Scope(
            fields=fields,
            params=params,
            states=state_names,
            triggers=self.trigger_names(data.get("transitions")),
            roles=frozenset(roles),
            subject_level=SUBJECTS.get(subject) if known(subject, SUBJECTS) else None,
        )
        templates = self.templates(data.get("templates"), fields, params)
        transitions = self.transitions(data.get("transitions", []), states, scope, templates)
        start_form = self.form(data.get("start_form", []), ("start_form",), scope)
        if not self.problems:
            self.graph(states, transitions)
        if self.problems or program is None or title is None:
            return None
        return Definition(
            program=program,
            title=title,
            subject=str(subject),
            params=params,
            fields=fields,
            states=tuple(states),
            transitions=tuple(t for t, _ in transitions),
            roles=roles,
            description=description,
            pii_roles=pii_roles,
            regions=regions,
            start_form=start_form,
            templates=templates,
        )

    def params(self, raw: Any) -> dict[str, Any]:
        params = self.mapping(raw, ("params",), "params")
        if params is None:
            return {}
        for key in params:
            self.name(key, ("params", key), "parameter name")
        return params

    def roles(self, raw: Any) -> dict[str, RoleSpec]:
        roles = dict(BUILTIN_ROLES)
        declared = self.mapping(raw, ("roles",), "roles")
        for name, spec in (declared or {}).items():
            path: Path = ("roles", name)
            if self.name(name, path, "role name") is None:
                continue
            if name in BUILTIN_ROLES:
                self.err(path, f"role '{name}' is built in and cannot be redeclared", at_key=True)
                continue
            body = self.mapping(spec if spec is not None else {}, path, f"role '{name}'") or {}
            self.keys(body, ROLE_KEYS, path, f"role '{name}'")
            level = body.get("level")
            if level is not None and level not in LEVELS:
                self.err(
                    (*path, "level"), f"unknown region level {level!r} (one of {', '.join(LEVELS)})"
                )
                level = None
            label = self.label(body.get("label"), (*path, "label"), humanize(name)) or humanize(
                name
            )
            roles[name] = RoleSpec(name, level, label)
        return roles

    def regions(self, raw: Any) -> tuple[str, ...]:
        items = self.sequence(raw, ("regions",), "regions") or []
        for i, code in enumerate(items):
            if not (isinstance(code, str) and code and " " not in code and "/" not in code):
                self.err(("regions", i), f'region codes are quoted text like "64.72", got {code!r}')
        return tuple(c for c in items if isinstance(c, str))

    def pii_roles(self, raw: Any, roles: Mapping[str, RoleSpec]) -> tuple[str, ...]:
        items = self.sequence(raw, ("pii_roles",), "pii_roles") or []
        for i, role in enumerate(items):
            if not known(role, roles):
                self.err(("pii_roles", i), f"unknown role {role!r}{hint(str(role), list(roles))}")
        return tuple(r for r in items if known(r, roles))

    def states(self, raw: Any, roles: Mapping[str, RoleSpec]) -> list[StateSpec]:
        items = self.sequence(raw, ("states",), "states")
        result: list[StateSpec] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items or []):
            path: Path = ("states", i)
            body = self.mapping(item, path, "a state")
            if body is None:
                continue
            self.keys(body, STATE_KEYS, path, "state")
            if "name" not in body:
                self.err(path, "state needs a 'name'")
                continue
            name = self.name(body["name"], (*path, "name"), "state name")
            if name is None:
                continue
            if name in seen:
                line = self.pos.of(("states", seen[name], "name"))[0]
                self.err(
                    (*path, "name"), f"duplicate state '{name}' (first defined on line {line})"
                )
                continue
            seen[name] = i
            flags = {}
            for flag in ("initial", "final"):
                value = body.get(flag, False)
                if not isinstance(value, bool):
                    self.err((*path, flag), f"'{flag}' must be true or false")
                    value = False
                flags[flag] = value
            if flags["initial"] and flags["final"]:
                self.err((*path, "final"), f"state '{name}' cannot be both initial and final")
            deadline = self.deadline(
                body.get("deadline"), (*path, "deadline"), roles, flags["final"]
            )
            result.append(
                StateSpec(
                    name=name,
                    label=self.label(body.get("label"), (*path, "label"), humanize(name))
                    or humanize(name),
                    initial=flags["initial"],
                    final=flags["final"],
                    description=self.label(body.get("description"), (*path, "description")),
                    deadline=deadline,
                )
            )
        initials = [s for s in result if s.initial]
        if items is not None and not initials:
            self.err(("states",), "no initial state: mark exactly one state with 'initial: true'")
        for extra in initials[1:]:
            index = seen[extra.name]
            self.err(
                ("states", index, "initial"),
                f"second initial state '{extra.name}' (only one state may be initial)",
            )
        return result

    def deadline(
        self, raw: Any, path: Path, roles: Mapping[str, RoleSpec], final: bool
    ) -> Deadline | None:
        if raw is None:
            return None
        body = self.mapping(raw, path, "deadline")
        if body is None:
            return None
        self.keys(body, DEADLINE_KEYS, path, "deadline")
        if final:
            self.err(path, "a final state cannot have a deadline")
        spans = [k for k in ("days", "working_days") if k in body]
        if len(spans) != 1:
            self.err(path, "deadline needs exactly one of 'days' or 'working_days'")
            return None
        span = body[spans[0]]
        if isinstance(span, bool) or not isinstance(span, int) or span <= 0:
            self.err((*path, spans[0]), f"'{spans[0]}' must be a positive whole number")
            return None
        escalate_to = body.get("escalate_to")
        if escalate_to is not None and not known(escalate_to, roles):
            self.err(
                (*path, "escalate_to"),
                f"unknown role '{escalate_to}'{hint(str(escalate_to), list(roles))}",
            )
        return Deadline(
            days=span if spans[0] == "days" else None,
            working_days=span if spans[0] == "working_days" else None,
            escalate_to=escalate_to,
        )

    def graph(self, states: list[StateSpec], transitions: list[tuple[TransitionSpec, int]]) -> None:
        initial = next((s.name for s in states if s.initial), None)
        if initial is None:
            return
        edges: dict[str, set[str]] = {s.name: set() for s in states}
        for spec, _ in transitions:
            for source in spec.sources:
                edges[source].add(spec.dest)
        reached = {initial}
        queue = deque([initial])
        while queue:
            for nxt in edges[queue.popleft()]:
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for index, state in enumerate(states):
            where: Path = ("states", index, "name")
            if state.name not in reached:
                self.err(
                    where, f"state '{state.name}' is unreachable from the initial state '{initial}'"
                )
            if not state.final and not edges[state.name]:
                self.err(
                    where, f"state '{state.name}' is not final but has no transition out of it"
                )
