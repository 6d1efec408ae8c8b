"""What changed between two versions of a definition: a structural diff of the parsed model
(for reviewing a draft before publishing), a text diff of the YAML, and one-line summaries.

Every item of :func:`structural_diff` is a JSON-serialisable dict ``{"kind", "name", ...}``:

- ``kind`` is one of :data:`KINDS`. Changed items carry ``"from"`` and ``"to"``, and
  ``"attribute"`` (what changed) unless the kind says it all (``param``, ``guard``,
  ``deadline``, ``role`` of a transition).
- A transition is named by its trigger, or ``"trigger (source, ...)"`` when several transitions
  share the trigger (``"*"`` for ``source: "*"``); its items carry ``"trigger"`` and
  ``"sources"``. Changed items are named as in the new definition, removed ones as in the old.
- A transition's roles changing is a changed ``role`` item named as the transition (declared
  roles are named by role and carry no ``"trigger"``).
- A form item is a ``field`` item named ``"<transition>: <field>"`` (or ``"start_form: <field>"``)
  with ``"field"`` and ``"form"`` keys; declared fields are named by field (``"list.sub"`` for a
  list's sub-field) and carry no ``"form"``.
- A guard is named ``"<transition>: <guard>"`` (``"... #2"`` when a transition has several
  guards of that name); changed ones carry the old and new args as ``"from"`` / ``"to"``.
- Params are named by their dotted path and carry the ``"path"`` list (region codes have dots)
  and ``"scope": "params"``; program-level settings (``program``, ``subject``, ``regions``,
  ``pii_roles``) are ``param`` items with ``"scope": "program"``.
- Labels (titles, descriptions, help, guard messages) are ``label`` items with ``"of"`` (program,
  state, transition, field, choice, role, guard) and ``"attribute"``; ``from``/``to`` are
  ``{"id", "en"}`` or null (``of`` may also be ``template``).
- Document templates are ``template`` items named by template; a changed one carries
  ``"attribute"`` ``html`` (``from``/``to``: the first 12 hex digits of each text's SHA-256;
  the text diff shows the lines) or ``filename``, and its title is a ``label`` item of
  ``template``. What a transition generates is its ``generates`` attribute: a list of
  ``{"template", "field"}``.
- The parts of an added or removed state or transition (its deadline, form, guards, labels) are
  in its item, not listed again. Reordering a list (states, forms, guards) is not a change.

Items are sorted by kind (in the order of :data:`KINDS`), then name.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from engine.language.model import (
    Deadline,
    Definition,
    FieldSpec,
    FormItem,
    GuardSpec,
    Label,
    LedgerPosting,
    RoleSpec,
    StateSpec,
    TemplateSpec,
    TransitionSpec,
)

KINDS = (
    "state", "transition", "field", "param", "guard", "role", "label", "deadline", "template",
)  # fmt: skip
Item = dict[str, Any]
Diff = dict[str, list[Item]]
T = TypeVar("T")
_FIELD_ATTRIBUTES = (
    "type", "min", "max", "max_length", "pii", "public", "min_items", "max_items", "program",
    "link",
)  # fmt: skip


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: tuples as lists, mapping keys as text, dates as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _canonical(value: Any) -> str:
    # JSON text tells 1 from 1.0 from true, which == does not.
    return json.dumps(value, sort_keys=True)


@dataclass
class _Changes:
    """Collects items; ``change`` records one only when the two values differ."""

    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    changed: list[Item] = field(default_factory=list)

    def add(self, kind: str, name: str, **extra: Any) -> None:
        self.added.append(_jsonable({"kind": kind, "name": name, **extra}))

    def remove(self, kind: str, name: str, **extra: Any) -> None:
        self.removed.append(_jsonable({"kind": kind, "name": name, **extra}))

    def change(self, kind: str, name: str, old: Any, new: Any, **extra: Any) -> None:
        old, new = _jsonable(old), _jsonable(new)
        if _canonical(old) != _canonical(new):
            self.changed.append(
                _jsonable({"kind": kind, "name": name, **extra}) | {"from": old, "to": new}
            )

    def relabel(
        self, of: str, name: str, attribute: str, old: Label | None, new: Label | None, **extra: Any
    ) -> None:
        self.change("label", name, _label(old), _label(new), of=of, attribute=attribute, **extra)

    def result(self) -> Diff:
        def order(item: Item) -> tuple[int, str, str]:
            return KINDS.index(item["kind"]), item["name"], _canonical(item)

        return {
            "added": sorted(self.added, key=order),
            "removed": sorted(self.removed, key=order),
            "changed": sorted(self.changed, key=order),
        }


def structural_diff(old: Definition, new: Definition) -> Diff:
    """The changes from ``old`` to ``new`` as ``{"added", "removed", "changed"}`` item lists."""
    changes = _Changes()
    _program(changes, old, new)
    _params(changes, old.params, new.params, [])
    states = ({s.name: s for s in old.states}, {s.name: s for s in new.states})
    _compare(changes, "state", *states, _state_body, partial(_state_changes, changes))
    _fields(changes, old.fields, new.fields, "")
    _compare(changes, "role", old.roles, new.roles, _role_body, partial(_role_changes, changes))
    _transitions(changes, old.transitions, new.transitions)
    _form(changes, old.start_form, new.start_form, "start_form", {})
    templates = partial(_template_changes, changes)
    _compare(changes, "template", old.templates, new.templates, _template_body, templates)
    return changes.result()


def _keys(old: Mapping[Any, Any], new: Mapping[Any, Any]) -> list[Any]:
    return sorted(set(old) | set(new), key=str)


def _label(label: Label | None) -> dict[str, str] | None:
    return label.to_json() if label is not None else None


def _program(c: _Changes, old: Definition, new: Definition) -> None:
    for attribute in ("program", "subject"):
        before, after = getattr(old, attribute), getattr(new, attribute)
        c.change("param", attribute, before, after, path=[attribute], scope="program")
    for attribute in ("regions", "pii_roles"):
        before, after = sorted(getattr(old, attribute)), sorted(getattr(new, attribute))
        c.change("param", attribute, before, after, path=[attribute], scope="program")
    c.relabel("program", new.program, "title", old.title, new.title)
    c.relabel("program", new.program, "description", old.description, new.description)


def _params(c: _Changes, old: Mapping[Any, Any], new: Mapping[Any, Any], path: list[Any]) -> None:
    for key in _keys(old, new):
        at = [*path, _jsonable(key)]
        name = ".".join(str(part) for part in at)
        if key not in new:
            c.remove("param", name, path=at, scope="params", value=old[key])
        elif key not in old:
            c.add("param", name, path=at, scope="params", value=new[key])
        elif isinstance(old[key], Mapping) and isinstance(new[key], Mapping):
            _params(c, old[key], new[key], at)
        else:
            c.change("param", name, old[key], new[key], path=at, scope="params")


def _compare(
    c: _Changes,
    kind: str,
    old: Mapping[str, T],
    new: Mapping[str, T],
    body: Callable[[T], Item],
    changes: Callable[[str, T, T], None],
    name: Callable[[str], str] = str,
) -> None:
    """Things of one kind matched by key: each is removed, added, or compared by ``changes``."""
    for key in _keys(old, new):
        if key not in new:
            c.remove(kind, name(key), **body(old[key]))
        elif key not in old:
            c.add(kind, name(key), **body(new[key]))
        else:
            changes(name(key), old[key], new[key])


def _deadline(deadline: Deadline | None) -> dict[str, Any] | None:
    if deadline is None:
        return None
    return {k: getattr(deadline, k) for k in ("days", "working_days", "escalate_to")}


def _state_body(s: StateSpec) -> Item:
    deadline = _deadline(s.deadline)
    return {"initial": s.initial, "final": s.final, "label": _label(s.label), "deadline": deadline}


def _state_changes(c: _Changes, name: str, a: StateSpec, b: StateSpec) -> None:
    for attribute in ("initial", "final"):
        c.change("state", name, getattr(a, attribute), getattr(b, attribute), attribute=attribute)
    c.relabel("state", name, "label", a.label, b.label)
    c.relabel("state", name, "description", a.description, b.description)
    before, after = _deadline(a.deadline), _deadline(b.deadline)
    if before is None and after is not None:
        c.add("deadline", name, to=after)
    elif before is not None and after is None:
        c.remove("deadline", name, **{"from": before})
    else:
        c.change("deadline", name, before, after)


def _html_digest(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:12]


def _template_body(t: TemplateSpec) -> Item:
    return {"title": _label(t.title), "filename": t.filename, "html": _html_digest(t.html)}


def _template_changes(c: _Changes, name: str, a: TemplateSpec, b: TemplateSpec) -> None:
    c.change("template", name, _html_digest(a.html), _html_digest(b.html), attribute="html")
    c.change("template", name, a.filename, b.filename, attribute="filename")
    c.relabel("template", name, "title", a.title, b.title)


def _fields(
    c: _Changes, old: Mapping[str, FieldSpec], new: Mapping[str, FieldSpec], prefix: str
) -> None:
    def body(f: FieldSpec) -> Item:
        return {"type": f.type, "label": _label(f.label)}

    _compare(c, "field", old, new, body, partial(_field_changes, c), lambda k: prefix + k)


def _field_changes(c: _Changes, name: str, a: FieldSpec, b: FieldSpec) -> None:
    for attribute in _FIELD_ATTRIBUTES:
        c.change("field", name, getattr(a, attribute), getattr(b, attribute), attribute=attribute)
    values = ([ch.value for ch in a.choices], [ch.value for ch in b.choices])
    c.change("field", name, *values, attribute="choices")
    c.relabel("field", name, "label", a.label, b.label)
    c.relabel("field", name, "help", a.help, b.help)
    old_choices = {ch.value: ch.label for ch in a.choices}
    for ch in b.choices:
        if ch.value in old_choices:
            where = {"field": name, "value": ch.value}
            label_of = f"{name}.{ch.value}"
            c.relabel("choice", label_of, "label", old_choices[ch.value], ch.label, **where)
    _fields(c, a.item or {}, b.item or {}, name + ".")


def _role_body(r: RoleSpec) -> Item:
    return {"level": r.level, "label": _label(r.label)}


def _role_changes(c: _Changes, name: str, a: RoleSpec, b: RoleSpec) -> None:
    c.change("role", name, a.level, b.level, attribute="level")
    c.relabel("role", name, "label", a.label, b.label)


def _pair(
    old: Sequence[Any], new: Sequence[Any], *tests: Callable[[Any, Any], bool]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Match items in passes: each pass pairs an unmatched old item, in order, with the first
    unmatched new one its test accepts. Returns the pairs and the unmatched indices."""
    pairs: list[tuple[int, int]] = []
    for test in tests:
        for i, a in enumerate(old):
            if any(i == p for p, _ in pairs):
                continue
            taken = {q for _, q in pairs}
            j = next((j for j, b in enumerate(new) if j not in taken and test(a, b)), None)
            if j is not None:
                pairs.append((i, j))
    gone = [i for i in range(len(old)) if all(i != p for p, _ in pairs)]
    fresh = [j for j in range(len(new)) if all(j != q for _, q in pairs)]
    return pairs, gone, fresh


def _sources(t: TransitionSpec) -> list[str]:
    return ["*"] if t.any_source else list(t.sources)


def _overlap(a: TransitionSpec, b: TransitionSpec) -> bool:
    return a.any_source or b.any_source or bool(set(a.sources) & set(b.sources))


def _transitions(c: _Changes, old: Sequence[TransitionSpec], new: Sequence[TransitionSpec]) -> None:
    old_counts, new_counts = Counter(t.trigger for t in old), Counter(t.trigger for t in new)

    def name(t: TransitionSpec, counts: Counter[str]) -> str:
        return t.trigger if counts[t.trigger] == 1 else f"{t.trigger} ({', '.join(_sources(t))})"

    def body(t: TransitionSpec) -> Item:
        where = {"trigger": t.trigger, "sources": _sources(t)}
        made = _generates(t)
        return (
            where
            | {"dest": t.dest, "roles": list(t.roles), "label": _label(t.label)}
            | ({"generates": made} if made else {})
        )

    for trigger in sorted(old_counts.keys() | new_counts.keys()):
        olds = [t for t in old if t.trigger == trigger]
        news = [t for t in new if t.trigger == trigger]
        pairs, gone, fresh = _pair(olds, news, lambda a, b: _sources(a) == _sources(b), _overlap)
        if len(gone) == 1 and len(fresh) == 1:  # one transition whose sources all changed
            pairs, gone, fresh = [*pairs, (gone[0], fresh[0])], [], []
        for i in gone:
            c.remove("transition", name(olds[i], old_counts), **body(olds[i]))
        for j in fresh:
            c.add("transition", name(news[j], new_counts), **body(news[j]))
        for i, j in pairs:
            _transition_changes(c, olds[i], news[j], name(news[j], new_counts))


def _ledger(posting: LedgerPosting | None) -> dict[str, Any] | None:
    if posting is None:
        return None
    keys = ("post", "lines", "amount", "date", "document")
    return {k: getattr(posting, k) for k in keys if getattr(posting, k) is not None}


def _generates(t: TransitionSpec) -> list[dict[str, str]]:
    return [{"template": g.template, "field": g.field} for g in t.generates]


def _transition_changes(c: _Changes, a: TransitionSpec, b: TransitionSpec, name: str) -> None:
    where = {"trigger": b.trigger, "sources": _sources(b)}
    c.change("transition", name, _sources(a), _sources(b), attribute="sources", **where)
    c.change("transition", name, a.dest, b.dest, attribute="dest", **where)
    c.change("transition", name, _ledger(a.ledger), _ledger(b.ledger), attribute="ledger", **where)
    c.change("transition", name, _generates(a), _generates(b), attribute="generates", **where)
    c.change("role", name, sorted(a.roles), sorted(b.roles), **where)
    c.relabel("transition", name, "label", a.label, b.label, **where)
    c.relabel("transition", name, "description", a.description, b.description, **where)
    _form(c, a.form, b.form, name, where)
    _guards(c, a.guards, b.guards, name, where)


def _form(
    c: _Changes, old: Sequence[FormItem], new: Sequence[FormItem], form: str, where: Item
) -> None:
    def body(i: FormItem) -> Item:
        return {"field": i.field, "form": form, "required": i.required, **where}

    def changes(name: str, a: FormItem, b: FormItem) -> None:
        extra = {"attribute": "required", "field": b.field, "form": form, **where}
        c.change("field", name, a.required, b.required, **extra)

    olds, news = {i.field: i for i in old}, {i.field: i for i in new}
    _compare(c, "field", olds, news, body, changes, lambda k: f"{form}: {k}")


def _same_args(a: GuardSpec, b: GuardSpec) -> bool:
    return _canonical(_jsonable(a.args)) == _canonical(_jsonable(b.args))


def _guards(
    c: _Changes, old: Sequence[GuardSpec], new: Sequence[GuardSpec], transition: str, where: Item
) -> None:
    def name(guards: list[GuardSpec], index: int) -> str:
        suffix = f" #{index + 1}" if len(guards) > 1 else ""
        return f"{transition}: {guards[index].name}{suffix}"

    for guard in sorted({g.name for g in old} | {g.name for g in new}):
        olds = [g for g in old if g.name == guard]
        news = [g for g in new if g.name == guard]
        pairs, gone, fresh = _pair(olds, news, _same_args, lambda a, b: True)
        for i in gone:
            c.remove("guard", name(olds, i), guard=guard, args=olds[i].args, **where)
        for j in fresh:
            c.add("guard", name(news, j), guard=guard, args=news[j].args, **where)
        for i, j in pairs:
            a, b, label_of = olds[i], news[j], name(news, j)
            c.change("guard", label_of, a.args, b.args, guard=guard, **where)
            c.relabel("guard", label_of, "message", a.message, b.message, guard=guard, **where)


def text_diff(
    old_text: str, new_text: str, old_name: str, new_name: str, context: int = 3
) -> list[str]:
    """A unified diff of two YAML texts, one line per item, without line ends."""
    lines = difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), old_name, new_name, n=context, lineterm=""
    )
    return list(lines)


def _show(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"id", "en"}:
        texts = [value["id"]] if value["id"] == value["en"] else [value["id"], value["en"]]
        return " / ".join(json.dumps(t, ensure_ascii=False) for t in texts)
    if isinstance(value, dict) and set(value) == {"days", "working_days", "escalate_to"}:
        due = f"{value['days']} days" if value["days"] else f"{value['working_days']} working days"
        return due + (f", escalate to {value['escalate_to']}" if value["escalate_to"] else "")
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def summary_lines(diff: Diff) -> list[str]:
    """One line per item, ``+`` added, ``-`` removed, ``~`` changed: for the CLI."""
    lines = []
    for section, sign in (("added", "+"), ("removed", "-"), ("changed", "~")):
        for item in diff[section]:
            head = f"{sign} {item['kind']}"
            if item["kind"] == "label":
                head += f" {item['of']}"
            head += f" {item['name']}"
            if item.get("attribute") not in (None, "label"):
                head += f" {item['attribute']}"
            if "from" in item and "to" in item:
                head += f": {_show(item['from'])} -> {_show(item['to'])}"
            elif "from" in item or "to" in item or "value" in item:
                head += f": {_show(item.get('to', item.get('from', item.get('value'))))}"
            lines.append(head)
    return lines
