"""Personal data (NIK, KK numbers) is shown in full only to roles that need it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.language.model import Definition, FieldSpec


def mask(value: str) -> str:
    """Keep just enough to recognise a number: ``6472********0001``."""
    if len(value) == 16 and value.isdigit():
        from lokal import partial_mask  # lokal-id takes a sixth of a second to import

        return partial_mask("NIK", value)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def _mask_value(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.type == "list" and spec.item and isinstance(value, list):
        return [
            {k: _mask_value(spec.item[k], v) if k in spec.item else v for k, v in item.items()}
            if isinstance(item, Mapping)
            else item
            for item in value
        ]
    if spec.pii:
        return mask(str(value))
    return value


def masked_data(definition: Definition, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every personal value masked."""
    return {
        name: _mask_value(definition.fields[name], value) if name in definition.fields else value
        for name, value in data.items()
    }


def may_see_pii(definition: Definition, roles: set[str] | None) -> bool:
    """Roles listed in the definition's ``pii_roles`` (and admins) see personal data; an
    anonymous reader (``None``) does not."""
    return roles is not None and bool(roles & ({"admin"} | set(definition.pii_roles)))
