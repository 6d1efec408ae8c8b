"""How form input (from the CLI, the admin UI or an API) is parsed, validated and
normalised to JSON-safe case data, by marshmallow schemas generated from the definition's
fields (:mod:`engine.runtime.form_fields`, imported on the first form checked: reading
cases needs none)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import InvalidData
from engine.language.model import Definition, FormItem


def clean(
    definition: Definition, items: Iterable[FormItem], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate ``raw`` input against ``items``; return JSON-safe values or raise InvalidData."""
    items = tuple(items)
    allowed = {item.field for item in items}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        what = ", ".join(unknown)
        if not allowed:
            raise InvalidData(f"this step takes no data, got: {what}")
        raise InvalidData(
            f"not part of this form: {what} (the form takes: {', '.join(sorted(allowed))})",
            {name: ["not part of this form"] for name in unknown},
        )
    from marshmallow import ValidationError

    from engine.runtime.form_fields import schema_for

    schema = schema_for(definition, items)
    try:
        loaded = schema.load(dict(raw))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        parts = [f"{where}: {text}" for where, text in _flatten(messages)]
        raise InvalidData("invalid data: " + "; ".join(parts), dict(messages)) from exc
    dumped: dict[str, Any] = schema.dump(loaded)
    return {name: dumped.get(name) for name in loaded}


def _flatten(messages: Any, where: str = "") -> list[tuple[str, str]]:
    """``(field path, message)`` pairs, e.g. ``("members[2].nik", "Not a valid NIK ...")``."""
    if isinstance(messages, str):
        return [(where, messages)]
    if isinstance(messages, Mapping):
        found = []
        for key, value in sorted(messages.items(), key=lambda kv: str(kv[0])):
            if isinstance(key, int):
                path = f"{where}[{key}]"
            elif key == "_schema":
                path = where
            else:
                path = f"{where}.{key}" if where else str(key)
            found.extend(_flatten(value, path))
        return found
    return [pair for value in messages for pair in _flatten(value, where)]
