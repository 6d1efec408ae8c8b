"""The guard registry: how a guard declares its parameters, how YAML arguments are checked
against them, and how guards run against a case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import Any, TypeGuard

from engine.guards.expressions import EvaluationLimit, ExpressionError, check_expression
from engine.language.model import LEDGER_TOTALS, FieldSpec, GuardSpec, Label
from engine.language.roles import LEVELS

ArgPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Param:
    """One parameter of a guard.

    ``kind`` is one of: ``field`` (a declared field), ``fields`` (a list of them), ``value``
    (a number, a ``params.x`` reference, a ``ledger.x`` total or a numeric field),
    ``amount`` (a numeric field or a ``ledger.x`` total), ``amounts`` (a list of them),
    ``limit`` (a ``value``, or a ``params.x`` mapping of numbers by region or year),
    ``role``, ``trigger``, ``level``, ``states``, ``expression``, ``bool``, ``name`` (a
    snake_case word), ``enum`` (one of ``choices``).
    """

    kind: str
    required: bool = True
    default: Any = None
    field_types: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """What a definition declares, for checking guard arguments against it."""

    fields: Mapping[str, FieldSpec]
    params: Mapping[str, Any]
    states: frozenset[str]
    triggers: frozenset[str]
    roles: frozenset[str]
    #: The region level of the program's subjects (``rt``, ``group``...), when known.
    subject_level: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a guard function returns: whether it holds, and the values for its message."""

    ok: bool
    values: Mapping[str, Any] = field(default_factory=dict)
    #: A message for this particular failure, used instead of the guard's default one (a
    #: message written in the YAML still wins).
    message: Label | None = None


@dataclass
class GuardContext:
    """What a guard may look at. Built by the runtime; guards never touch the database."""

    data: Mapping[str, Any]
    params: Mapping[str, Any]
    fields: Mapping[str, FieldSpec]
    case: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]] = ()
    count_cases: Callable[[str, Sequence[str] | None], int] = lambda level, states: 0
    #: Values of a field (or of one key of a list field's items) in this program's other
    #: cases currently in ``states``.
    other_values: Callable[[str, str | None, Sequence[str] | None], set[Any]] = (
        lambda field, key, states: set()
    )
    #: The case's ledger totals as they would be after this transition (see LEDGER_TOTALS).
    ledger: Mapping[str, int] = field(default_factory=dict)
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def resolve(self, value: Any) -> Any:
        """A ``value`` argument: literal number, ``params.a.b`` or a field's current value."""
        if isinstance(value, str):
            if value.startswith("params."):
                return lookup_param(self.params, value)
            if value.startswith("ledger."):
                return self.ledger.get(value[len("ledger.") :], 0)
            return self.field_value(value)
        return value

    def field_value(self, name: str) -> Any:
        """A field's current value as a guard compares it: ``decimal`` fields (stored as
        exact text) as :class:`~decimal.Decimal`."""
        value = self.data.get(name)
        spec = self.fields.get(name)
        if spec is not None and spec.type == "decimal" and isinstance(value, str):
            try:
                return Decimal(value)
            except InvalidOperation:
                return None
        return value

    def label(self, field_name: str, lang: str) -> str:
        spec = self.fields.get(field_name)
        return spec.label.get(lang) if spec else field_name


GuardFunction = Callable[[GuardContext, Mapping[str, Any]], Outcome]


ExtraCheck = Callable[[Mapping[str, Any], "Scope"], list[tuple["ArgPath", str]]]


@dataclass(frozen=True)
class GuardType:
    name: str
    function: GuardFunction
    params: Mapping[str, Param]
    message: Label
    shorthand: str | None = None
    description: str = ""
    check: ExtraCheck | None = None


@dataclass(frozen=True)
class GuardResult:
    """The recorded result of one guard: ``ok`` is ``None`` when it waits on form input."""

    name: str
    args: Mapping[str, Any]
    ok: bool | None
    message: Label | None
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "guard": self.name,
            "args": dict(self.args),
            "ok": self.ok,
            "message": self.message.to_json() if self.message else None,
        }


REGISTRY: dict[str, GuardType] = {}


def guard(
    name: str,
    *,
    params: Mapping[str, Param],
    message: Label,
    shorthand: str | None = None,
    check: ExtraCheck | None = None,
) -> Callable[[GuardFunction], GuardFunction]:
    """Register ``function`` as the guard ``name``; YAML can then use it by that name.
    ``check`` may add problems the parameter kinds cannot express (relations between them)."""

    def register(function: GuardFunction) -> GuardFunction:
        if name in REGISTRY:
            raise ValueError(f"guard '{name}' registered twice")
        description = (function.__doc__ or "").strip()
        REGISTRY[name] = GuardType(
            name, function, dict(params), message, shorthand, description, check
        )
        return function

    return register


def lookup_param(params: Mapping[str, Any], ref: str) -> Any:
    value: Any = params
    for part in ref.split(".")[1:]:
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(ref)
        value = value[part]
    return value


def known(value: Any, names: Collection[str]) -> TypeGuard[str]:
    """``value`` is one of ``names`` (a YAML list or mapping is never a name)."""
    return isinstance(value, str) and value in names


def hint(name: str, known: Sequence[str] | set[str] | frozenset[str]) -> str:
    match = get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


# --------------------------------------------------------------------------- checking


def check_guard_args(
    guard_type: GuardType, raw: Any, scope: Scope
) -> tuple[dict[str, Any], list[tuple[ArgPath, str]]]:
    """Normalise YAML arguments for ``guard_type``; return them with any problems found."""
    problems: list[tuple[ArgPath, str]] = []
    if raw is None and not guard_type.params:  # `- tranche_accounted:` takes nothing
        raw = {}
    if not isinstance(raw, Mapping):
        if not guard_type.params:
            return {}, [((), f"takes no arguments (write '{guard_type.name}: {{}}')")]
        if guard_type.shorthand is None:
            expected = ", ".join(guard_type.params)
            return {}, [((), f"takes a mapping ({expected})")]
        raw = {guard_type.shorthand: raw}
        shorthand_used = True
    else:
        shorthand_used = False
    args: dict[str, Any] = {}
    for key in raw:
        if key not in guard_type.params:
            problems.append(
                (
                    (key,),
                    f"unknown parameter '{key}'{hint(key, list(guard_type.params))}",
                )
            )
    for pname, param in guard_type.params.items():
        if pname not in raw:
            if param.required:
                problems.append(((), f"missing parameter '{pname}'"))
            elif param.default is not None:
                args[pname] = param.default
            continue
        path: ArgPath = () if shorthand_used else (pname,)
        value, errors = _check_param(param, raw[pname], scope)
        problems.extend((path + sub, msg) for sub, msg in errors)
        args[pname] = value
    if not problems and guard_type.check is not None:
        problems.extend(guard_type.check(args, scope))
    return args, problems


def _check_param(param: Param, value: Any, scope: Scope) -> tuple[Any, list[tuple[ArgPath, str]]]:
    kind = param.kind
    if kind == "field":
        return value, _check_field(value, param, scope, ())
    if kind == "fields":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            return value, [((), "expected a list of field names")]
        errors = [e for i, item in enumerate(items) for e in _check_field(item, param, scope, (i,))]
        return list(items), errors
    if kind == "value":
        return value, _check_value(value, scope)
    if kind == "limit":
        return value, _check_value(value, scope, mapping_ok=True)
    if kind == "amount":
        return value, _check_amount(value, param, scope)
    if kind == "amounts":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            return value, [((), "expected a list of numeric fields or ledger totals")]
        errors = [
            ((i,), message)
            for i, item in enumerate(items)
            for _, message in _check_amount(item, param, scope)
        ]
        return list(items), errors
    if kind == "name":
        if not (isinstance(value, str) and value.isidentifier()):
            return value, [((), "expected a snake_case name")]
        return value, []
    if kind == "enum":
        if not known(value, param.choices):
            return value, [((), f"expected one of {', '.join(param.choices)}")]
        return value, []
    if kind == "role":
        if not known(value, scope.roles):
            return value, [((), f"unknown role '{value}'{hint(str(value), scope.roles)}")]
        return value, []
    if kind == "trigger":
        if not known(value, scope.triggers):
            return value, [((), f"unknown trigger '{value}'{hint(str(value), scope.triggers)}")]
        return value, []
    if kind == "level":
        if value not in LEVELS:
            return value, [((), f"unknown region level '{value}' (one of {', '.join(LEVELS)})")]
        return value, []
    if kind == "states":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value, [((), "expected a list of state names")]
        errors = [
            ((i,), f"unknown state '{s}'{hint(str(s), scope.states)}")
            for i, s in enumerate(items)
            if not known(s, scope.states)
        ]
        return list(items), errors
    if kind == "expression":
        try:
            check_expression(value, set(scope.fields), scope.params)
        except ExpressionError as exc:
            return value, [((), str(exc))]
        return value, []
    if kind == "bool":
        if not isinstance(value, bool):
            return value, [((), "expected true or false")]
        return value, []
    raise AssertionError(f"unknown parameter kind {kind}")


def _check_field(
    value: Any, param: Param, scope: Scope, path: ArgPath
) -> list[tuple[ArgPath, str]]:
    if not isinstance(value, str) or value not in scope.fields:
        return [(path, f"unknown field '{value}'{hint(str(value), set(scope.fields))}")]
    ftype = scope.fields[value].type
    if param.field_types and ftype not in param.field_types:
        allowed = " or ".join(param.field_types)
        return [(path, f"field '{value}' is {ftype}; this guard needs {allowed}")]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_ledger_ref(value: str) -> list[tuple[ArgPath, str]]:
    total = value[len("ledger.") :]
    if total not in LEDGER_TOTALS:
        return [((), f"unknown ledger total '{value}' (one of {', '.join(LEDGER_TOTALS)})")]
    return []


def _check_amount(value: Any, param: Param, scope: Scope) -> list[tuple[ArgPath, str]]:
    if isinstance(value, str) and value.startswith("ledger."):
        return _check_ledger_ref(value)
    return _check_field(value, param, scope, ())


def _check_value(value: Any, scope: Scope, mapping_ok: bool = False) -> list[tuple[ArgPath, str]]:
    expected = "expected a number, a params.* or ledger.* reference, or a numeric field"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return [((), expected)]
    if not isinstance(value, str):
        return []
    if value.startswith("ledger."):
        return _check_ledger_ref(value)
    if value.startswith("params."):
        try:
            resolved = lookup_param(scope.params, value)
        except KeyError:
            last = value.rsplit(".", 1)[-1]
            return [((), f"unknown parameter '{value}'{hint(last, set(scope.params))}")]
        if mapping_ok and isinstance(resolved, Mapping):
            if not resolved or not all(_is_number(v) for v in resolved.values()):
                return [((), f"parameter '{value}' must map names or years to numbers")]
            return []
        if not _is_number(resolved):
            return [((), f"parameter '{value}' is not a number")]
        return []
    spec = scope.fields.get(value)
    if spec is None:
        return [((), f"unknown field '{value}'{hint(value, set(scope.fields))}")]
    if not spec.is_numeric:
        return [((), f"field '{value}' is {spec.type}, not a number")]
    return []


# --------------------------------------------------------------------------- running


def referenced_fields(
    guard_type: GuardType, args: Mapping[str, Any], scope_fields: set[str]
) -> tuple[str, ...]:
    """The case fields a guard reads; used to tell 'fails now' from 'waits on the form'."""
    found: list[str] = []
    for pname, param in guard_type.params.items():
        value = args.get(pname)
        if param.kind in ("field", "amount", "value", "limit") and isinstance(value, str):
            found.extend([value] if value in scope_fields else [])
        elif param.kind in ("fields", "amounts") and isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str) and v in scope_fields)
        elif param.kind == "expression" and isinstance(value, str):
            import ast

            found.extend(
                node.id
                for node in ast.walk(ast.parse(value.strip(), mode="eval"))
                if isinstance(node, ast.Name) and node.id in scope_fields
            )
    return tuple(dict.fromkeys(found))


def evaluate_guards(
    guards: Sequence[GuardSpec],
    context: GuardContext,
    pending_fields: set[str] | frozenset[str] = frozenset(),
) -> list[GuardResult]:
    """Run every guard (no short-circuit, so each result is recorded).

    A guard that reads a field in ``pending_fields`` (form input not yet given) and fails
    is reported with ``ok=None`` rather than as a failure.
    """
    results = []
    field_names = set(context.fields)
    for spec in guards:
        guard_type = REGISTRY[spec.name]
        used = referenced_fields(guard_type, spec.args, field_names)
        bounded = False
        try:
            outcome = guard_type.function(context, spec.args)
        except Exception as exc:  # a guard that cannot evaluate does not hold
            outcome = Outcome(False, {"error": str(exc)})
            bounded = isinstance(exc, EvaluationLimit)
        ok: bool | None = outcome.ok
        if not ok and pending_fields.intersection(used):
            ok = None
        message = None
        if ok is not True:
            template = spec.message or outcome.message or guard_type.message
            message = template.format(**outcome.values)
            if "error" in outcome.values and (spec.message is None or bounded):
                # the default message's placeholders have no values, and the YAML's would
                # mislead when the input went past a sandbox bound: say what went wrong
                error = outcome.values["error"]
                message = Label(
                    f"Syarat '{spec.name}' tidak dapat diperiksa (galat: {error})",
                    f"Guard '{spec.name}' could not be checked (error: {error})",
                )
        args = dict(spec.args)
        if outcome.values:
            args["resolved"] = _jsonable(outcome.values)
        results.append(GuardResult(spec.name, args, ok, message, used))
    return results


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out
