"""The workflow language: YAML source -> typed, validated :class:`Definition` objects."""

from __future__ import annotations

from typing import Any

from engine.language.model import Definition, FieldSpec, GuardSpec, Label, StateSpec, TransitionSpec

__all__ = [
    "Definition",
    "FieldSpec",
    "GuardSpec",
    "Label",
    "StateSpec",
    "TransitionSpec",
    "load_definition",
    "parse_definition",
    "read_definition_text",
]


def __getattr__(name: str) -> Any:
    # The loader needs the guard registry, whose guards need the model: import it lazily so
    # `engine.guards` and `engine.language` can be imported in either order.
    if name in ("load_definition", "parse_definition", "read_definition_text"):
        from engine.language import loader

        return getattr(loader, name)
    raise AttributeError(name)
