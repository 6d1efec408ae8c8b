"""The studio's form edits: what each small form of the "Formulir / Form" tab posts, turned
into the edit the engine applies (:func:`engine.studio.edits.apply_edit`). Values arrive as
text; here they get the types the YAML should hold (numbers stay numbers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.errors import InvalidData
from engine.studio.catalogue import guard_catalogue
from engine.text import Label


def scalar(text: str) -> int | float | bool | str:
    """A typed value: ``20`` an int, ``0.6667`` a float, ``true``/``false`` a bool, else text."""
    value = text.strip()
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            continue
    return value


def _text(form: MultiDict[str, str], name: str) -> str:
    return form.get(name, "").strip()


def _optional(form: MultiDict[str, str], name: str) -> str | None:
    return _text(form, name) or None


def _not_json(name: str, exc: json.JSONDecodeError | RecursionError) -> InvalidData:
    if isinstance(exc, RecursionError):  # "[[[[..." deeper than Python's stack
        return InvalidData(
            Label(id=f"{name}: JSON terlalu bersarang", en=f"{name}: JSON nested too deeply")
        )
    return InvalidData(
        Label(
            id=f"{name}: bukan JSON yang sah (kolom {exc.colno}: {exc.msg})",
            en=f"{name}: not valid JSON (column {exc.colno}: {exc.msg})",
        )
    )


def _path(form: MultiDict[str, str]) -> list[str]:
    raw = form.get("path", "")
    try:
        path = json.loads(raw) if raw.startswith("[") else [raw.strip()]
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _not_json("path", exc) from exc
    if not isinstance(path, list) or not all(isinstance(p, str) and p for p in path):
        raise InvalidData(Label(id="path: sebutkan parameternya", en="path: name the parameter"))
    return path


def _target(form: MultiDict[str, str]) -> list[str | None]:
    try:
        target = json.loads(form.get("target", ""))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _not_json("target", exc) from exc
    if not isinstance(target, list) or not target:
        raise InvalidData(
            Label(
                id="target: sebutkan milik siapa label itu",
                en="target: say what the label belongs to",
            )
        )
    return target


def _guard_args(form: MultiDict[str, str], guard: str) -> dict[str, Any]:
    """The parameters of ``guard`` from ``arg-<name>`` fields, typed by their kind."""
    spec = next((g for g in guard_catalogue() if g["name"] == guard), None)
    if spec is None:
        raise InvalidData(
            Label(id=f"syarat '{guard}' tidak dikenal", en=f"unknown guard '{guard}'")
        )
    args: dict[str, Any] = {}
    for param in spec["params"]:
        key = f"arg-{param['name']}"
        if param["multiple"]:
            values = [v for v in form.getlist(key) if v.strip()]
            if values:
                args[param["name"]] = values
        elif param["kind"] == "bool":
            if f"{key}-given" in form:
                args[param["name"]] = key in form
        else:
            value = form.get(key, "").strip()
            if value:
                numeric = param["kind"] in ("value", "limit")
                args[param["name"]] = scalar(value) if numeric else value
    return args


def edit_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The edit a studio form describes (``op`` and its arguments)."""
    op = _text(form, "op")
    edit: dict[str, Any] = {"op": op}
    if op == "set_param":
        edit.update(path=_path(form), value=scalar(form.get("value", "")))
    elif op == "remove_param":
        edit.update(path=_path(form))
    elif op == "set_label":
        edit.update(
            target=_target(form), id_text=_text(form, "id_text"), en_text=_text(form, "en_text")
        )
    elif op == "set_roles":
        edit.update(
            trigger=_text(form, "trigger"),
            roles=form.getlist("roles"),
            source=_optional(form, "source"),
        )
    elif op == "set_deadline":
        edit.update(_deadline(form))
    elif op == "add_state":
        edit.update(
            name=_text(form, "name"),
            label_id=_optional(form, "label_id"),
            label_en=_optional(form, "label_en"),
            before=_optional(form, "before"),
        )
    elif op == "rename_state":
        edit.update(old=_text(form, "old"), new=_text(form, "new"))
    elif op == "remove_state":
        edit.update(name=_text(form, "name"), with_transitions="with_transitions" in form)
    elif op == "add_transition":
        edit.update(
            trigger=_text(form, "trigger"),
            sources=form.getlist("sources"),
            dest=_text(form, "dest"),
            roles=form.getlist("roles"),
            label_id=_optional(form, "label_id"),
            label_en=_optional(form, "label_en"),
            form=form.getlist("form"),
        )
    elif op == "remove_transition":
        edit.update(trigger=_text(form, "trigger"), source=_optional(form, "source"))
    elif op == "set_transition_ends":
        edit.update(
            trigger=_text(form, "trigger"),
            source=_optional(form, "source"),
            new_sources=form.getlist("new_sources") or None,
            new_dest=_optional(form, "new_dest"),
        )
    elif op == "add_guard":
        guard = _text(form, "guard")
        edit.update(
            trigger=_text(form, "trigger"),
            guard=guard,
            args=_guard_args(form, guard),
            source=_optional(form, "source"),
            message_id=_optional(form, "message_id"),
            message_en=_optional(form, "message_en"),
        )
    elif op == "remove_guard":
        index = form.get("index", "")
        if not index.isdigit():
            raise InvalidData(Label(id="index: syarat yang mana", en="index: which guard"))
        edit.update(
            trigger=_text(form, "trigger"), index=int(index), source=_optional(form, "source")
        )
    return edit  # an unknown op is refused by apply_edit, with a hint


def _deadline(form: Mapping[str, str]) -> dict[str, Any]:
    span = form.get("span", "").strip()
    kind = form.get("span_kind", "days")
    if span and not span.isdigit():
        raise InvalidData(
            Label(id="deadline: bilangan bulat jumlah hari", en="deadline: a whole number of days")
        )
    days = int(span) if span and kind == "days" else None
    working = int(span) if span and kind == "working_days" else None
    return {
        "state": form.get("state", "").strip(),
        "days": days,
        "working_days": working,
        "escalate_to": (form.get("escalate_to") or "").strip() or None,
    }
