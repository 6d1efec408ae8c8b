"""Query parameters and path segments: checked once for every request before a screen reads
them, and numbers read by type. A malformed value is a 400 with a message saying which
parameter and what is wrong, never a 500 from the database (PostgreSQL refuses NUL in text
and integers beyond its columns; SQLite lets some of that pass, so both behave alike
only if the app refuses it first)."""

from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidQuery
from engine.runtime.queries import ID_MAX, ID_MIN

#: No screen reads a longer parameter (searches, codes, cursors, a return path).
MAX_CHARS = 1000
NUMBER = re.compile(r"[+-]?[0-9]{1,12}")


def init_app(app: Flask) -> None:
    app.before_request(check_request)


def check_request() -> None:
    """Refuse a request whose query string, path or posted form holds a NUL character, or
    whose query string or path holds an overlong value (400), or names a number no row can
    have (404: no such page)."""
    for name, value in request.args.items(multi=True):
        _check_text(name, value)
    if request.method == "POST":  # form text may be long (YAML, notes) but never hold NUL
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise InvalidQuery(_nul(name))
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            _check_text(name, value)
        elif isinstance(value, int) and not ID_MIN <= value <= ID_MAX:
            abort(404)


def _check_text(name: str, value: str) -> None:
    shown = _shown(name)
    if "\x00" in name or "\x00" in value:
        raise InvalidQuery(_nul(name))
    if len(name) > MAX_CHARS or len(value) > MAX_CHARS:
        raise InvalidQuery(
            gettext(
                "Parameter %(name)s terlalu panjang (paling banyak %(count)s karakter).",
                name=shown,
                count=MAX_CHARS,
            )
        )


def _nul(name: str) -> str:
    return gettext(
        "Parameter %(name)s berisi karakter NUL, yang tidak diterima.", name=_shown(name)
    )


def _shown(name: str) -> str:
    clean = name.replace("\x00", "\\0")
    return clean if len(clean) <= 40 else clean[:40] + "…"


def int_arg(
    name: str,
    low: int = ID_MIN,
    high: int = ID_MAX,
    source: MultiDict[str, str] | None = None,
) -> int | None:
    """The whole number in parameter ``name`` of the query string (or ``source``), None
    when it is absent or empty; :class:`InvalidQuery` unless it is one between ``low`` and
    ``high`` (by default what an integer column holds)."""
    value = (request.args if source is None else source).get(name, "").strip()
    if not value:
        return None
    if not NUMBER.fullmatch(value):
        raise InvalidQuery(gettext("%(name)s harus berupa angka", name=_shown(name)))
    number = int(value)
    if not low <= number <= high:
        raise InvalidQuery(
            gettext(
                "%(name)s harus antara %(low)s dan %(high)s",
                name=_shown(name),
                low=low,
                high=high,
            )
        )
    return number
