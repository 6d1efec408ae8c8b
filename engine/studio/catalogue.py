"""The guard catalogue: what the studio needs to build a guard's parameter form."""

from __future__ import annotations

from typing import Any

from engine.guards import REGISTRY
from engine.language.roles import LEVELS

#: What a guard parameter of each kind may name, for a form: a field, several fields, a
#: param, a ledger total, a number, a role, a trigger, a state, a region level...
_KIND_NAMES: dict[str, tuple[str, ...]] = {
    "field": ("field",),
    "fields": ("fields",),
    "value": ("number", "param", "ledger", "field"),
    "amount": ("field", "ledger"),
    "amounts": ("fields", "ledger"),
    "limit": ("number", "param", "ledger", "field"),
    "role": ("role",),
    "trigger": ("trigger",),
    "level": ("level",),
    "states": ("state",),
    "expression": ("expression",),
    "bool": ("bool",),
    "name": ("name",),
    "enum": ("enum",),
}


def guard_catalogue() -> list[dict[str, Any]]:
    """Every registered guard with its description, default message and parameters (kind,
    required, default, field types, choices, what it may name), sorted by name and
    JSON-serialisable: the studio builds a guard's parameter form from it."""
    return [
        {
            "name": guard_type.name,
            "description": " ".join(guard_type.description.split()),
            "message": guard_type.message.to_json(),
            "shorthand": guard_type.shorthand,
            "params": [
                {
                    "name": name,
                    "kind": param.kind,
                    "required": param.required,
                    "default": param.default,
                    "field_types": list(param.field_types),
                    "choices": list(param.choices or (LEVELS if param.kind == "level" else ())),
                    "names": list(_KIND_NAMES.get(param.kind, (param.kind,))),
                    "multiple": param.kind in ("fields", "amounts", "states"),
                }
                for name, param in guard_type.params.items()
            ],
        }
        for guard_type in sorted(REGISTRY.values(), key=lambda g: g.name)
    ]
