"""What every part of the validator shares: the problems found so far, with the source
position of each, and checks of the shapes a definition is made of (mappings, lists,
snake_case names, bilingual labels)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import Problem
from engine.guards.registry import hint
from engine.language.model import Label
from engine.language.source import Path, Positions

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
LABEL_KEYS = ("id", "en")


def humanize(name: str) -> Label:
    """The label of something declared without one: its name in words (``rembug_held`` ->
    "Rembug held")."""
    text = name.replace("_", " ").capitalize()
    return Label(text, text)


class CheckerBase:
    """The problems of one definition being checked, and the small checks every part uses."""

    def __init__(self, positions: Positions) -> None:
        self.pos = positions
        self.problems: list[Problem] = []

    def err(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.pos.problem(path, message, at_key=at_key))

    def keys(
        self, mapping: Mapping[str, Any], allowed: tuple[str, ...], path: Path, what: str
    ) -> None:
        for key in mapping:
            if key not in allowed:
                self.err(
                    (*path, key), f"unknown key '{key}' in {what}{hint(key, allowed)}", at_key=True
                )

    def mapping(self, value: Any, path: Path, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.err(path, f"{what} must be a mapping")
        return None

    def sequence(self, value: Any, path: Path, what: str) -> list[Any] | None:
        if isinstance(value, list):
            return value
        self.err(path, f"{what} must be a list")
        return None

    def name(self, value: Any, path: Path, what: str) -> str | None:
        if isinstance(value, str) and NAME.match(value):
            return value
        self.err(path, f"{what} must be a snake_case name (a-z, 0-9, _), got {value!r}")
        return None

    def label(self, value: Any, path: Path, default: Label | None = None) -> Label | None:
        if value is None:
            return default
        if isinstance(value, str):
            return Label(value, value)
        if isinstance(value, dict):
            self.keys(value, LABEL_KEYS, path, "label")
            texts = {k: v for k, v in value.items() if k in LABEL_KEYS}
            if not texts or not all(isinstance(v, str) for v in texts.values()):
                self.err(path, "label must be text or {id: ..., en: ...} with text values")
                return default
            indonesian, english = (
                texts.get("id") or texts.get("en"),
                texts.get("en") or texts.get("id"),
            )
            if not indonesian or not english:
                self.err(path, "label must not be empty")
                return default
            return Label(indonesian, english)
        self.err(path, "label must be text or {id: ..., en: ...}")
        return default
