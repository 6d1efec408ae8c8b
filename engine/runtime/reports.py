"""Program-level reports: money per region and year, from the cases' ledgers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from engine.errors import InvalidData, NotFound
from engine.language.roles import LEVELS
from engine.runtime import ledger
from engine.runtime.context import Context
from engine.store.models import Case, DefinitionVersion, LedgerEntry, Region
from engine.text import Label

MONEY_COLUMNS = ("budget", "approved", "disbursed", "spent")


class Reports:
    def __init__(self, context: Context) -> None:
        self.context = context

    def budget(self, program: str, year: int, level: str = "kecamatan") -> dict[str, Any]:
        """Cases and their RAB, approved, disbursed and spent (LPJ accepted) totals per region
        at ``level`` (kota, kecamatan, kelurahan...), plus the program's grand total."""
        if level not in LEVELS:
            one_of = ", ".join(LEVELS)
            raise InvalidData(
                Label(
                    id=f"tingkat {level!r} tidak dikenal (salah satu dari {one_of})",
                    en=f"unknown level {level!r} (one of {one_of})",
                )
            )
        with self.context.sessions() as session:
            if (
                session.scalar(
                    select(DefinitionVersion.id).where(DefinitionVersion.program == program)
                )
                is None
            ):
                raise NotFound(
                    Label(id=f"tidak ada program '{program}'", en=f"no program '{program}'")
                )
            cases = session.execute(
                select(Case.id, Case.region_path).where(Case.program == program, Case.year == year)
            ).all()
            entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
            ids = [case_id for case_id, _ in cases]
            for start in range(0, len(ids), 500):
                rows = session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.case_id.in_(ids[start : start + 500]))
                    .order_by(LedgerEntry.id)
                )
                for r in rows:
                    entries[r.case_id].append(ledger.entry_of(r))
            codes = {code for _, path in cases for code in path.split("/")}
            at_level = {
                code: name
                for code, name in session.execute(
                    select(Region.code, Region.name).where(
                        Region.code.in_(codes), Region.level == level
                    )
                )
            }
        regions: dict[str, dict[str, Any]] = {}
        total = {"cases": 0, **dict.fromkeys(MONEY_COLUMNS, 0)}
        for case_id, path in cases:
            code = next((c for c in path.split("/") if c in at_level), None)
            key = code or "-"
            row = regions.setdefault(
                key,
                {
                    "region": key,
                    "name": at_level.get(key, "(outside this level)"),
                    "cases": 0,
                    **dict.fromkeys(MONEY_COLUMNS, 0),
                },
            )
            totals = ledger.fold(entries.get(case_id, [])).totals()
            for target in (row, total):
                target["cases"] += 1
                for column in MONEY_COLUMNS:
                    target[column] += totals[column]
        return {
            "program": program,
            "year": year,
            "level": level,
            "regions": [regions[k] for k in sorted(regions)],
            "total": total,
        }
