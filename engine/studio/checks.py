"""Checks beyond syntax: warnings about a definition the validator accepts.

The validator says whether a definition can be loaded; these checks say whether it can work:
guards that read data no form has filled yet, states and transitions no role can act in,
guards that can never all hold, and deadlines that escalate to a role with nothing to do.
Each warning is a :class:`~engine.errors.Problem` pointing at the offending YAML node.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from engine.errors import DefinitionError, Problem
from engine.guards import REGISTRY
from engine.guards.registry import lookup_param, referenced_fields
from engine.language.loader import parse_with_positions
from engine.language.model import Definition, GuardSpec, TransitionSpec
from engine.language.roles import SUBJECTS, level_rank
from engine.language.source import Path, Positions

#: The keys of a ledger posting that name a case field, in the order they are reported.
LEDGER_FIELD_KEYS = ("lines", "amount", "date", "document")


def lint(text: str, source: str = "<definition>") -> list[Problem]:
    """Warnings for definition text, sorted by position; ``[]`` if the text does not even
    validate (syntax errors are the validator's job)."""
    try:
        definition, positions = parse_with_positions(text, source)
    except DefinitionError:
        return []
    return lint_definition(definition, positions)


def lint_definition(definition: Definition, positions: Positions) -> list[Problem]:
    """Warnings for a validated ``definition`` whose source positions are ``positions``."""
    problems = [
        *check_data_flow(definition, positions),
        *check_idle_states(definition, positions),
        *check_dead_transitions(definition, positions),
        *check_impossible_guards(definition, positions),
        *check_escalations(definition, positions),
    ]
    return sorted(set(problems))


def _guard_path(index: int, guard_index: int, spec: GuardSpec) -> Path:
    return ("transitions", index, "guards", guard_index, spec.name)


# --------------------------------------------------------------------------- data flow


def filled_fields(definition: Definition) -> dict[str, frozenset[str]]:
    """For each state, the fields certainly filled on every path from the start into it.

    A must-analysis: the start form fills fields at the initial state, each transition adds
    its form's fields (required or not), paths joining in a state keep what all of them
    filled; iterated from "everything" down to the greatest fixed point.
    """
    everything = frozenset(definition.fields)
    start = frozenset(item.field for item in definition.start_form)
    filled = {state.name: everything for state in definition.states}
    filled[definition.initial_state.name] = start
    changed = True
    while changed:
        changed = False
        for state in definition.states:
            incoming = [
                filled[source] | frozenset(t.form_fields)
                for t in definition.transitions
                if t.dest == state.name
                for source in t.sources
            ]
            if state.initial:
                incoming.append(start)
            new = frozenset.intersection(*incoming) if incoming else everything
            if new != filled[state.name]:
                filled[state.name], changed = new, True
    return filled


def unfilled_path(definition: Definition, field: str, state: str) -> tuple[str, ...] | None:
    """The shortest path of states from the initial one to ``state`` along which no form
    fills ``field``, or ``None`` if every path fills it."""
    initial = definition.initial_state.name
    if any(item.field == field for item in definition.start_form):
        return None
    previous: dict[str, str | None] = {initial: None}
    queue = deque([initial])
    while queue:
        current = queue.popleft()
        for t in definition.transitions_from(current):
            if field not in t.form_fields and t.dest not in previous:
                previous[t.dest] = current
                queue.append(t.dest)
    if state not in previous:
        return None
    path = [state]
    while (before := previous[path[-1]]) is not None:
        path.append(before)
    return tuple(reversed(path))


@dataclass(frozen=True)
class _Reader:
    """Something a transition runs that reads case fields: a guard or a ledger key."""

    what: str
    path: Path
    fields: tuple[str, ...]


def _readers(transition: TransitionSpec, index: int, field_names: set[str]) -> Iterator[_Reader]:
    for j, spec in enumerate(transition.guards):
        used = referenced_fields(REGISTRY[spec.name], spec.args, field_names)
        yield _Reader(f"guard '{spec.name}'", _guard_path(index, j, spec), used)
    posting = transition.ledger
    for key in LEDGER_FIELD_KEYS if posting is not None else ():
        name = getattr(posting, key)
        if name is not None:
            yield _Reader(f"ledger {key}", ("transitions", index, "ledger", key), (name,))


def check_data_flow(definition: Definition, positions: Positions) -> list[Problem]:
    """Guards and ledger postings that read a field no form fills on some path to them.

    A transition leaving state S warns about a field F it reads (and its own form does not
    fill) when some path into S leaves F empty, unless a loop on S fills F: a transition
    whose sources include S, whose dest is S and whose form has F (a "*" transition does not
    count). Such a loop is the deliberate "record at least one visit or report before
    evaluating" pattern, so the guard waiting for it is not a mistake.
    """
    filled = filled_fields(definition)
    field_names = set(definition.fields)
    problems = []
    for index, transition in enumerate(definition.transitions):
        for reader in _readers(transition, index, field_names):
            for field in reader.fields:
                path = _example_path(definition, transition, field, filled)
                if path is not None:
                    message = _unfilled_message(
                        reader.what, transition.trigger, field, path, _fillers(definition, field)
                    )
                    problems.append(positions.problem(reader.path, message, at_key=True))
    return problems


def _example_path(
    definition: Definition,
    transition: TransitionSpec,
    field: str,
    filled: dict[str, frozenset[str]],
) -> tuple[str, ...] | None:
    """The shortest path into one of the transition's sources that leaves ``field`` empty
    when the transition fires, if there is one; sources with a loop filling ``field`` are
    skipped."""
    if field in transition.form_fields:
        return None
    paths = [
        path
        for source in transition.sources
        if field not in filled[source]
        and not _loop_fills(definition, source, field)
        and (path := unfilled_path(definition, field, source)) is not None
    ]
    return min(paths, key=len, default=None)


def _loop_fills(definition: Definition, state: str, field: str) -> bool:
    """Some transition from ``state`` back to ``state`` (not a "*" one) fills ``field``."""
    return any(
        t.dest == state and not t.any_source and field in t.form_fields
        for t in definition.transitions_from(state)
    )


def _fillers(definition: Definition, field: str) -> tuple[str, ...]:
    """The triggers whose forms fill ``field``."""
    return tuple(dict.fromkeys(t.trigger for t in definition.transitions if field in t.form_fields))


def _unfilled_message(
    what: str, trigger: str, field: str, path: tuple[str, ...], fillers: tuple[str, ...]
) -> str:
    only = ""
    if fillers:
        verb = "fills" if len(fillers) == 1 else "fill"
        names = ", ".join(f"'{name}'" for name in fillers)
        only = f" (only {names} {verb} it)"
    if len(path) == 1:
        return (
            f"{what} of '{trigger}' reads '{field}', which nothing fills when a case starts "
            f"in '{path[0]}'{only}; add '{field}' to the form of '{trigger}' or to start_form"
        )
    return (
        f"{what} of '{trigger}' reads '{field}', which no form fills on the path "
        f"{' -> '.join(path)}{only}; add '{field}' to the form of '{trigger}' or of a "
        "transition on that path"
    )


# --------------------------------------------------------------------------- who can act


def role_can_act(definition: Definition, role: str) -> bool:
    """A grant of ``role`` can cover this program's subjects: the role has no region level,
    or its level is as wide as the subjects' level or wider."""
    level = definition.roles[role].level
    return level is None or level_rank(level) <= level_rank(SUBJECTS[definition.subject])


def _narrow_roles(definition: Definition, roles: list[str]) -> str:
    names = [f"{role} ({definition.roles[role].level})" for role in dict.fromkeys(roles)]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _subjects_phrase(definition: Definition, roles: list[str]) -> str:
    subject = SUBJECTS[definition.subject]
    levels = sorted({str(definition.roles[r].level) for r in roles}, key=level_rank)
    return f"this program's subjects are {subject}s, which no {' or '.join(levels)} contains"


def check_idle_states(definition: Definition, positions: Positions) -> list[Problem]:
    """Non-final states a case can leave only by a "*" transition, or only through roles
    too narrow ever to cover its subject."""
    problems = []
    subject = SUBJECTS[definition.subject]
    for index, state in enumerate(definition.states):
        if state.final:
            continue
        leaving = definition.transitions_from(state.name)
        movers = [t for t in leaving if not t.any_source]
        roles = [role for t in movers for role in t.roles]
        if not movers:
            stars = ", ".join(f"'{t.trigger}'" for t in leaving)
            message = (
                f"no role can move a case on from state '{state.name}': only \"*\" "
                f"transitions ({stars}) leave it; add a transition out of '{state.name}' "
                "or mark it final"
            )
        elif not any(role_can_act(definition, role) for role in roles):
            message = (
                f"no role can act in state '{state.name}': {_subjects_phrase(definition, roles)}"
                f", so no grant of {_narrow_roles(definition, roles)} can cover a case; "
                f"give a transition out of '{state.name}' a role at {subject} level or wider"
            )
        else:
            continue
        problems.append(positions.problem(("states", index, "name"), message))
    return problems


def check_dead_transitions(definition: Definition, positions: Positions) -> list[Problem]:
    """Transitions none of whose roles can ever cover the program's subjects."""
    problems = []
    subject = SUBJECTS[definition.subject]
    for index, transition in enumerate(definition.transitions):
        roles = list(transition.roles)
        if any(role_can_act(definition, role) for role in roles):
            continue
        message = (
            f"no role of '{transition.trigger}' can ever act: "
            f"{_subjects_phrase(definition, roles)}, so no grant of "
            f"{_narrow_roles(definition, roles)} can cover a case; use a role at {subject} "
            "level or wider"
        )
        problems.append(positions.problem(("transitions", index, "roles"), message))
    return problems


def check_escalations(definition: Definition, positions: Positions) -> list[Problem]:
    """Deadlines escalating to a role that no transition out of the state names."""
    problems = []
    for index, state in enumerate(definition.states):
        role = state.deadline.escalate_to if state.deadline else None
        acting = sorted({r for t in definition.transitions_from(state.name) for r in t.roles})
        if role is None or role in acting:
            continue
        message = (
            f"state '{state.name}' escalates to '{role}', which cannot act in "
            f"'{state.name}'; escalate to a role of a transition leaving it "
            f"({', '.join(acting)})"
        )
        problems.append(positions.problem(("states", index, "deadline", "escalate_to"), message))
    return problems


# --------------------------------------------------------------------------- impossible guards


@dataclass(frozen=True)
class _Bound:
    """One side of an interval a field must lie in; ``guard`` is ``None`` for the bound the
    field's declaration sets (``min:``/``max:``)."""

    subject: str
    upper: bool
    value: float
    strict: bool
    text: str
    guard: int | None


_OPS: dict[type[ast.cmpop], tuple[str, ...]] = {
    ast.Gt: (">",),
    ast.GtE: (">=",),
    ast.Lt: ("<",),
    ast.LtE: ("<=",),
    ast.Eq: (">=", "<="),
}
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _bound(subject: str, op: str, value: float, guard: int, text: str) -> _Bound:
    return _Bound(subject, op.startswith("<"), value, len(op) == 1, text, guard)


def _literal(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return raw


def _number(definition: Definition, raw: object) -> float | None:
    """A literal number or a ``params.x`` reference to one; ``None`` for anything else."""
    if isinstance(raw, str) and raw.startswith("params."):
        return _literal(lookup_param(definition.params, raw))
    return _literal(raw)


def _shown(raw: object, value: float) -> str:
    return f"{raw} ({value})" if isinstance(raw, str) else str(value)


def _declared_bounds(definition: Definition, subject: str) -> list[_Bound]:
    spec = definition.fields.get(subject)
    if spec is None:
        return []
    return [
        _Bound(subject, key == "max", value, False, f"{key}: {value}", None)
        for key, value in (("min", spec.min), ("max", spec.max))
        if value is not None
    ]


def _between_bounds(definition: Definition, spec: GuardSpec, guard: int) -> Iterator[_Bound]:
    subject = spec.args["field"]
    for key, op in (("min", ">="), ("max", "<=")):
        raw = spec.args.get(key)
        value = _number(definition, raw)
        if value is not None:
            yield _bound(subject, op, value, guard, f"'{subject}' {op} {_shown(raw, value)}")


def _expr_subject(definition: Definition, node: ast.expr) -> str | None:
    if isinstance(node, ast.Name) and node.id in definition.fields:
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"ledger.{node.attr}" if node.value.id == "ledger" else None
    return None


def _expr_number(definition: Definition, node: ast.expr) -> float | None:
    """A number literal (maybe signed) or a ``params.x`` attribute naming a number."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _expr_number(definition, node.operand)
        return -value if value is not None and isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        return _literal(node.value)
    text = ast.unparse(node)
    if isinstance(node, ast.Attribute) and text.startswith("params."):
        return _number(definition, text)
    return None


def _conjuncts(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        for value in node.values:
            yield from _conjuncts(value)
    else:
        yield node


def _expr_bounds(definition: Definition, spec: GuardSpec, guard: int) -> Iterator[_Bound]:
    tree = ast.parse(spec.args["expression"].strip(), mode="eval")
    for node in _conjuncts(tree.body):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for left, op_node, right in zip(operands, node.ops, operands[1:], strict=False):
            ops, subject = _OPS.get(type(op_node), ()), _expr_subject(definition, left)
            literal = right
            if subject is None:
                subject, literal = _expr_subject(definition, right), left
                ops = tuple(_FLIPPED[op] for op in ops)
            value = _expr_number(definition, literal)
            if subject is None or value is None:
                continue
            written = ast.unparse(literal)
            shown = _shown(written, value) if written.startswith("params.") else written
            text = f"'{subject}' {'==' if len(ops) == 2 else ops[0]} {shown}"
            for op in ops:
                yield _bound(subject, op, value, guard, text)


def _guard_bounds(definition: Definition, spec: GuardSpec, guard: int) -> Iterator[_Bound]:
    if spec.name == "amount_between":
        yield from _between_bounds(definition, spec, guard)
    elif spec.name == "expr":
        yield from _expr_bounds(definition, spec, guard)


def _empty(low: _Bound, high: _Bound) -> bool:
    return low.value > high.value or (low.value == high.value and (low.strict or high.strict))


def _tighter(new: _Bound, old: _Bound | None) -> bool:
    if old is None:
        return True
    if new.value == old.value:
        return new.strict and not old.strict
    return new.value < old.value if new.upper else new.value > old.value


def _first_conflict(bounds: list[_Bound]) -> tuple[_Bound, _Bound] | None:
    """The first bound (in order) that leaves no value possible, and the one it clashes
    with."""
    tightest: dict[bool, _Bound | None] = {True: None, False: None}
    for bound in bounds:
        if not _tighter(bound, tightest[bound.upper]):
            continue
        tightest[bound.upper] = bound
        low, high = tightest[False], tightest[True]
        if low is not None and high is not None and _empty(low, high):
            return bound, high if bound is low else low
    return None


def check_impossible_guards(definition: Definition, positions: Positions) -> list[Problem]:
    """Triggers whose guards bound one field (or ledger total) so that no value fits."""
    problems = []
    for index, transition in enumerate(definition.transitions):
        bounds = [
            bound
            for j, spec in enumerate(transition.guards)
            for bound in _guard_bounds(definition, spec, j)
        ]
        for subject in dict.fromkeys(b.subject for b in bounds):
            mine = [b for b in bounds if b.subject == subject]
            conflict = _first_conflict(_declared_bounds(definition, subject) + mine)
            if conflict is None:
                continue
            new, other = conflict
            assert new.guard is not None  # declared bounds come first and never clash
            spec = transition.guards[new.guard]
            message = _conflict_message(transition, new, other, positions, index)
            problems.append(
                positions.problem(_guard_path(index, new.guard, spec), message, at_key=True)
            )
    return problems


def _conflict_message(
    transition: TransitionSpec, new: _Bound, other: _Bound, positions: Positions, index: int
) -> str:
    assert new.guard is not None
    name, trigger = transition.guards[new.guard].name, transition.trigger
    if other.guard is None:
        return (
            f"guard '{name}' of '{trigger}' can never hold: it needs {new.text}, but field "
            f"'{new.subject}' is declared with {other.text}; change the bound or the field's "
            f"{other.text.split(':')[0]}"
        )
    if other.guard == new.guard:
        return (
            f"guard '{name}' of '{trigger}' can never hold: it needs {other.text} and "
            f"{new.text}; make the bounds overlap"
        )
    other_spec = transition.guards[other.guard]
    line = positions.of_key(_guard_path(index, other.guard, other_spec))[0]
    return (
        f"the guards of '{trigger}' can never all hold: '{name}' needs {new.text}, but "
        f"'{other_spec.name}' on line {line} needs {other.text}; make the bounds overlap"
    )
