"""Form edits of a workflow definition's YAML text, as program officers make them in the
studio: each function takes the text and returns the changed text, with comments, key
order and layout kept (see :mod:`engine.studio.yamledit`). Nothing is evaluated; a target
that does not exist raises :class:`InvalidData` naming what does. Whether the result is a
valid definition is for the validator (``parse_definition``) to say."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.errors import InvalidData
from engine.guards import REGISTRY
from engine.language.checking import NAME
from engine.studio import targets
from engine.studio.catalogue import guard_catalogue
from engine.studio.targets import listing, suggestion
from engine.studio.yamledit import (
    Document,
    Scalar,
    as_list,
    block_map,
    delete_item,
    delete_key,
    flow_map,
    flow_seq,
    insert_item,
    is_block,
    own_keys,
    private,
    quoted,
    scalar,
    set_key,
    unmerge,
)
from engine.text import Label

__all__ = [
    "OPERATIONS",
    "add_guard",
    "add_state",
    "add_transition",
    "apply_edit",
    "guard_catalogue",
    "remove_guard",
    "remove_param",
    "remove_state",
    "remove_transition",
    "rename_state",
    "set_deadline",
    "set_form_fields",
    "set_label",
    "set_param",
    "set_roles",
    "set_transition_ends",
]

#: (kind, name) of a label's owner: ("program",), ("state", name), ("transition", trigger,
#: source or None), ("field", name) or ("role", name).
LabelTarget = Sequence[str | None]
#: A form item: a field name (required) or a (name, required) pair.
FormItem = str | Sequence[Any]

_TOP_BEFORE_PARAMS = ("rukun", "program", "title", "description", "subject", "regions")
_STATE = Label(id="tahap", en="state")
_NO_ROLE = Label(
    id="langkah memerlukan sedikitnya satu peran", en="a transition needs at least one role"
)


def _state_exists(name: str) -> Label:
    return Label(id=f"tahap '{name}' sudah ada", en=f"state '{name}' exists already")


# --------------------------------------------------------------------------- params


def set_param(text: str, path: str | Sequence[str], value: Scalar) -> str:
    """Set a param: ``path`` is its name, or the keys down into nested params mappings
    (``["quota", "64.72"]``: region codes contain dots). Creates what is missing."""
    keys = _param_path(path)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidData(
            Label(
                id=f"parameter berupa angka, teks atau true/false, bukan {value!r}",
                en=f"a param is a number, text or true/false, not {value!r}",
            )
        )
    doc = Document(text)
    container = _params(doc, create=True)
    for depth, part in enumerate(keys):
        key = _match_key(container, part)
        if key is None:
            if depth == 0 and not NAME.match(part):
                raise InvalidData(
                    Label(
                        id=f"nama parameter ditulis snake_case: '{part}' tidak demikian",
                        en=f"param names are snake_case: '{part}' is not",
                    )
                )
            key = _new_key(container, part)
        if depth == len(keys) - 1:
            set_key(container, key, scalar(value))
        elif key not in container:
            set_key(container, key, flow_map([]))
            container = container[key]
        elif not isinstance(container[key], CommentedMap):
            dotted = ".".join(keys[: depth + 1])
            raise InvalidData(
                Label(
                    id=f"params.{dotted} bernilai {container[key]!r}, bukan pemetaan parameter",
                    en=f"params.{dotted} is {container[key]!r}, not a mapping of params",
                )
            )
        else:
            container = private(doc.root, container, key)
    return doc.dump()


def remove_param(text: str, path: str | Sequence[str]) -> str:
    """Remove a param (or a key of a nested params mapping); refuses while a guard or an
    expression still reads a top-level param."""
    keys = _param_path(path)
    doc = Document(text)
    container = _params(doc, create=False)
    for depth, part in enumerate(keys):
        key = _match_key(container, part)
        if key is None:
            where = "params." + ".".join(keys[:depth]) if depth else "params"
            names = [str(k) for k in container]
            maybe = suggestion(part, names)
            raise InvalidData(
                Label(
                    id=f"tidak ada parameter '{part}' di {where}{maybe.id}; "
                    f"isinya: {listing(names, 'id')}",
                    en=f"no param '{part}' in {where}{maybe.en}; it has: {listing(names)}",
                )
            )
        if depth == len(keys) - 1:
            if depth == 0:
                what = Label(id=f"parameter '{part}'", en=f"param '{part}'")
                targets.refuse_references(what, _param_references(doc, part))
            delete_key(container, key)
        else:
            container = private(doc.root, container, key)
    return doc.dump()


def _param_path(path: str | Sequence[str]) -> list[str]:
    keys = [path] if isinstance(path, str) else list(path) if isinstance(path, Sequence) else []
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise InvalidData(
            Label(
                id=f"jalur parameter berupa satu nama atau daftar kunci, bukan {path!r}",
                en=f"a param path is a name or a list of keys, not {path!r}",
            )
        )
    return keys


def _params(doc: Document, *, create: bool) -> CommentedMap:
    params = doc.root.get("params")
    if isinstance(params, CommentedMap):
        return private(doc.root, doc.root, "params")
    if params is not None or not create:
        raise InvalidData(
            Label(
                id="alur kerja tidak memiliki pemetaan params",
                en="the definition has no params mapping",
            )
            if params is None
            else Label(
                id=f"params bernilai {params!r}, bukan pemetaan",
                en=f"params is {params!r}, not a mapping",
            )
        )
    set_key(doc.root, "params", block_map([]), after=_TOP_BEFORE_PARAMS)
    return doc.root["params"]


def _match_key(mapping: CommentedMap, part: str) -> Any:
    return next((key for key in mapping if str(key) == part), None)


def _new_key(mapping: CommentedMap, part: str) -> Any:
    """Years stay numbers among numeric keys (``cohort: {2023: 60}``); others are text."""
    if part.isdigit() and mapping and all(isinstance(k, int) for k in mapping):
        return int(part)
    return scalar(part)


def _param_references(doc: Document, name: str) -> list[Label]:
    pattern = re.compile(rf"\bparams\.{re.escape(name)}(?![\w])")
    return [
        Label(id=f"syarat langkah '{trigger}'", en=f"a guard of transition '{trigger}'")
        for trigger, value in targets.guard_strings(doc)
        if pattern.search(value)
    ]


# --------------------------------------------------------------------------- labels, roles


def set_label(text: str, target: LabelTarget, id_text: str, en_text: str) -> str:
    """Set the label of the program (its title), a state, a transition, a field or a
    declared role to ``{id: ..., en: ...}``, replacing a plain-text label."""
    new_label = _label(id_text, en_text)
    doc = Document(text)
    owner, key, after = targets.label_owner(doc, target)
    if isinstance(owner.get(key), CommentedMap):  # written as a mapping: keep its layout
        label = private(doc.root, owner, key)
        for lang in ("id", "en"):
            set_key(label, lang, new_label[lang])
    else:
        set_key(owner, key, new_label, after=after)
    return doc.dump()


_A_LABEL = Label(id="label", en="a label")


def _label(id_text: Any, en_text: Any, what: Label = _A_LABEL) -> CommentedMap:
    """``{id: "...", en: "..."}`` in flow style, as the files write labels."""
    if not all(isinstance(t, str) and t.strip() for t in (id_text, en_text)):
        raise InvalidData(
            Label(
                id=f"{what.id} memerlukan teks dalam kedua bahasa (id dan en)",
                en=f"{what.en} needs text in both languages (id and en)",
            )
        )
    return flow_map([("id", quoted(id_text)), ("en", quoted(en_text))])


def set_roles(
    text: str, trigger: str, roles: str | Sequence[str], source: str | None = None
) -> str:
    """Set the roles that may fire a transition (a flow list)."""
    doc = Document(text)
    names = targets.name_list(roles, "roles")
    if not names:
        raise InvalidData(_NO_ROLE)
    targets.check_roles(doc, names)
    transition = targets.find_transition(doc, trigger, source)[1]
    set_key(transition, "roles", flow_seq(names), after=("dest", "source"))
    return doc.dump()


def set_deadline(
    text: str,
    state: str,
    days: int | None = None,
    working_days: int | None = None,
    escalate_to: str | None = None,
) -> str:
    """Set a state's deadline: exactly one of ``days`` and ``working_days``, and optionally
    the role it escalates to; with neither, remove the deadline."""
    doc = Document(text)
    spec = targets.find_state(doc, state)[1]
    if days is None and working_days is None:
        if escalate_to is not None:
            raise InvalidData(
                Label(
                    id="escalate_to memerlukan tenggat: isi days atau working_days",
                    en="escalate_to needs a deadline: give days or working_days",
                )
            )
        if "deadline" in spec:
            delete_key(spec, "deadline")
        return doc.dump()
    if days is not None and working_days is not None:
        raise InvalidData(
            Label(
                id="tenggat dinyatakan dalam days atau working_days, tidak keduanya",
                en="a deadline is in days or in working_days, not both",
            )
        )
    unit, count = ("days", days) if days is not None else ("working_days", working_days)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidData(
            Label(
                id=f"{unit} harus berupa bilangan bulat positif, bukan {count!r}",
                en=f"{unit} must be a positive whole number, not {count!r}",
            )
        )
    if spec.get("final") is True:
        raise InvalidData(
            Label(
                id=f"tahap '{state}' adalah tahap akhir: tahap akhir tidak bertenggat",
                en=f"state '{state}' is final: a final state has no deadline",
            )
        )
    if escalate_to is not None:
        targets.check_roles(doc, [escalate_to])
    if not isinstance(spec.get("deadline"), CommentedMap):
        set_key(spec, "deadline", flow_map([]))
    deadline = private(doc.root, spec, "deadline")
    other = "working_days" if unit == "days" else "days"
    if other in own_keys(deadline):  # the new unit takes the old one's place
        position = own_keys(deadline).index(other)
        delete_key(deadline, other)
        deadline.insert(position, unit, count)
    else:
        set_key(deadline, unit, count)
    if escalate_to is not None:
        set_key(deadline, "escalate_to", escalate_to)
    elif "escalate_to" in own_keys(deadline):
        delete_key(deadline, "escalate_to")
    return doc.dump()


# --------------------------------------------------------------------------- states


def add_state(
    text: str,
    name: str,
    label_id: str | None = None,
    label_en: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> str:
    """Add a state; it goes before ``before``, after ``after``, or else before the first
    final state. Transitions into and out of it are added with :func:`add_transition`."""
    doc = Document(text)
    states = targets.states(doc)
    targets.check_new_name(name, _STATE)
    if name in targets.state_names(doc):
        raise InvalidData(_state_exists(name))
    if before is not None and after is not None:
        raise InvalidData(
            Label(id="isi before atau after, tidak keduanya", en="give before or after, not both")
        )
    if before is not None:
        index = targets.find_state(doc, before)[0]
    elif after is not None:
        index = targets.find_state(doc, after)[0] + 1
    else:
        finals = [i for i, s in enumerate(states) if isinstance(s, Mapping) and s.get("final")]
        index = finals[0] if finals else len(states)
    entries: list[tuple[str, Any]] = [("name", name)]
    if label_id is not None or label_en is not None:
        entries.append(("label", _label(label_id, label_en)))
    neighbour = states[min(index, len(states) - 1)] if len(states) else None
    state = block_map(entries) if neighbour is None or is_block(neighbour) else flow_map(entries)
    insert_item(states, index, state)
    return doc.dump()


def rename_state(text: str, old: str, new: str) -> str:
    """Rename a state everywhere: its entry, transitions' sources and destinations, and
    guard arguments that name states (``count_lte``'s ``states`` and the like)."""
    doc = Document(text)
    spec = targets.find_state(doc, old)[1]
    targets.check_new_name(new, _STATE)
    if new in targets.state_names(doc):
        raise InvalidData(_state_exists(new))
    spec["name"] = new
    for transition in targets.transitions(doc):
        for key in ("source", "dest"):
            value = transition[key] if key in own_keys(transition) else None
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if item == old:
                        value[index] = new
            elif value == old:
                transition[key] = new
    for _, container, key in targets.guard_state_refs(doc, old):
        container[key] = new
    return doc.dump()


def remove_state(text: str, name: str, with_transitions: bool = False) -> str:
    """Remove a state. Refuses while transitions or guards name it, listing them; with
    ``with_transitions`` the transitions into it or only out of it go too, and it is
    dropped from other transitions' source lists (guards must still be edited first)."""
    doc = Document(text)
    index, spec = targets.find_state(doc, name)
    if spec.get("initial") is True:
        raise InvalidData(
            Label(
                id=f"tahap '{name}' adalah tahap awal; jadikan tahap lain sebagai tahap awal dulu",
                en=f"state '{name}' is the initial state; make another one initial first",
            )
        )
    guard_refs = [where for where, _, _ in targets.guard_state_refs(doc, name)]
    doomed, shared, references = [], [], []
    for position, transition in enumerate(targets.transitions(doc)):
        sources, trigger = as_list(transition.get("source")), transition.get("trigger")
        if transition.get("dest") == name or sources == [name]:
            doomed.append(position)
            references.append(
                Label(
                    id=f"langkah '{trigger}' (dari {listing(sources, 'id')})",
                    en=f"transition '{trigger}' (from {listing(sources)})",
                )
            )
        elif name in sources:
            shared.append(transition)
            references.append(
                Label(
                    id=f"langkah '{trigger}' yang juga berangkat darinya",
                    en=f"transition '{trigger}' also leaves from it",
                )
            )
    if guard_refs or (references and not with_transitions):
        advice = (
            Label(id="ubah dulu syarat-syarat itu", en="change those guards first")
            if guard_refs
            else Label(id="hapus dulu langkah-langkah itu", en="remove those transitions first")
        )
        named = targets.joined(references + guard_refs)
        raise InvalidData(
            Label(
                id=f"tahap '{name}' masih disebut oleh {named.id}: {advice.id}",
                en=f"state '{name}' is still named by {named.en}: {advice.en}",
            )
        )
    gone = {targets.transitions(doc)[i].get("trigger") for i in doomed}
    for position in reversed(doomed):
        _remove_transition_at(doc, position)
    for trigger in gone:
        targets.refuse_dangling_trigger(doc, str(trigger))
    for transition in shared:
        sources = private(doc.root, transition, "source")
        sources.remove(name)
    delete_item(targets.states(doc), index)
    return doc.dump()


# --------------------------------------------------------------------------- transitions


def add_transition(
    text: str,
    trigger: str,
    sources: str | Sequence[str],
    dest: str,
    roles: str | Sequence[str],
    label_id: str | None = None,
    label_en: str | None = None,
    form: Sequence[FormItem] = (),
) -> str:
    """Append a transition; refuses unknown states, roles and fields, and a trigger that
    already leaves one of the sources."""
    doc = Document(text)
    targets.check_new_name(trigger, Label(id="pemicu", en="trigger"))
    source_names = targets.check_sources(doc, targets.name_list(sources, "sources"))
    targets.refuse_duplicates(doc, trigger, source_names)
    targets.find_state(doc, dest)
    role_names = targets.name_list(roles, "roles")
    if not role_names:
        raise InvalidData(_NO_ROLE)
    targets.check_roles(doc, role_names)
    entries: list[tuple[str, Any]] = [("trigger", trigger)]
    if label_id is not None or label_en is not None:
        entries.append(("label", _label(label_id, label_en)))
    entries += [("source", _source_value(source_names)), ("dest", dest)]
    entries.append(("roles", flow_seq(role_names)))
    if form:
        entries.append(("form", _form(doc, form)))
    transitions = targets.transitions(doc)
    last = transitions[-1] if len(transitions) else None
    item = block_map(entries) if last is None or is_block(last) else flow_map(entries)
    insert_item(transitions, len(transitions), item)
    return doc.dump()


def remove_transition(text: str, trigger: str, source: str | None = None) -> str:
    """Remove a transition; with ``source`` naming one of several sources, only that source
    is dropped from it. Refuses a trigger with several transitions and no source given."""
    doc = Document(text)
    index, transition = targets.find_transition(doc, trigger, source)
    sources = as_list(transition.get("source"))
    if source is not None and len(sources) > 1:
        private(doc.root, transition, "source").remove(source)
        return doc.dump()
    _remove_transition_at(doc, index)
    targets.refuse_dangling_trigger(doc, trigger)
    return doc.dump()


def set_transition_ends(
    text: str,
    trigger: str,
    source: str | None = None,
    new_sources: str | Sequence[str] | None = None,
    new_dest: str | None = None,
) -> str:
    """Change where a transition leaves from (``new_sources``) and/or goes to
    (``new_dest``); e.g. rewire it from a newly added state."""
    if new_sources is None and new_dest is None:
        raise InvalidData(
            Label(
                id="isi new_sources, new_dest atau keduanya",
                en="give new_sources, new_dest or both",
            )
        )
    doc = Document(text)
    index, transition = targets.find_transition(doc, trigger, source)
    if new_sources is not None:
        names = targets.check_sources(doc, targets.name_list(new_sources, "new_sources"))
        targets.refuse_duplicates(doc, trigger, names, skip=index)
        set_key(transition, "source", _source_value(names), after=("label", "trigger"))
    if new_dest is not None:
        targets.find_state(doc, new_dest)
        set_key(transition, "dest", new_dest, after=("source",))
    return doc.dump()


def set_form_fields(
    text: str, trigger: str, fields: Sequence[FormItem], source: str | None = None
) -> str:
    """Set the fields a transition's form asks for: names, or (name, required) pairs."""
    doc = Document(text)
    transition = targets.find_transition(doc, trigger, source)[1]
    if fields:
        set_key(transition, "form", _form(doc, fields), after=("roles",))
    elif "form" in transition:
        delete_key(transition, "form")
    return doc.dump()


def _source_value(names: list[str]) -> Any:
    if len(names) == 1:
        return quoted(names[0]) if names[0] == "*" else names[0]
    return flow_seq(names)


def _form(doc: Document, items: Sequence[FormItem]) -> CommentedSeq:
    fields = doc.root.get("fields")
    known = [str(k) for k in fields] if isinstance(fields, Mapping) else []
    form: list[Any] = []
    for item in items:
        pair = (
            (item, True)
            if isinstance(item, str)
            else tuple(item)
            if isinstance(item, Sequence)
            else ()
        )
        name, required = pair if len(pair) == 2 else (None, None)
        if not isinstance(name, str) or not isinstance(required, bool):
            raise InvalidData(
                Label(
                    id=f"butir formulir berupa nama isian atau (nama, wajib), bukan {item!r}",
                    en=f"a form item is a field name or (name, required), not {item!r}",
                )
            )
        if name not in known:
            maybe = suggestion(name, known)
            raise InvalidData(
                Label(
                    id=f"tidak ada isian '{name}'{maybe.id}; yang ada: {listing(known, 'id')}",
                    en=f"no field '{name}'{maybe.en}; there are: {listing(known)}",
                )
            )
        form.append(name if required else flow_map([("field", name), ("required", False)]))
    return flow_seq(form)


def _remove_transition_at(doc: Document, index: int) -> None:
    transitions = targets.transitions(doc)
    transition = transitions[index]
    delete_item(transitions, index)
    for number, referer in enumerate(list(transition._ref)):  # `<<: *it`: write those out
        unmerge(referer, transition, reuse=number == 0)


# --------------------------------------------------------------------------- guards


def add_guard(
    text: str,
    trigger: str,
    guard: str,
    args: Mapping[str, Any],
    source: str | None = None,
    message_id: str | None = None,
    message_en: str | None = None,
) -> str:
    """Append a guard to a transition, with its own message if given (both languages)."""
    guard_type = REGISTRY.get(guard) if isinstance(guard, str) else None
    if not isinstance(args, Mapping):
        raise InvalidData(
            Label(
                id=f"argumen syarat berupa pemetaan parameter ke nilai, bukan {args!r}",
                en=f"guard arguments are a mapping of parameter to value, not {args!r}",
            )
        )
    if guard_type is None:
        maybe = suggestion(str(guard), list(REGISTRY))
        raise InvalidData(
            Label(
                id=f"tidak ada syarat '{guard}'{maybe.id}; syarat yang ada: "
                f"{listing(sorted(REGISTRY))}",
                en=f"no guard '{guard}'{maybe.en}; the guards are: {listing(sorted(REGISTRY))}",
            )
        )
    params = guard_type.params
    for name in args:
        if name not in params:
            maybe = suggestion(name, list(params))
            raise InvalidData(
                Label(
                    id=f"syarat '{guard}' tidak memiliki parameter '{name}'{maybe.id}; "
                    f"parameternya: {listing(list(params), 'id')}",
                    en=f"guard '{guard}' has no parameter '{name}'{maybe.en}; "
                    f"it takes: {listing(list(params))}",
                )
            )
    missing = [name for name, param in params.items() if param.required and name not in args]
    if missing:
        raise InvalidData(
            Label(
                id=f"syarat '{guard}' memerlukan {listing(missing)}",
                en=f"guard '{guard}' needs {listing(missing)}",
            )
        )
    values = {name: _guard_value(params[name].kind, value) for name, value in args.items()}
    if guard_type.shorthand is not None and list(values) == [guard_type.shorthand]:
        item = block_map([(guard, values[guard_type.shorthand])])
    else:
        item = block_map([(guard, flow_map(values.items()))])
    if message_id is not None or message_en is not None:
        what = Label(id="pesan syarat", en="a guard message")
        message = _label(message_id, message_en, what)
        item["message"] = block_map(message.items())  # messages are long: one line each
    doc = Document(text)
    transition = targets.find_transition(doc, trigger, source)[1]
    if isinstance(transition.get("guards"), CommentedSeq):
        guards = private(doc.root, transition, "guards")
        insert_item(guards, len(guards), item)
    else:
        guards = CommentedSeq([item])
        guards.fa.set_block_style()
        set_key(transition, "guards", guards)
    return doc.dump()


def remove_guard(text: str, trigger: str, index: int, source: str | None = None) -> str:
    """Remove a transition's guard by its position (0 for the first)."""
    doc = Document(text)
    transition = targets.find_transition(doc, trigger, source)[1]
    present = [name for name, _ in targets.guard_items(transition)]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(present):
        numbered = [f"{i}: {name}" for i, name in enumerate(present)]
        raise InvalidData(
            Label(
                id=f"langkah '{trigger}' tidak memiliki syarat {index!r}; "
                f"syaratnya: {listing(numbered, 'id')}",
                en=f"transition '{trigger}' has no guard {index!r}; "
                f"its guards: {listing(numbered)}",
            )
        )
    guards = private(doc.root, transition, "guards")
    if len(guards) == 1:
        delete_key(transition, "guards")
    else:
        delete_item(guards, index)
    return doc.dump()


def _guard_value(kind: str, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return flow_seq(_guard_value(kind, item) for item in value)
    if kind == "expression" and isinstance(value, str):
        return quoted(value)
    if isinstance(value, str | int | float | bool):
        return scalar(value)
    raise InvalidData(
        Label(
            id=f"argumen syarat berupa nama, angka, teks, true/false atau daftar, bukan {value!r}",
            en=f"a guard argument is a name, number, text, true/false or a list, not {value!r}",
        )
    )


# --------------------------------------------------------------------------- one edit

#: The edits :func:`apply_edit` knows, by their ``op`` name.
OPERATIONS: dict[str, Callable[..., str]] = {
    function.__name__: function
    for function in (
        set_param,
        remove_param,
        set_label,
        set_roles,
        set_deadline,
        add_state,
        rename_state,
        remove_state,
        add_transition,
        remove_transition,
        set_transition_ends,
        set_form_fields,
        add_guard,
        remove_guard,
    )
}


def apply_edit(text: str, edit: Mapping[str, Any]) -> str:
    """Apply one edit described as data, ``{"op": "set_param", "path": [...], "value": 20}``
    (the web form and the CLI send these): the op names a function of this module, the
    other keys are its arguments."""
    op = edit.get("op") if isinstance(edit, Mapping) else None
    if not isinstance(op, str) or op not in OPERATIONS:
        maybe = suggestion(str(op), list(OPERATIONS))
        raise InvalidData(
            Label(
                id=f"suntingan {op!r} tidak dikenal{maybe.id}; "
                f"suntingan yang ada: {listing(list(OPERATIONS))}",
                en=f"unknown edit {op!r}{maybe.en}; the edits are: {listing(list(OPERATIONS))}",
            )
        )
    parameters = list(inspect.signature(OPERATIONS[op]).parameters.values())[1:]
    accepted = [p.name for p in parameters]
    args = {key: value for key, value in edit.items() if key != "op"}
    for key in args:
        if key not in accepted:
            maybe = suggestion(str(key), accepted)
            raise InvalidData(
                Label(
                    id=f"{op}: argumen '{key}' tidak dikenal{maybe.id}; "
                    f"argumennya: {listing(accepted, 'id')}",
                    en=f"{op}: unknown argument '{key}'{maybe.en}; it takes: {listing(accepted)}",
                )
            )
    missing = [p.name for p in parameters if p.default is p.empty and p.name not in args]
    if missing:
        raise InvalidData(
            Label(
                id=f"{op}: belum diisi {listing(missing)}", en=f"{op}: missing {listing(missing)}"
            )
        )
    return OPERATIONS[op](text, **args)
