"""A draft read leniently, for the studio's form tab: the states, transitions, fields, roles
and params the YAML text holds even while it is not a valid definition (a state just added
is unreachable until a transition leads to it). Malformed entries are left out; the
validator, not this, says what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.language.checking import humanize
from engine.language.model import (
    Deadline,
    Definition,
    FieldSpec,
    GuardSpec,
    Label,
    RoleSpec,
    StateSpec,
    TransitionSpec,
)
from engine.language.roles import BUILTIN_ROLES
from engine.language.source import YamlSourceError, load_yaml


def _label(raw: Any, name: str) -> Label:
    if isinstance(raw, str) and raw:
        return Label(raw, raw)
    if isinstance(raw, Mapping):
        texts = {k: v for k, v in raw.items() if k in ("id", "en") and isinstance(v, str) and v}
        if texts:
            return Label(texts.get("id") or texts["en"], texts.get("en") or texts["id"])
    return humanize(name)


def _names(raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return tuple(str(i) for i in items if isinstance(i, str))


def _mapping(raw: Any) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _deadline(raw: Any) -> Deadline | None:
    body = _mapping(raw)
    if not body:
        return None
    days, working = body.get("days"), body.get("working_days")
    return Deadline(
        days if isinstance(days, int) else None,
        working if isinstance(working, int) else None,
        body.get("escalate_to") if isinstance(body.get("escalate_to"), str) else None,
    )


def _states(raw: Any) -> tuple[StateSpec, ...]:
    found: dict[str, StateSpec] = {}
    for item in raw if isinstance(raw, list) else []:
        body = _mapping(item)
        name = body.get("name")
        if isinstance(name, str) and name not in found:
            found[name] = StateSpec(
                name,
                _label(body.get("label"), name),
                initial=body.get("initial") is True,
                final=body.get("final") is True,
                deadline=_deadline(body.get("deadline")),
            )
    return tuple(found.values())


def _guards(raw: Any) -> tuple[GuardSpec, ...]:
    guards = []
    for item in raw if isinstance(raw, list) else []:
        names = [k for k in _mapping(item) if k != "message"]
        if len(names) == 1:
            args = item[names[0]]
            guards.append(GuardSpec(names[0], args if isinstance(args, Mapping) else {"": args}))
    return tuple(guards)


def _transitions(raw: Any, states: tuple[StateSpec, ...]) -> tuple[TransitionSpec, ...]:
    open_states = tuple(s.name for s in states if not s.final)
    found = []
    for item in raw if isinstance(raw, list) else []:
        body = _mapping(item)
        trigger, dest = body.get("trigger"), body.get("dest")
        if not isinstance(trigger, str) or not isinstance(dest, str):
            continue
        any_source = body.get("source") == "*"
        found.append(
            TransitionSpec(
                trigger=trigger,
                sources=open_states if any_source else _names(body.get("source")),
                dest=dest,
                roles=_names(body.get("roles")),
                label=_label(body.get("label"), trigger),
                guards=_guards(body.get("guards")),
                any_source=any_source,
            )
        )
    return tuple(found)


def _fields(raw: Any) -> dict[str, FieldSpec]:
    fields = {}
    for name, item in _mapping(raw).items():
        body = _mapping(item)
        kind = body.get("type")
        fields[name] = FieldSpec(
            name, kind if isinstance(kind, str) else "string", _label(body.get("label"), name)
        )
    return fields


def _roles(raw: Any) -> dict[str, RoleSpec]:
    roles = dict(BUILTIN_ROLES)
    for name, item in _mapping(raw).items():
        if isinstance(name, str) and name not in roles:
            body = _mapping(item)
            level = body.get("level") if isinstance(body.get("level"), str) else None
            roles[name] = RoleSpec(name, level, _label(body.get("label"), name))
    return roles


def outline(text: str) -> Definition | None:
    """What ``text`` declares, as a (not validated) :class:`Definition`; None when the text
    is not a YAML mapping at all."""
    try:
        data, _positions = load_yaml(text, "<draft>")
    except YamlSourceError:
        return None
    if not isinstance(data, Mapping):
        return None
    named = data.get("program")
    program = named if isinstance(named, str) else "program"
    states = _states(data.get("states"))
    return Definition(
        program=program,
        title=_label(data.get("title"), program),
        subject=str(data.get("subject", "")),
        params=_mapping(data.get("params")),
        fields=_fields(data.get("fields")),
        states=states,
        transitions=_transitions(data.get("transitions"), states),
        roles=_roles(data.get("roles")),
    )
