"""Oversight figures of one program, year and region — the figures the Probebaya policy
review lacked: cases by state, time spent in each state, revision and rejection rates,
overdue cases, and money approved, disbursed and accounted for (LPJ accepted).

Counts, deadlines and money are read from the cases and their ledgers; time in state and
revisions from the history itself (``transition_records``), streamed in order. Nothing
here writes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.audit.vocabulary import MONEY, REGION_MONEY, TABLES
from engine.errors import Forbidden, InvalidData, NotFound
from engine.language import Definition
from engine.language.model import StateSpec
from engine.language.roles import LEVELS, level_rank
from engine.runtime import ledger, queries
from engine.runtime.access import Actor
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.models import (
    Case,
    DefinitionVersion,
    LedgerEntry,
    Region,
    TransitionRecord,
    utcnow,
)
from engine.text import Label

#: Roles that may see a program's oversight figures (within their region scope).
OVERSIGHT_ROLES = ("auditor", "program_officer", "city", "skpd", "dinsos", "admin")
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: The level of ``by_region`` when no region is chosen (otherwise one below the region's).
DEFAULT_LEVEL = "kecamatan"
#: Rows fetched at a time when streaming history records and ledger entries.
STREAM_ROWS = 1000
SECONDS_PER_DAY = 86_400
#: What :func:`engine.runtime.ledger.entry_of` reads of a ledger entry.
LEDGER_COLUMNS = (
    LedgerEntry.seq,
    LedgerEntry.kind,
    LedgerEntry.tranche,
    LedgerEntry.description,
    LedgerEntry.amount,
    LedgerEntry.date,
    LedgerEntry.document_sha256,
)


# --------------------------------------------------------------------------- one case's path


@dataclass(frozen=True)
class CasePath:
    """A case's way through its states: the stays it has finished (state, duration), the
    state it is in since ``entered``, and whether it came back to a state it had left."""

    stays: tuple[tuple[str, dt.timedelta], ...]
    state: str
    entered: dt.datetime
    revisited: bool


def walk(records: Iterable[tuple[str, dt.datetime]]) -> CasePath:
    """The path of one case from its history records' (dest, at), in sequence order.

    A case enters a record's ``dest`` at its ``at`` and leaves it at the next record whose
    ``dest`` differs: an escalation (dest == source) or a transition back into the same
    state (a second tranche) is no leave; a migration to another state is."""
    iterator = iter(records)
    try:
        state, entered = next(iterator)
    except StopIteration:
        raise ValueError("a case's history has at least its start record") from None
    stays: list[tuple[str, dt.timedelta]] = []
    left: set[str] = set()
    revisited = False
    for dest, at in iterator:
        if dest == state:
            continue
        stays.append((state, at - entered))
        left.add(state)
        revisited = revisited or dest in left
        state, entered = dest, at
    return CasePath(tuple(stays), state, entered, revisited)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of sorted values by linear interpolation between the two
    nearest ranks (position ``fraction * (n - 1)``; numpy's default, and
    ``statistics.quantiles(method="inclusive")``, which needs two values where this needs one)."""
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class TimeTally:
    """Stays in days per state and the number of revised cases, added up case by case."""

    days: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    revised: int = 0

    def add(self, path: CasePath, in_final_state: bool, now: dt.datetime) -> None:
        """Add one case's stays; time in its current state runs until ``now`` (never
        negative) unless that state is final."""
        for state, spent in path.stays:
            self.days[state].append(spent.total_seconds() / SECONDS_PER_DAY)
        if not in_final_state:
            running = max((now - path.entered).total_seconds(), 0.0)
            self.days[path.state].append(running / SECONDS_PER_DAY)
        self.revised += int(path.revisited)

    def row(self, state: str) -> dict[str, Any]:
        """Entries, median and 90th percentile (days, 1 decimal; None without entries)."""
        ordered = sorted(self.days.get(state, ()))
        if not ordered:
            return {"entries": 0, "median_days": None, "p90_days": None}
        return {
            "entries": len(ordered),
            "median_days": round(percentile(ordered, 0.5), 1),
            "p90_days": round(percentile(ordered, 0.9), 1),
        }


@dataclass
class StateCounts:
    """Cases per current state, the overdue ones, and those in a final state."""

    cases: Counter[str] = field(default_factory=Counter)
    overdue: Counter[str] = field(default_factory=Counter)
    final: Counter[str] = field(default_factory=Counter)


def rate(part: int, whole: int) -> float:
    """``part / whole`` rounded to 3 places; 0 when ``whole`` is 0."""
    return round(part / whole, 3) if whole else 0.0


# --------------------------------------------------------------------------- the service


class Oversight:
    """Oversight figures for auditors, program officers and the city, within the viewer's
    region scope."""

    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def dialect(self) -> str:
        return self.context.engine.dialect.name

    def figures(
        self,
        viewer: str,
        program: str,
        year: int | None = None,
        region: str | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """The figures of ``program`` (in ``year``, within ``region``; default all) over the
        cases in ``viewer``'s scope, as a JSON-ready dict. ``now`` (default: now) decides
        what is overdue and until when the current states' time runs."""
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            raise InvalidData(
                Label(
                    id=f"tahun {year} di luar rentang ({FIRST_YEAR}..{LAST_YEAR})",
                    en=f"year {year} is out of range ({FIRST_YEAR}..{LAST_YEAR})",
                )
            )
        now = now or utcnow()
        with self.context.sessions() as session:
            overseer = self._overseer(session, viewer)
            versions = self._versions(session, program)
            selection, level = self._selection(session, overseer, program, year, region)
            finals = {row.id: {s.name for s in d.states if s.final} for row, d in versions}
            counts = self._counts(session, selection, finals, now)
            tally = self._time(session, selection, finals, now)
            money, by_region = self._money(session, selection, level)
        catalogue = state_catalogue(d for _, d in versions)
        cases = sum(counts.cases.values())
        decided = sum(counts.final.values())
        return {
            "program": program,
            "year": year,
            "region": region,
            "level": level,
            "as_of": format_time(now),
            "cases": cases,
            "states": [
                {
                    "state": name,
                    "label": spec.label.to_json(),
                    "final": spec.final,
                    "count": counts.cases[name],
                    "overdue": counts.overdue[name],
                }
                for name, spec in catalogue.items()
            ],
            "time_in_state": [
                {"state": name, "label": spec.label.to_json(), **tally.row(name)}
                for name, spec in catalogue.items()
                if not spec.final or tally.days.get(name)
            ],
            "rates": {
                "decided": decided,
                "revised": tally.revised,
                "revision_rate": rate(tally.revised, cases),
                "rejected": counts.final["rejected"],
                "rejection_rate": rate(counts.final["rejected"], decided),
                "cancelled": counts.final["cancelled"],
            },
            "money": money,
            "by_region": by_region,
        }

    def _overseer(self, session: Session, viewer: str) -> Actor:
        """The viewer with only their oversight grants (whose regions are the scope);
        :class:`Forbidden` without one."""
        actor = self.context.actor(session, viewer)
        grants = tuple(g for g in actor.grants if g.role in OVERSIGHT_ROLES)
        if not grants:
            held = ", ".join(str(g) for g in actor.grants)
            raise Forbidden(
                Label(
                    id=f"pengguna '{viewer}' tidak dapat melihat angka pengawasan: diperlukan "
                    f"peran {' atau '.join(OVERSIGHT_ROLES)} (peran pengguna: "
                    f"{held or 'tidak ada'})",
                    en=f"user '{viewer}' may not see oversight figures: it needs role "
                    f"{' or '.join(OVERSIGHT_ROLES)} (user has: {held or 'none'})",
                )
            )
        return Actor(actor.name, grants)

    def _versions(
        self, session: Session, program: str
    ) -> list[tuple[DefinitionVersion, Definition]]:
        """The program's stored versions, the published one first, then newest first."""
        rows = session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.program == program, DefinitionVersion.status != "draft")
            .order_by(DefinitionVersion.version.desc())
        )
        ordered = sorted(rows, key=lambda row: row.status != "published")
        if not ordered:
            raise NotFound(Label(id=f"tidak ada program '{program}'", en=f"no program '{program}'"))
        return [(row, self.context.definition(row)) for row in ordered]

    def _selection(
        self, session: Session, overseer: Actor, program: str, year: int | None, region: str | None
    ) -> tuple[list[ColumnElement[bool]], str]:
        """The WHERE clauses choosing the cases, and the level ``by_region`` groups them by."""
        selection = [Case.program == program]
        if year is not None:
            selection.append(Case.year == year)
        level = DEFAULT_LEVEL
        if region is not None:
            chosen = session.get(Region, region)
            if chosen is None:
                raise NotFound(Label(id=f"tidak ada wilayah {region}", en=f"no region {region}"))
            selection.append(queries.within(chosen.path, self.dialect))
            level = LEVELS[min(level_rank(chosen.level) + 1, len(LEVELS) - 1)]
        scope = queries.scope_filter(session, overseer, self.dialect)
        if scope is not None:
            selection.append(scope)
        return selection, level

    @staticmethod
    def _counts(
        session: Session,
        selection: Sequence[ColumnElement[bool]],
        finals: Mapping[int, set[str]],
        now: dt.datetime,
    ) -> StateCounts:
        """Cases per state in one grouped query; final and overdue by each case's pinned
        definition (a case in a final state is never overdue)."""
        query = (
            select(
                Case.definition_version_id,
                Case.state,
                func.count(),
                func.count().filter(Case.due_at < now),
            )
            .where(*selection)
            .group_by(Case.definition_version_id, Case.state)
        )
        counts = StateCounts()
        for version_id, state, cases, overdue in session.execute(query):
            counts.cases[state] += cases
            if state in finals[version_id]:
                counts.final[state] += cases
            else:
                counts.overdue[state] += overdue
        return counts

    @staticmethod
    def _time(
        session: Session,
        selection: Sequence[ColumnElement[bool]],
        finals: Mapping[int, set[str]],
        now: dt.datetime,
    ) -> TimeTally:
        """Every stay in a state, from the history records streamed case by case."""
        tally = TimeTally()
        columns = (TransitionRecord.dest, TransitionRecord.at, Case.definition_version_id)
        for rows in per_case(session, selection, TransitionRecord, TransitionRecord.seq, columns):
            path = walk((row.dest, row.at) for row in rows)
            tally.add(path, path.state in finals[rows[0].definition_version_id], now)
        return tally

    def _money(
        self, session: Session, selection: Sequence[ColumnElement[bool]], level: str
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Ledger totals of the chosen cases, and cases and money per region at ``level``;
        the entries are streamed and folded case by case."""
        by_path = select(Case.region_path, func.count()).where(*selection)
        paths = {path: cases for path, cases in session.execute(by_path.group_by(Case.region_path))}
        region_of = RegionsAtLevel(session, paths, level)
        regions: dict[str, dict[str, Any]] = {}
        for path, cases in paths.items():
            row = regions.setdefault(region_of.code(path), region_of.row(path))
            row["cases"] += cases
        money = dict.fromkeys(MONEY, 0)
        columns = (*LEDGER_COLUMNS, Case.region_path)
        for rows in per_case(session, selection, LedgerEntry, LedgerEntry.id, columns):
            totals = ledger.fold(ledger.entry_of(row) for row in rows).totals()
            totals["accounted"] = totals["spent"]
            row = regions[region_of.code(rows[0].region_path)]
            for column in MONEY:
                money[column] += totals[column]
            for column in REGION_MONEY:
                row[column] += totals[column]
        return money, [regions[code] for code in sorted(regions)]


def per_case(
    session: Session,
    selection: Sequence[ColumnElement[bool]],
    table: type[TransitionRecord] | type[LedgerEntry],
    order: InstrumentedAttribute[Any],
    columns: Sequence[Any],
) -> Iterator[list[Row[Any]]]:
    """``columns`` of the rows of ``table`` (records or ledger entries) belonging to the
    chosen cases, streamed from the database in case and ``order`` order and handed out
    one case's rows at a time: only one case's rows are held at once."""
    query = (
        select(table.case_id, *columns)
        .join(Case, Case.id == table.case_id)
        .where(*selection)
        .order_by(table.case_id, order)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for _case_id, rows in groupby(session.execute(query), key=itemgetter(0)):
        yield list(rows)


class RegionsAtLevel:
    """Which region at one level each case's region path lies in (as ``rukun report
    budget`` groups): the path's code at that level, or "-" when it has none."""

    OUTSIDE = "-"

    def __init__(self, session: Session, paths: Iterable[str], level: str) -> None:
        codes = {code for path in paths for code in path.split("/")}
        at_level = select(Region.code, Region.name).where(
            Region.code.in_(codes), Region.level == level
        )
        self.names: dict[str, str] = {code: name for code, name in session.execute(at_level)}

    def code(self, path: str) -> str:
        return next((c for c in path.split("/") if c in self.names), self.OUTSIDE)

    def row(self, path: str) -> dict[str, Any]:
        """An empty ``by_region`` row for the region of ``path``."""
        code = self.code(path)
        name = self.names.get(code, "(outside this level)")
        return {"region": code, "name": name, "cases": 0, **dict.fromkeys(REGION_MONEY, 0)}


def state_catalogue(definitions: Iterable[Definition]) -> dict[str, StateSpec]:
    """Every state of the given definitions in the order of the first (the published one),
    then those only later ones have; each with the first definition's spec of it."""
    catalogue: dict[str, StateSpec] = {}
    for definition in definitions:
        for spec in definition.states:
            catalogue.setdefault(spec.name, spec)
    return catalogue


# --------------------------------------------------------------------------- tables and CSV


def table(figures: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The rows of one of the figures' :data:`TABLES`, flat: a label becomes ``label_id``
    and ``label_en``; ``rates`` and ``money`` are one row."""
    if name not in TABLES:
        raise InvalidData(
            Label(
                id=f"tabel '{name}' tidak dikenal (salah satu dari {', '.join(TABLES)})",
                en=f"unknown table '{name}' (one of {', '.join(TABLES)})",
            )
        )
    value = figures[name]
    rows = value if isinstance(value, list) else [value]
    return [_flat(row) for row in rows]


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    flat = {key: value for key, value in row.items() if key != "label"}
    if "label" in row:
        flat["label_id"], flat["label_en"] = row["label"]["id"], row["label"]["en"]
    return flat


def table_csv(figures: Mapping[str, Any], name: str) -> str:
    """One table as CSV text (RFC 4180) with a header row; no value is written as empty."""
    rows = table(figures, name)
    out = io.StringIO()
    writer = csv.DictWriter(out, TABLES[name], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
