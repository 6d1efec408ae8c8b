"""Region levels as the engine's Indonesian messages name them (its own module: starting a
case or granting a role needs them without the region services)."""

from __future__ import annotations

#: Levels an Indonesian message writes otherwise than their code.
_LEVEL_WORDS = {"rt": "RT", "rw": "RW", "group": "kelompok"}


def level_word(level: str) -> str:
    """A region level as an Indonesian message names it (``group`` is a ``kelompok``)."""
    return _LEVEL_WORDS.get(level, level)
