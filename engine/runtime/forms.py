"""Marshmallow schemas generated from a definition's fields: how form input (from the CLI,
the admin UI or an API) is parsed, validated and normalised to JSON-safe case data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from engine.errors import InvalidData
from engine.language.model import Definition, FieldSpec, FormItem
from engine.money import parse_money

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Money(fields.Integer):
    """Whole Rupiah; accepts ``150000000``, ``150.000.000`` and ``Rp 150.000.000``."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own class attribute)
        "invalid": "Not an amount of money (write e.g. Rp 150.000.000)."
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            try:
                return parse_money(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
        raise self.make_error("invalid")


class DocumentRef(fields.Field):
    """A stored document: ``{sha256, filename, size, media_type}`` (set by the runtime)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping) or not SHA256.match(str(value.get("sha256", ""))):
            raise ValidationError("Attach a file (a stored document).")
        return {
            "sha256": str(value["sha256"]),
            "filename": str(value.get("filename", "")),
            "size": int(value.get("size", 0)),
            "media_type": str(value.get("media_type", "")),
        }

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Bool(fields.Boolean):
    truthy = fields.Boolean.truthy | {"ya", "Ya", "YA", "y", "Y"}
    falsy = fields.Boolean.falsy | {"tidak", "Tidak", "TIDAK", "n", "N"}


def field_for(spec: FieldSpec, required: bool) -> fields.Field:
    """The marshmallow field for one declared field."""
    options: dict[str, Any] = {"required": required, "allow_none": not required}
    rng = (
        validate.Range(min=spec.min, max=spec.max) if (spec.min, spec.max) != (None, None) else None
    )
    if spec.type in ("string", "text"):
        # a required text must say something; an optional one may be left empty
        checks = [validate.Length(min=1 if required else 0, max=spec.max_length)]
        return fields.String(validate=checks, **options)
    if spec.type == "integer":
        return fields.Integer(strict=False, validate=[rng] if rng else [], **options)
    if spec.type == "money":
        return Money(validate=[rng] if rng else [], **options)
    if spec.type == "decimal":
        return fields.Decimal(as_string=True, validate=[rng] if rng else [], **options)
    if spec.type == "date":
        return fields.Date(**options)
    if spec.type == "boolean":
        return Bool(**options)
    if spec.type == "choice":
        return fields.String(validate=validate.OneOf([c.value for c in spec.choices]), **options)
    if spec.type == "document":
        return DocumentRef(**options)
    raise AssertionError(f"unknown field type {spec.type}")


def schema_for(definition: Definition, items: Iterable[FormItem]) -> Schema:
    """A schema accepting exactly ``items`` (required ones must be given)."""
    return _cached_schema(definition, tuple(items))


@lru_cache(maxsize=512)
def _cached_schema(definition: Definition, items: tuple[FormItem, ...]) -> Schema:
    declared = {
        item.field: field_for(definition.fields[item.field], item.required) for item in items
    }
    return Schema.from_dict(declared, name=f"{definition.program}_form")()


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
    schema = schema_for(definition, items)
    try:
        loaded = schema.load(dict(raw))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        parts = [f"{name}: {' '.join(_flatten(msgs))}" for name, msgs in sorted(messages.items())]
        raise InvalidData("invalid data: " + "; ".join(parts), dict(messages)) from exc
    dumped: dict[str, Any] = schema.dump(loaded)
    return {name: dumped.get(name) for name in loaded}


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, Mapping):
        return [m for v in messages.values() for m in _flatten(v)]
    return [m for v in messages for m in _flatten(v)]


def all_fields(definition: Definition) -> tuple[FormItem, ...]:
    """Every declared field as optional input (used when a case is started)."""
    return tuple(FormItem(name, required=False) for name in definition.fields)
