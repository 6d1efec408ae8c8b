"""The names the audit commands offer as choices, kept apart from the modules that do the
work so that `rukun --help` and every other command start without importing them: the
export formats, and the oversight tables with their columns."""

from __future__ import annotations

from collections.abc import Mapping

#: History export formats (:mod:`engine.audit.export`).
FORMATS = ("jsonl", "csv", "xlsx")

MONEY = ("budget", "approved", "disbursed", "accounted")
REGION_MONEY = ("approved", "disbursed", "accounted")
#: The oversight figures' tables and their columns, as
#: :func:`engine.audit.statistics.table_csv` writes them.
TABLES: Mapping[str, tuple[str, ...]] = {
    "states": ("state", "label_id", "label_en", "final", "count", "overdue"),
    "time_in_state": ("state", "label_id", "label_en", "entries", "median_days", "p90_days"),
    "rates": ("decided", "revised", "revision_rate", "rejected", "rejection_rate", "cancelled"),
    "money": MONEY,
    "by_region": ("region", "name", "cases", *REGION_MONEY),
}
