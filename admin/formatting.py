"""Template filters: Rupiah, local time (Asia/Makassar, WITA), labels in the UI language."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_date

from admin.auth import current_language
from engine.money import format_money

WITA = ZoneInfo("Asia/Makassar")


def rupiah(value: Any) -> str:
    return format_money(value) if isinstance(value, int) and not isinstance(value, bool) else "-"


def local_time(value: str | None) -> str:
    """``2026-03-01T02:00:00.000000Z`` → ``01-03-2026 10:00 WITA``."""
    if not value:
        return "-"
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(WITA)
    return moment.strftime("%d-%m-%Y %H:%M WITA")


def local_date(value: Any) -> str:
    """``2026-01-15`` → ``15 Jan 2026`` (Indonesian) or ``Jan 15, 2026`` (English)."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return str(format_date(day, "medium"))


def label(value: Any) -> str:
    """A ``{id, en}`` label in the current language."""
    if isinstance(value, dict):
        return str(value.get(current_language()) or value.get("id") or "")
    return "" if value is None else str(getattr(value, current_language(), value))


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        rupiah=rupiah, local_time=local_time, local_date=local_date, label=label
    )
