"""Transition forms on the web: how the browser's fields map onto a definition's fields
(list rows, case pickers, check boxes, uploads) and how a trigger's guards are shown.

The same parsing serves submitting a form and checking it as the user types, so the guards
shown before submitting are the guards the engine applies on submit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from engine.language import Definition
from engine.language.model import FieldSpec
from engine.runtime.case_views import TriggerOption

#: Short titles for the built-in guards, shown next to a tick once a guard holds (a failing
#: or waiting guard shows its own message instead).
GUARD_TITLES: dict[str, dict[str, str]] = {
    "quorum": {"id": "Kuorum rembug warga", "en": "Rembug warga quorum"},
    "documents": {"id": "Dokumen terlampir", "en": "Documents attached"},
    "field_present": {"id": "Isian terisi", "en": "Fields filled in"},
    "amount_between": {"id": "Jumlah dalam batas", "en": "Amount within limits"},
    "approved_by": {"id": "Persetujuan sebelumnya", "en": "Earlier approval"},
    "sum_lte": {"id": "Jumlah tidak melebihi batas", "en": "Total within the limit"},
    "count_lte": {"id": "Kuota belum penuh", "en": "Quota not yet full"},
    "expr": {"id": "Syarat program", "en": "Program rule"},
    "not_in_other_cases": {"id": "Tidak ganda dengan kasus lain", "en": "Not in another case"},
    "tranche_accounted": {
        "id": "Tahap sebelumnya sudah dipertanggungjawabkan",
        "en": "Earlier tranche accounted for",
    },
}

_ROW_KEY = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)-(?P<index>\d{1,4})-(?P<sub>\w+)$")


def form_values(
    definition: Definition,
    field_names: Iterable[str],
    form: MultiDict[str, str],
    files: Mapping[str, FileStorage],
) -> tuple[dict[str, Any], dict[str, FileStorage]]:
    """The values the user gave for ``field_names`` (empty ones left out, so the engine
    reports a missing required field as missing) and the uploaded files."""
    values: dict[str, Any] = {}
    uploads: dict[str, FileStorage] = {}
    rows = _rows(form)
    for name in field_names:
        spec = definition.fields[name]
        if spec.type == "document":
            upload = files.get(name)
            if upload is not None and upload.filename:
                uploads[name] = upload
        elif spec.type == "boolean":
            values[name] = "true" if form.get(name) else "false"
        elif spec.type == "list":
            items = _list_items(spec, rows.get(name, {}))
            if items:
                values[name] = items
            elif form.get(name, "").strip():  # JSON typed by hand (no script in the browser)
                values[name] = form[name].strip()
        elif spec.type == "cases":
            chosen = [p.strip() for v in form.getlist(name) for p in v.split(",") if p.strip()]
            if chosen:
                values[name] = chosen
        elif form.get(name, "").strip() != "":
            values[name] = form[name].strip()
    return values, uploads


def _rows(form: MultiDict[str, str]) -> dict[str, dict[int, dict[str, str]]]:
    """``members-3-nik=...`` → ``{"members": {3: {"nik": ...}}}``."""
    found: dict[str, dict[int, dict[str, str]]] = {}
    for key in form:
        match = _ROW_KEY.match(key)
        if match:
            row = found.setdefault(match["field"], {}).setdefault(int(match["index"]), {})
            row[match["sub"]] = form.get(key, "").strip()
    return found


def _list_items(spec: FieldSpec, rows: Mapping[int, Mapping[str, str]]) -> list[dict[str, Any]]:
    """Rows in order; a row left entirely empty is dropped (the page offers spare rows)."""
    item = spec.item or {}
    items = []
    for index in sorted(rows):
        row = rows[index]
        typed = {
            sub: row.get(sub, "") for sub, sub_spec in item.items() if sub_spec.type != "boolean"
        }
        if not any(typed.values()):
            continue
        entry: dict[str, Any] = {}
        for sub, sub_spec in item.items():
            if sub_spec.type == "boolean":
                entry[sub] = "true" if row.get(sub) else "false"
            elif row.get(sub, "") != "":
                entry[sub] = row[sub]
        items.append(entry)
    return items


def guard_title(name: str, lang: str) -> str:
    """A built-in guard's short title in ``lang`` (its name for guards without one)."""
    title = GUARD_TITLES.get(name, {})
    return title.get(lang) or title.get("id") or name


def option_view(option: TriggerOption, definition: Definition, lang: str) -> dict[str, Any]:
    """What the page shows about one trigger: may the user fire it, the problems that are
    not guards (scope, invalid input) and each guard as held / failed / waiting for input."""
    guard_texts = set()
    guards = []
    for result in option.guards:
        if result.message is not None:
            guard_texts.add(result.message.en)
        if result.ok is True or result.message is None:
            text = guard_title(result.name, lang)
        else:
            text = result.message.get(lang)
        waiting = [
            definition.fields[f].label.get(lang) for f in result.fields if f in definition.fields
        ]
        guards.append(
            {
                "guard": result.name,
                "ok": result.ok,
                "text": text,
                "waiting_for": waiting if result.ok is None else [],
            }
        )
    return {
        "trigger": option.trigger,
        "allowed": option.allowed,
        "permitted": option.permitted,
        "problems": [p.get(lang) for p in option.problems if p.en not in guard_texts],
        "guards": guards,
    }
