"""Checking the declared fields of a definition (and of a list field's items): types,
the keys each type allows, bounds, choices, personal data, linked cases."""

from __future__ import annotations

import keyword
from typing import Any

from engine.guards.expressions import FUNCTIONS
from engine.guards.registry import hint, known
from engine.language.checking import NAME, CheckerBase, humanize
from engine.language.model import FIELD_TYPES, PII_TYPES, SCALAR_TYPES, Choice, FieldSpec
from engine.language.source import Path

RESERVED_NAMES = {"params", "case", "ledger", *FUNCTIONS, *keyword.kwlist, "true", "false", "none"}
FIELD_KEYS_COMMON = ("type", "label", "help", "pii")
FIELD_KEYS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "list": ("item", "min_items", "max_items"),
    "cases": ("program", "link", "min_items", "max_items"),
    "string": ("max_length",),
    "text": ("max_length",),
    "integer": ("min", "max"),
    "money": ("min", "max"),
    "decimal": ("min", "max"),
    "choice": ("choices",),
    "document": ("public",),
}


class FieldChecks(CheckerBase):
    """The ``fields`` of a definition."""

    def fields(
        self, raw: Any, path: Path = ("fields",), types: tuple[str, ...] = FIELD_TYPES
    ) -> dict[str, FieldSpec]:
        """Field declarations at ``path`` (the case's fields, or a list field's item)."""
        result: dict[str, FieldSpec] = {}
        fields = self.mapping(raw, path, "fields")
        for name, spec in (fields or {}).items():
            where: Path = (*path, name)
            if self.name(name, where, "field name") is None:
                continue
            if name in RESERVED_NAMES:
                self.err(where, f"field name '{name}' is reserved", at_key=True)
                continue
            body = self.mapping(spec, where, f"field '{name}'")
            if body is None:
                continue
            ftype = body.get("type")
            if ftype in ("list", "cases") and ftype not in types:
                self.err(
                    (*where, "type"),
                    f"field '{name}' of a list item cannot be a {ftype} (lists do not nest); "
                    f"one of {', '.join(types)}",
                )
                continue
            if not known(ftype, types):
                self.err(
                    (*where, "type") if "type" in body else where,
                    f"field '{name}' needs a type, one of {', '.join(types)}"
                    f"{hint(str(ftype), types)}",
                )
                continue
            allowed = FIELD_KEYS_COMMON + FIELD_KEYS_BY_TYPE.get(ftype, ())
            self.keys(body, allowed, where, f"field '{name}' ({ftype})")
            field_spec = self.field(name, ftype, body, where)
            if field_spec is not None:
                result[name] = field_spec
        return result

    def field(self, name: str, ftype: str, body: dict[str, Any], path: Path) -> FieldSpec | None:
        label = self.label(body.get("label"), (*path, "label"), humanize(name)) or humanize(name)
        help_text = self.label(body.get("help"), (*path, "help"))
        bounds: dict[str, float | None] = {"min": None, "max": None}
        for key in ("min", "max"):
            value = body.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.err((*path, key), f"'{key}' must be a number")
            elif ftype in ("integer", "money") and not isinstance(value, int):
                self.err((*path, key), f"'{key}' of a {ftype} field must be a whole number")
            else:
                bounds[key] = value
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            self.err((*path, "min"), f"min ({low}) is greater than max ({high})")
        max_length = body.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0
        ):
            self.err((*path, "max_length"), "max_length must be a positive whole number")
            max_length = None
        pii = body.get("pii", ftype in PII_TYPES)
        if not isinstance(pii, bool):
            self.err((*path, "pii"), "pii must be true or false")
            pii = ftype in PII_TYPES
        public = self.public(body, path, pii) if ftype == "document" else False
        choices: list[Choice] = []
        if ftype == "choice":
            raw = body.get("choices")
            if raw is None:
                self.err(path, f"choice field '{name}' needs 'choices'")
            items = self.sequence(raw, (*path, "choices"), "choices") if raw is not None else None
            if items is not None and not items:
                self.err((*path, "choices"), "choices must not be empty")
            for i, item in enumerate(items or []):
                choice = self.choice(item, (*path, "choices", i))
                if choice is None:
                    continue
                if any(c.value == choice.value for c in choices):
                    self.err((*path, "choices", i), f"duplicate choice '{choice.value}'")
                choices.append(choice)
        item_fields: dict[str, FieldSpec] | None = None
        if ftype == "list":
            if "item" not in body:
                self.err(path, f"list field '{name}' needs 'item' (the fields of one entry)")
            else:
                item_fields = self.fields(body["item"], (*path, "item"), SCALAR_TYPES)
                if not item_fields and isinstance(body["item"], dict) and not body["item"]:
                    self.err((*path, "item"), "item must declare at least one field")
        counts = {
            key: self.count(body.get(key), (*path, key)) for key in ("min_items", "max_items")
        }
        if None not in counts.values() and counts["min_items"] > counts["max_items"]:  # type: ignore[operator]
            self.err((*path, "min_items"), "min_items is greater than max_items")
        program = body.get("program")
        if program is not None and not (isinstance(program, str) and NAME.match(program)):
            self.err((*path, "program"), "program must be a program slug")
            program = None
        link = body.get("link")
        if link is not None and not (isinstance(link, str) and NAME.match(link)):
            self.err((*path, "link"), "link must be a snake_case name")
            link = None
        return FieldSpec(
            name=name,
            type=ftype,
            label=label,
            help=help_text,
            min=low,
            max=high,
            max_length=max_length,
            choices=tuple(choices),
            pii=pii,
            public=public,
            item=item_fields,
            min_items=counts["min_items"],
            max_items=counts["max_items"],
            program=program,
            link=link,
        )

    def public(self, body: dict[str, Any], path: Path, pii: bool) -> bool:
        """A document field's ``public`` flag: anyone may read it on the public page, so
        never personal data, and only a field of the case itself (the page shows no list)."""
        public = body.get("public", False)
        if not isinstance(public, bool):
            self.err((*path, "public"), "public must be true or false")
            return False
        if public and pii:
            self.err((*path, "public"), "a document with personal data (pii) cannot be public")
            return False
        if public and path[-2] == "item":
            self.err((*path, "public"), "only a field of the case can be public, not a list item's")
            return False
        return public

    def count(self, value: Any, path: Path) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.err(path, "must be a whole number, 0 or more")
            return None
        return value

    def choice(self, item: Any, path: Path) -> Choice | None:
        if isinstance(item, str | int) and not isinstance(item, bool):
            value = str(item)
            return Choice(value, humanize(value))
        if isinstance(item, dict):
            self.keys(item, ("value", "label"), path, "choice")
            raw = item.get("value")
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                self.err(path, "a choice needs a text 'value'")
                return None
            label = self.label(item.get("label"), (*path, "label"), humanize(str(raw)))
            return Choice(str(raw), label or humanize(str(raw)))
        quote = (
            " (quote it: YAML reads yes/no/true/false as booleans)"
            if isinstance(item, bool)
            else ""
        )
        self.err(path, "a choice must be text or {value: ..., label: ...}" + quote)
        return None
