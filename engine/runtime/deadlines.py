"""When a case in a state becomes overdue: calendar days, or Indonesian working days."""

from __future__ import annotations

import datetime as dt

from engine.language.model import StateSpec


def due_at(state: StateSpec, entered: dt.datetime) -> dt.datetime | None:
    """When a case entering ``state`` at ``entered`` becomes overdue (None: no deadline)."""
    deadline = state.deadline
    if deadline is None:
        return None
    if deadline.days is not None:
        return entered + dt.timedelta(days=deadline.days)
    from lokal import add_working_days

    local = entered.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    day = add_working_days(local, deadline.working_days or 0)
    return dt.datetime.combine(
        day, dt.time(23, 59, 59), dt.timezone(dt.timedelta(hours=8))
    ).astimezone(dt.UTC)
