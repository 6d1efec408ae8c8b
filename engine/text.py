"""Texts in both languages of the UI: definitions' labels and the engine's messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Label:
    """A text in Indonesian (``id``, the UI default) and English (``en``)."""

    id: str
    en: str

    def get(self, lang: str = "id") -> str:
        return self.en if lang == "en" else self.id

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "en": self.en}

    def format(self, **values: Any) -> Label:
        return Label(_safe_format(self.id, values), _safe_format(self.en, values))


def _safe_format(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template
