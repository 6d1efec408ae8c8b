"""Read a YAML workflow definition, check everything, and build a :class:`Definition`.

Every problem is reported with the source line and column of the offending node; nothing
here raises anything but :class:`DefinitionError` for bad input.
"""

from __future__ import annotations

import keyword
import re
from collections import deque
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

from engine.errors import DefinitionError, Problem
from engine.guards import REGISTRY
from engine.guards.expressions import FUNCTIONS
from engine.guards.registry import Scope, check_guard_args, hint, known
from engine.language.model import (
    FIELD_TYPES,
    LANGUAGE_VERSION,
    LEDGER_POSTS,
    PII_TYPES,
    SCALAR_TYPES,
    Choice,
    Deadline,
    Definition,
    FieldSpec,
    FormItem,
    GuardSpec,
    Label,
    LedgerPosting,
    RoleSpec,
    StateSpec,
    TransitionSpec,
)
from engine.language.roles import BUILTIN_ROLES, LEVELS, SUBJECTS
from engine.language.source import Path, Positions, YamlSourceError, load_yaml

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = {"params", "case", "ledger", *FUNCTIONS, *keyword.kwlist, "true", "false", "none"}

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
)
REQUIRED_TOP_KEYS = ("rukun", "program", "title", "subject", "states", "transitions")
STATE_KEYS = ("name", "label", "description", "initial", "final", "deadline")
TRANSITION_KEYS = (
    "trigger",
    "label",
    "description",
    "source",
    "dest",
    "roles",
    "form",
    "guards",
    "ledger",
)
LEDGER_KEYS = ("post", "lines", "amount", "date", "document")
#: For each ledger post: (required keys, optional keys) and the field type each key names.
LEDGER_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "budget": (("lines",), ()),
    "approve": (("amount",), ()),
    "disburse": (("amount",), ("date",)),
    "report": (("amount",), ("document",)),
    "accept_report": ((), ()),
    "reject_report": ((), ()),
}
LEDGER_KEY_TYPES = {"lines": "list", "amount": "money", "date": "date", "document": "document"}
FIELD_KEYS_COMMON = ("type", "label", "help", "pii")
FIELD_KEYS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "list": ("item", "min_items", "max_items"),
    "cases": ("program", "link", "min_items", "max_items"),
    "string": ("max_length",),
    "text": ("max_length",),
    "integer": ("min", "max"),
    "money": ("min", "max"),
    "decimal": ("min", "max"),
    "choice": ("choices",),
}
DEADLINE_KEYS = ("days", "working_days", "escalate_to")
ROLE_KEYS = ("level", "label")
LABEL_KEYS = ("id", "en")
FORM_ITEM_KEYS = ("field", "required")


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


def parse_definition(text: str, source: str = "<definition>") -> Definition:
    """Validate YAML text; return the :class:`Definition` or raise :class:`DefinitionError`."""
    try:
        data, positions = load_yaml(text, source)
    except YamlSourceError as exc:
        raise DefinitionError([exc.problem]) from exc
    checker = _Checker(positions)
    definition = checker.check(data)
    if checker.problems or definition is None:
        raise DefinitionError(checker.problems)
    return definition


def humanize(name: str) -> Label:
    text = name.replace("_", " ").capitalize()
    return Label(text, text)


class _Checker:
    def __init__(self, positions: Positions) -> None:
        self.pos = positions
        self.problems: list[Problem] = []

    # -- helpers -----------------------------------------------------------------------
    def err(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.pos.problem(path, message, at_key=at_key))

    def keys(
        self, mapping: Mapping[str, Any], allowed: tuple[str, ...], path: Path, what: str
    ) -> None:
        for key in mapping:
            if key not in allowed:
                self.err(
                    (*path, key), f"unknown key '{key}' in {what}{hint(key, allowed)}", at_key=True
                )

    def mapping(self, value: Any, path: Path, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.err(path, f"{what} must be a mapping")
        return None

    def sequence(self, value: Any, path: Path, what: str) -> list[Any] | None:
        if isinstance(value, list):
            return value
        self.err(path, f"{what} must be a list")
        return None

    def name(self, value: Any, path: Path, what: str) -> str | None:
        if isinstance(value, str) and NAME.match(value):
            return value
        self.err(path, f"{what} must be a snake_case name (a-z, 0-9, _), got {value!r}")
        return None

    def label(self, value: Any, path: Path, default: Label | None = None) -> Label | None:
        if value is None:
            return default
        if isinstance(value, str):
            return Label(value, value)
        if isinstance(value, dict):
            self.keys(value, LABEL_KEYS, path, "label")
            texts = {k: v for k, v in value.items() if k in LABEL_KEYS}
            if not texts or not all(isinstance(v, str) for v in texts.values()):
                self.err(path, "label must be text or {id: ..., en: ...} with text values")
                return default
            indonesian, english = (
                texts.get("id") or texts.get("en"),
                texts.get("en") or texts.get("id"),
            )
            if not indonesian or not english:
                self.err(path, "label must not be empty")
                return default
            return Label(indonesian, english)
        self.err(path, "label must be text or {id: ..., en: ...}")
        return default

    # -- the document ------------------------------------------------------------------
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
        transitions = self.transitions(data.get("transitions", []), states, scope)
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

    def fields(
        self, raw: Any, path: Path = ("fields",), types: tuple[str, ...] = FIELD_TYPES
    ) -> dict[str, FieldSpec]:
        """Field declarations at ``path`` (the case's fields, or a list field's item)."""
        result: dict[str, FieldSpec] = {}
        fields = self.mapping(raw, path, "fields")
        for name, spec in (fields or {}).items():
            where: Path = (*path, name)
            if self.name(name, where, "field name") is None:
                continue
            if name in RESERVED_NAMES:
                self.err(where, f"field name '{name}' is reserved", at_key=True)
                continue
            body = self.mapping(spec, where, f"field '{name}'")
            if body is None:
                continue
            ftype = body.get("type")
            if ftype in ("list", "cases") and ftype not in types:
                self.err(
                    (*where, "type"),
                    f"field '{name}' of a list item cannot be a {ftype} (lists do not nest); "
                    f"one of {', '.join(types)}",
                )
                continue
            if not known(ftype, types):
                self.err(
                    (*where, "type") if "type" in body else where,
                    f"field '{name}' needs a type, one of {', '.join(types)}"
                    f"{hint(str(ftype), types)}",
                )
                continue
            allowed = FIELD_KEYS_COMMON + FIELD_KEYS_BY_TYPE.get(ftype, ())
            self.keys(body, allowed, where, f"field '{name}' ({ftype})")
            field_spec = self.field(name, ftype, body, where)
            if field_spec is not None:
                result[name] = field_spec
        return result

    def field(self, name: str, ftype: str, body: dict[str, Any], path: Path) -> FieldSpec | None:
        label = self.label(body.get("label"), (*path, "label"), humanize(name)) or humanize(name)
        help_text = self.label(body.get("help"), (*path, "help"))
        bounds: dict[str, float | None] = {"min": None, "max": None}
        for key in ("min", "max"):
            value = body.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.err((*path, key), f"'{key}' must be a number")
            elif ftype in ("integer", "money") and not isinstance(value, int):
                self.err((*path, key), f"'{key}' of a {ftype} field must be a whole number")
            else:
                bounds[key] = value
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            self.err((*path, "min"), f"min ({low}) is greater than max ({high})")
        max_length = body.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0
        ):
            self.err((*path, "max_length"), "max_length must be a positive whole number")
            max_length = None
        pii = body.get("pii", ftype in PII_TYPES)
        if not isinstance(pii, bool):
            self.err((*path, "pii"), "pii must be true or false")
            pii = ftype in PII_TYPES
        choices: list[Choice] = []
        if ftype == "choice":
            raw = body.get("choices")
            if raw is None:
                self.err(path, f"choice field '{name}' needs 'choices'")
            items = self.sequence(raw, (*path, "choices"), "choices") if raw is not None else None
            if items is not None and not items:
                self.err((*path, "choices"), "choices must not be empty")
            for i, item in enumerate(items or []):
                choice = self.choice(item, (*path, "choices", i))
                if choice is None:
                    continue
                if any(c.value == choice.value for c in choices):
                    self.err((*path, "choices", i), f"duplicate choice '{choice.value}'")
                choices.append(choice)
        item_fields: dict[str, FieldSpec] | None = None
        if ftype == "list":
            if "item" not in body:
                self.err(path, f"list field '{name}' needs 'item' (the fields of one entry)")
            else:
                item_fields = self.fields(body["item"], (*path, "item"), SCALAR_TYPES)
                if not item_fields and isinstance(body["item"], dict) and not body["item"]:
                    self.err((*path, "item"), "item must declare at least one field")
        counts = {
            key: self.count(body.get(key), (*path, key)) for key in ("min_items", "max_items")
        }
        if None not in counts.values() and counts["min_items"] > counts["max_items"]:  # type: ignore[operator]
            self.err((*path, "min_items"), "min_items is greater than max_items")
        program = body.get("program")
        if program is not None and not (isinstance(program, str) and NAME.match(program)):
            self.err((*path, "program"), "program must be a program slug")
            program = None
        link = body.get("link")
        if link is not None and not (isinstance(link, str) and NAME.match(link)):
            self.err((*path, "link"), "link must be a snake_case name")
            link = None
        return FieldSpec(
            name=name,
            type=ftype,
            label=label,
            help=help_text,
            min=low,
            max=high,
            max_length=max_length,
            choices=tuple(choices),
            pii=pii,
            item=item_fields,
            min_items=counts["min_items"],
            max_items=counts["max_items"],
            program=program,
            link=link,
        )

    def count(self, value: Any, path: Path) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.err(path, "must be a whole number, 0 or more")
            return None
        return value

    def choice(self, item: Any, path: Path) -> Choice | None:
        if isinstance(item, str | int) and not isinstance(item, bool):
            value = str(item)
            return Choice(value, humanize(value))
        if isinstance(item, dict):
            self.keys(item, ("value", "label"), path, "choice")
            raw = item.get("value")
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                self.err(path, "a choice needs a text 'value'")
                return None
            label = self.label(item.get("label"), (*path, "label"), humanize(str(raw)))
            return Choice(str(raw), label or humanize(str(raw)))
        quote = (
            " (quote it: YAML reads yes/no/true/false as booleans)"
            if isinstance(item, bool)
            else ""
        )
        self.err(path, "a choice must be text or {value: ..., label: ...}" + quote)
        return None

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

    def trigger_names(self, raw: Any) -> frozenset[str]:
        if not isinstance(raw, list):
            return frozenset()
        return frozenset(
            t["trigger"] for t in raw if isinstance(t, dict) and isinstance(t.get("trigger"), str)
        )

    def transitions(
        self, raw: Any, states: list[StateSpec], scope: Scope
    ) -> list[tuple[TransitionSpec, int]]:
        items = self.sequence(raw, ("transitions",), "transitions")
        by_name = {s.name: s for s in states}
        non_final = tuple(s.name for s in states if not s.final)
        result: list[tuple[TransitionSpec, int]] = []
        seen_pairs: dict[tuple[str, str], int] = {}
        for i, item in enumerate(items or []):
            path: Path = ("transitions", i)
            body = self.mapping(item, path, "a transition")
            if body is None:
                continue
            self.keys(body, TRANSITION_KEYS, path, "transition")
            for key in ("trigger", "source", "dest", "roles"):
                if key not in body:
                    self.err(path, f"transition needs '{key}'")
            trigger = (
                self.name(body.get("trigger"), (*path, "trigger"), "trigger")
                if "trigger" in body
                else None
            )
            sources, any_source = (
                self.sources(body.get("source"), (*path, "source"), by_name, non_final)
                if "source" in body
                else ((), False)
            )
            dest = body.get("dest")
            if "dest" in body and not known(dest, by_name):
                self.err((*path, "dest"), f"unknown state {dest!r}{hint(str(dest), list(by_name))}")
                dest = None
            roles = (
                self.transition_roles(body.get("roles"), (*path, "roles"), scope)
                if "roles" in body
                else ()
            )
            form = self.form(body.get("form", []), (*path, "form"), scope)
            guards = self.guards(body.get("guards", []), (*path, "guards"), scope)
            ledger = self.ledger(body.get("ledger"), (*path, "ledger"), scope)
            if trigger is None:
                continue
            for source in sources:
                pair = (trigger, source)
                if pair in seen_pairs:
                    line = self.pos.of(("transitions", seen_pairs[pair]))[0]
                    self.err(
                        (*path, "trigger"),
                        f"duplicate transition '{trigger}' from state '{source}' "
                        f"(already defined on line {line})",
                    )
                else:
                    seen_pairs[pair] = i
            if dest is None or not sources:
                continue
            spec = TransitionSpec(
                trigger=trigger,
                sources=sources,
                dest=str(dest),
                roles=roles,
                label=self.label(body.get("label"), (*path, "label"), humanize(trigger))
                or humanize(trigger),
                form=form,
                guards=guards,
                description=self.label(body.get("description"), (*path, "description")),
                any_source=any_source,
                ledger=ledger,
            )
            result.append((spec, i))
        return result

    def ledger(self, raw: Any, path: Path, scope: Scope) -> LedgerPosting | None:
        if raw is None:
            return None
        body = self.mapping(raw, path, "ledger")
        if body is None:
            return None
        self.keys(body, LEDGER_KEYS, path, "ledger")
        post = body.get("post")
        if not known(post, LEDGER_POSTS):
            self.err(
                (*path, "post") if "post" in body else path,
                (f"unknown ledger post {post!r}" if "post" in body else "ledger needs 'post'")
                + f" (one of {', '.join(LEDGER_POSTS)}){hint(str(post), LEDGER_POSTS)}",
            )
            return None
        required, optional = LEDGER_RULES[post]
        refs: dict[str, str] = {}
        for key in LEDGER_KEY_TYPES:
            if key not in body:
                if key in required:
                    self.err(path, f"ledger post '{post}' needs '{key}'")
                continue
            if key not in required + optional:
                self.err((*path, key), f"ledger post '{post}' takes no '{key}'", at_key=True)
                continue
            name, wanted = body[key], LEDGER_KEY_TYPES[key]
            spec = scope.fields.get(name) if isinstance(name, str) else None
            if spec is None:
                self.err(
                    (*path, key), f"unknown field {name!r}{hint(str(name), set(scope.fields))}"
                )
            elif spec.type != wanted:
                self.err(
                    (*path, key), f"field '{name}' is {spec.type}; '{key}' needs a {wanted} field"
                )
            elif key == "lines" and not (
                spec.item and spec.item.get("amount") and spec.item["amount"].type == "money"
            ):
                self.err(
                    (*path, key), f"list field '{name}' needs an 'amount' money field in its item"
                )
            else:
                refs[key] = name
        if len(refs) < len([k for k in body if k in LEDGER_KEY_TYPES]):
            return None
        return LedgerPosting(post=post, **refs)

    def sources(
        self, raw: Any, path: Path, by_name: Mapping[str, StateSpec], non_final: tuple[str, ...]
    ) -> tuple[tuple[str, ...], bool]:
        if raw == "*":
            return non_final, True
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            self.err(path, 'source must be a state, a list of states, or "*"')
            return (), False
        sources: list[str] = []
        for j, name in enumerate(items):
            where = path if isinstance(raw, str) else (*path, j)
            if not known(name, by_name):
                self.err(where, f"unknown state {name!r}{hint(str(name), list(by_name))}")
            elif by_name[name].final:
                self.err(where, f"transition out of final state '{name}'")
            elif name in sources:
                self.err(where, f"state '{name}' listed twice")
            else:
                sources.append(name)
        return tuple(sources), False

    def transition_roles(self, raw: Any, path: Path, scope: Scope) -> tuple[str, ...]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            self.err(path, "roles must be a non-empty list of role names")
            return ()
        roles = []
        for j, role in enumerate(items):
            where = path if isinstance(raw, str) else (*path, j)
            if not known(role, scope.roles):
                self.err(where, f"unknown role {role!r}{hint(str(role), scope.roles)}")
            else:
                roles.append(role)
        return tuple(roles)

    def form(self, raw: Any, path: Path, scope: Scope) -> tuple[FormItem, ...]:
        items = self.sequence(raw, path, "form")
        result: list[FormItem] = []
        for j, item in enumerate(items or []):
            where = (*path, j)
            required = True
            if isinstance(item, dict):
                self.keys(item, FORM_ITEM_KEYS, where, "form item")
                required_raw = item.get("required", True)
                if not isinstance(required_raw, bool):
                    self.err((*where, "required"), "'required' must be true or false")
                required = bool(required_raw)
                where = (*where, "field")
                item = item.get("field")
            if not isinstance(item, str) or item not in scope.fields:
                self.err(
                    where,
                    f"form field {item!r} is not declared in 'fields'"
                    f"{hint(str(item), set(scope.fields))}",
                )
                continue
            if any(f.field == item for f in result):
                self.err(where, f"form field '{item}' listed twice")
                continue
            result.append(FormItem(item, required))
        return tuple(result)

    def guards(self, raw: Any, path: Path, scope: Scope) -> tuple[GuardSpec, ...]:
        items = self.sequence(raw, path, "guards")
        result: list[GuardSpec] = []
        for j, item in enumerate(items or []):
            where = (*path, j)
            body = self.mapping(item, where, "a guard")
            if body is None:
                continue
            names = [k for k in body if k != "message"]
            if len(names) != 1:
                self.err(
                    where,
                    f"a guard names exactly one guard "
                    f"(one of {', '.join(sorted(REGISTRY))}), got {len(names)}",
                )
                continue
            name = names[0]
            if name not in REGISTRY:
                self.err(
                    (*where, name),
                    f"unknown guard '{name}'{hint(name, list(REGISTRY))}",
                    at_key=True,
                )
                continue
            args, problems = check_guard_args(REGISTRY[name], body[name], scope)
            for sub, message in problems:
                # a parameter the guard does not take: point at its name, as for unknown keys
                unknown = len(sub) == 1 and sub[0] not in REGISTRY[name].params
                self.err((*where, name, *sub), f"guard '{name}': {message}", at_key=unknown)
            message_label = self.label(body.get("message"), (*where, "message"))
            if not problems:
                result.append(GuardSpec(name, args, message_label))
        return tuple(result)

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
