"""Marshmallow schemas generated from a definition's fields (one per form, cached): what
:func:`engine.runtime.forms.clean` validates form input with."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

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


class JsonList(fields.List):
    """A list that also accepts its JSON text (as typed on the command line)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if not text.startswith("["):
                text = "[" + text + "]"  # `--set upstream=12,15`
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValidationError("Not a list (write JSON, e.g. [1, 2]).") from exc
        return super()._deserialize(value, attr, data, **kwargs)


class Nik(fields.String):
    """A 16-digit NIK that passes the Dukcapil checks (region, birth date)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = re.sub(r"[\s.-]", "", str(super()._deserialize(value, attr, data, **kwargs)))
        from lokal import is_valid_nik  # lokal-id takes a sixth of a second to import

        if not is_valid_nik(text):
            raise ValidationError("Not a valid NIK (16 digits: region, birth date, number).")
        return text


class KkNumber(fields.String):
    """A 16-digit family card (Kartu Keluarga) number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = re.sub(r"[\s.-]", "", str(super()._deserialize(value, attr, data, **kwargs)))
        if not re.fullmatch(r"\d{16}", text) or text[:2] == "00":
            raise ValidationError("Not a valid KK number (16 digits).")
        return text


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
        # a required text must say something (not just blanks); an optional one may be empty
        checks: list[validate.Validator] = [
            validate.Length(min=1 if required else 0, max=spec.max_length)
        ]
        if required:
            checks.append(validate.Regexp(r"\s*\S", error="Must not be blank."))
        # PostgreSQL cannot store NUL in text or JSON: refused here on every database alike
        checks.append(validate.Regexp(r"[^\x00]*\Z", error="Must not contain NUL characters."))
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
    if spec.type == "nik":
        return Nik(**options)
    if spec.type == "kk_number":
        return KkNumber(**options)
    count = (
        [validate.Length(min=spec.min_items, max=spec.max_items)]
        if (spec.min_items, spec.max_items) != (None, None)
        else []
    )
    if spec.type == "list":
        item = Schema.from_dict(
            {name: field_for(sub, required=True) for name, sub in (spec.item or {}).items()},
            name=f"{spec.name}_item",
        )
        return JsonList(fields.Nested(item), validate=count, **options)
    if spec.type == "cases":
        return JsonList(fields.Integer(strict=False), validate=count, **options)
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
