"""The workflow language: YAML source -> typed, validated :class:`Definition` objects."""

from engine.language.loader import load_definition, parse_definition
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
]
