"""Finding the parts of a workflow's YAML that a studio edit targets (states, transitions,
guards and what they name) and the checks an edit makes before changing them. Errors
say what was not found and what exists, in both languages of the UI."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from difflib import get_close_matches
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.errors import InvalidData
from engine.guards import REGISTRY
from engine.guards.registry import hint
from engine.language.checking import NAME
from engine.language.roles import BUILTIN_ROLES
from engine.studio.yamledit import Document, as_list, flow_map, private, set_key
from engine.text import Label

# --------------------------------------------------------------------------- finding


def states(doc: Document) -> CommentedSeq:
    """The ``states`` list."""
    return _list_section(doc, "states")


def transitions(doc: Document) -> CommentedSeq:
    """The ``transitions`` list."""
    return _list_section(doc, "transitions")


def _list_section(doc: Document, key: str) -> CommentedSeq:
    value = doc.root.get(key)
    if not isinstance(value, CommentedSeq) or not all(isinstance(v, CommentedMap) for v in value):
        raise InvalidData(
            Label(
                id=f"alur kerja tidak memiliki daftar pemetaan '{key}'",
                en=f"the definition has no '{key}' list of mappings",
            )
        )
    return value


def state_names(doc: Document) -> list[str]:
    return [str(spec.get("name")) for spec in states(doc)]


def find_state(doc: Document, name: Any) -> tuple[int, CommentedMap]:
    """The position and mapping of the state ``name``."""
    names = state_names(doc)
    if not isinstance(name, str) or name not in names:
        maybe = suggestion(str(name), names)
        raise InvalidData(
            Label(
                id=f"tidak ada tahap '{name}'{maybe.id}; tahap yang ada: {listing(names, 'id')}",
                en=f"no state '{name}'{maybe.en}; the states are: {listing(names)}",
            )
        )
    index = names.index(name)
    return index, states(doc)[index]


def find_transition(doc: Document, trigger: Any, source: Any = None) -> tuple[int, CommentedMap]:
    """The position and mapping of the transition of ``trigger`` leaving ``source``; the
    source may be left out when the trigger has one transition."""
    found = [(i, t) for i, t in enumerate(transitions(doc)) if t.get("trigger") == trigger]
    if not found:
        triggers = list(dict.fromkeys(str(t.get("trigger")) for t in transitions(doc)))
        maybe = suggestion(str(trigger), triggers)
        raise InvalidData(
            Label(
                id=f"tidak ada langkah '{trigger}'{maybe.id}; "
                f"pemicu yang ada: {listing(triggers, 'id')}",
                en=f"no transition '{trigger}'{maybe.en}; the triggers are: {listing(triggers)}",
            )
        )
    every = [s for _, t in found for s in as_list(t.get("source"))]
    if source is not None:
        found = [(i, t) for i, t in found if source in as_list(t.get("source"))]
        if not found:
            maybe = suggestion(str(source), every)
            raise InvalidData(
                Label(
                    id=f"langkah '{trigger}' tidak berangkat dari '{source}'{maybe.id}; "
                    f"ia berangkat dari: {listing(every, 'id')}",
                    en=f"transition '{trigger}' does not leave '{source}'{maybe.en}; "
                    f"it leaves: {listing(every)}",
                )
            )
    elif len(found) > 1:
        raise InvalidData(
            Label(
                id=f"pemicu '{trigger}' memiliki {len(found)} langkah (dari {listing(every)}): "
                "sebutkan tahap asalnya",
                en=f"trigger '{trigger}' has {len(found)} transitions (from {listing(every)}): "
                "say which source",
            )
        )
    return found[0]


def guard_items(transition: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(guard name, the item as written) for each item of a transition's guards; the name
    is '?' when the item names no guard."""
    items = []
    for item in as_list(transition.get("guards")):
        names = [k for k in item if k != "message"] if isinstance(item, Mapping) else []
        items.append((str(names[0]) if names else "?", item))
    return items


def guard_of(transition: Mapping[str, Any], guard: str) -> Label:
    """A guard of a transition, as messages name it."""
    trigger = transition.get("trigger")
    return Label(
        id=f"syarat langkah '{trigger}' ({guard})",
        en=f"a guard of transition '{trigger}' ({guard})",
    )


def guard_state_refs(doc: Document, state: str) -> Iterator[tuple[Label, Any, Any]]:
    """Each place where a guard argument of kind ``states`` names ``state``, once:
    (a description for messages, the container, the key or index in it)."""
    seen: set[tuple[int, Any]] = set()
    for transition in transitions(doc):
        for name, item in guard_items(transition):
            for container, key in _state_arguments(name, item):
                value = container.get(key)
                if isinstance(value, list):
                    spots = [(value, i) for i, s in enumerate(value) if s == state]
                else:
                    spots = [(container, key)] if value == state else []
                for spot in spots:
                    if (id(spot[0]), spot[1]) not in seen:
                        seen.add((id(spot[0]), spot[1]))
                        yield guard_of(transition, name), spot[0], spot[1]


def _state_arguments(name: str, item: Any) -> list[tuple[Any, Any]]:
    """Where a guard item keeps its arguments of kind ``states``: (container, key)."""
    guard_type = REGISTRY.get(name)
    if guard_type is None:
        return []
    args = item[name]
    if isinstance(args, Mapping):
        return [(args, k) for k, p in guard_type.params.items() if p.kind == "states"]
    shorthand = guard_type.shorthand
    if shorthand is not None and guard_type.params[shorthand].kind == "states":
        return [(item, name)]
    return []


def guard_strings(doc: Document) -> Iterator[tuple[str, str]]:
    """(trigger, text) for every text written in any transition's guards."""
    for transition in transitions(doc):
        stack: list[Any] = [transition.get("guards")]
        while stack:
            value = stack.pop()
            if isinstance(value, str):
                yield str(transition.get("trigger")), value
            elif isinstance(value, Mapping):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)


def label_owner(doc: Document, target: Any) -> tuple[CommentedMap, str, tuple[str, ...]]:
    """Where a label is written: (its owner's mapping, the key, the keys it goes after)."""
    shape = list(target) if isinstance(target, Sequence) and not isinstance(target, str) else []
    kind, names = (shape[0], shape[1:]) if shape else (None, [])
    if kind == "program" and not names:
        return doc.root, "title", ("program",)
    if kind == "state" and len(names) == 1:
        return find_state(doc, names[0])[1], "label", ("name", "initial", "final")
    if kind == "transition" and len(names) in (1, 2):
        source = names[1] if len(names) == 2 else None
        return find_transition(doc, names[0], source)[1], "label", ("trigger",)
    if kind == "field" and len(names) == 1:
        return _entry(doc, "fields", Label(id="isian", en="field"), names[0]), "label", ()
    if kind == "role" and len(names) == 1:
        if names[0] in BUILTIN_ROLES:
            raise InvalidData(
                Label(
                    id=f"peran '{names[0]}' bawaan Rukun: labelnya bukan milik program",
                    en=f"role '{names[0]}' is built in: its label is not the program's",
                )
            )
        declared = Label(id="peran yang dideklarasikan", en="declared role")
        return _entry(doc, "roles", declared, names[0]), "label", ("level",)
    shapes = '("program",), ("state", name), ("transition", trigger, source or None), '
    shapes += "('field', name), ('role', name)"
    raise InvalidData(
        Label(
            id=f"sasaran label {target!r} tidak dikenal: salah satu dari {shapes}",
            en=f"unknown label target {target!r}: one of {shapes}",
        )
    )


def _entry(doc: Document, section: str, what: Label, name: str) -> CommentedMap:
    """The mapping of ``name`` in a top-level mapping section (``fields``, ``roles``)."""
    entries = doc.root.get(section)
    names = [str(k) for k in entries] if isinstance(entries, CommentedMap) else []
    if name not in names:
        maybe = suggestion(str(name), names)
        raise InvalidData(
            Label(
                id=f"tidak ada {what.id} '{name}'{maybe.id}; yang ada: {listing(names, 'id')}",
                en=f"no {what.en} '{name}'{maybe.en}; there are: {listing(names)}",
            )
        )
    assert isinstance(entries, CommentedMap)
    if entries[name] is None:
        set_key(entries, name, flow_map([]))
    if not isinstance(entries[name], CommentedMap):
        raise InvalidData(
            Label(
                id=f"{what.id} '{name}' bukan pemetaan", en=f"{what.en} '{name}' is not a mapping"
            )
        )
    return private(doc.root, entries, name)


# --------------------------------------------------------------------------- checking


def check_sources(doc: Document, names: list[str]) -> list[str]:
    """``names`` as a transition's sources: known, not final, each once; or just "*"."""
    if not names:
        raise InvalidData(
            Label(id="langkah memerlukan tahap asal", en="a transition needs a source state")
        )
    if names == ["*"]:
        return names
    for name in names:
        if find_state(doc, name)[1].get("final") is True:
            raise InvalidData(
                Label(
                    id=f"tahap '{name}' adalah tahap akhir: tidak ada langkah yang berangkat "
                    "darinya",
                    en=f"state '{name}' is final: no transition leaves it",
                )
            )
    if len(set(names)) != len(names):
        raise InvalidData(
            Label(
                id=f"ada tahap asal yang tercantum dua kali: {listing(names)}",
                en=f"a source is listed twice: {listing(names)}",
            )
        )
    return names


def check_roles(doc: Document, names: list[str]) -> None:
    """Each name is a built-in role or one the definition declares."""
    declared = doc.root.get("roles")
    known = sorted({*BUILTIN_ROLES, *(declared if isinstance(declared, Mapping) else ())})
    for name in names:
        if name not in known:
            maybe = suggestion(name, known)
            raise InvalidData(
                Label(
                    id=f"tidak ada peran '{name}'{maybe.id}; "
                    f"peran yang ada: {listing(known, 'id')}",
                    en=f"no role '{name}'{maybe.en}; the roles are: {listing(known)}",
                )
            )


def check_new_name(name: Any, what: Label) -> None:
    """``name`` is a snake_case name, as states and triggers must be."""
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidData(
            Label(
                id=f"nama {what.id} ditulis snake_case (huruf kecil, lalu huruf, angka dan _), "
                f"bukan {name!r}",
                en=f"a {what.en} name is snake_case (a lower-case letter, then letters, digits "
                f"and _), not {name!r}",
            )
        )


def name_list(value: Any, what: str) -> list[str]:
    """One name or a list of names, as a list."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise InvalidData(
            Label(
                id=f"{what}: seharusnya satu nama atau daftar nama, bukan {value!r}",
                en=f"{what}: expected a name or a list of names, not {value!r}",
            )
        )
    return list(names)


def refuse_duplicates(doc: Document, trigger: str, sources: list[str], skip: int = -1) -> None:
    """Refuse a second transition of ``trigger`` from one of ``sources`` (``skip``: the
    position of the transition being changed)."""
    for position, other in enumerate(transitions(doc)):
        theirs = as_list(other.get("source"))
        if position == skip or other.get("trigger") != trigger:
            continue
        if "*" in theirs or "*" in sources or set(theirs) & set(sources):
            common = sorted(set(theirs) & set(sources))
            clash = (
                Label(id=listing(common), en=listing(common))
                if common
                else Label(id='semua tahap ("*")', en='every state ("*")')
            )
            raise InvalidData(
                Label(
                    id=f"pemicu '{trigger}' sudah berangkat dari {clash.id}",
                    en=f"trigger '{trigger}' already leaves {clash.en}",
                )
            )


def refuse_dangling_trigger(doc: Document, trigger: str) -> None:
    """Once no transition of ``trigger`` is left, refuse if a guard still names it."""
    if any(t.get("trigger") == trigger for t in transitions(doc)):
        return
    references = []
    for transition in transitions(doc):
        for name, item in guard_items(transition):
            guard_type = REGISTRY.get(name)
            args = item[name] if guard_type is not None else None
            named = (
                [k for k, p in guard_type.params.items() if p.kind == "trigger"]
                if guard_type
                else []
            )
            if isinstance(args, Mapping) and any(args.get(k) == trigger for k in named):
                references.append(guard_of(transition, name))
    refuse_references(Label(id=f"pemicu '{trigger}'", en=f"trigger '{trigger}'"), references)


def refuse_references(what: Label, references: Sequence[Label]) -> None:
    if references:
        named = joined(references)
        raise InvalidData(
            Label(
                id=f"{what.id} masih disebut oleh {named.id}: ubah dulu bagian itu",
                en=f"{what.en} is still named by {named.en}: change those first",
            )
        )


# --------------------------------------------------------------------------- wording


def listing(names: Sequence[Any], lang: str = "en") -> str:
    """The names, comma separated ("none", or "tidak ada" in Indonesian, when empty)."""
    return ", ".join(str(n) for n in names) or ("tidak ada" if lang == "id" else "none")


def suggestion(name: str, known: Sequence[str]) -> Label:
    """``hint`` in both languages: the closest known name to ``name``, if any is close."""
    match = get_close_matches(name, sorted(known), n=1)
    if not match:
        return Label(id="", en="")
    return Label(id=f" (maksud Anda '{match[0]}'?)", en=hint(name, known))


def joined(parts: Sequence[Label], separator: str = "; ") -> Label:
    """Descriptions joined into one, in each language."""
    return Label(id=separator.join(p.id for p in parts), en=separator.join(p.en for p in parts))
