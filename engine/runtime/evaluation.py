"""What a transition's guards see when it is tried on a case: the case's data and ledger
as the firing would leave them, its region, its history, and counts over the program's
other cases. Used by firing, by the live checks of a form, and by the studio's simulation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.guards import GuardContext
from engine.language import Definition, TransitionSpec
from engine.runtime import ledger, queries
from engine.runtime.case_views import CaseRow
from engine.runtime.ledger import LedgerState
from engine.store.models import Case, LedgerEntry, Region, TransitionRecord


class _History(Sequence[Mapping[str, Any]]):
    """The case's earlier records as guards see them, loaded only if a guard asks."""

    def __init__(self, session: Session, case_id: int | None) -> None:
        self._session, self._case_id = session, case_id
        self._rows: list[Mapping[str, Any]] | None = None

    def _load(self) -> list[Mapping[str, Any]]:
        if self._rows is None:
            rows = self._session.execute(
                select(TransitionRecord.trigger, TransitionRecord.role, TransitionRecord.kind)
                .where(TransitionRecord.case_id == self._case_id)
                .order_by(TransitionRecord.seq)
            )
            self._rows = [{"trigger": t, "role": r, "kind": k} for t, r, k in rows]
        return self._rows

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())


class _Ancestors(Mapping[str, str]):
    """The case's region and its ancestors by level (``{"kota": "64.72", ...}``), read
    only if a guard asks."""

    def __init__(self, session: Session, codes: Sequence[str]) -> None:
        self._session, self._codes = session, list(codes)
        self._levels: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._levels is None:
            query = select(Region.level, Region.code).where(Region.code.in_(self._codes))
            self._levels = {level: code for level, code in self._session.execute(query)}
        return self._levels

    def __getitem__(self, level: str) -> str:
        return self._load()[level]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class _StoredTotals(Mapping[str, int]):
    """The totals of the case's stored ledger, read only if a guard asks."""

    def __init__(self, session: Session, case_id: int | None) -> None:
        self._session, self._case_id = session, case_id
        self._totals: Mapping[str, int] | None = None

    def _load(self) -> Mapping[str, int]:
        if self._totals is None:
            self._totals = stored_ledger(self._session, self._case_id).totals()
        return self._totals

    def __getitem__(self, name: str) -> int:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def guard_context(
    session: Session,
    dialect: str,
    case: Case | CaseRow,
    definition: Definition,
    data: Mapping[str, Any],
    ledger: LedgerState | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
    as_of: dt.datetime | None = None,
) -> GuardContext:
    """What the guards of a firing on ``case`` see; ``history`` replaces the stored one
    (a simulated case has none), ``ledger`` the stored ledger. With ``as_of`` (a replay),
    the program's other cases are counted and read as their histories say they stood just
    before that moment. What a guard may read from the database (history, ledger, regions,
    other cases) is read only when a guard reads it."""
    levels = _Ancestors(session, case.region_path.split("/"))

    def count_cases(level: str, states: Sequence[str] | None) -> int:
        anchor = levels.get(level)
        if anchor is None:
            return 0
        prefix = case.region_path[: case.region_path.index(anchor) + len(anchor)]
        query = (
            select(func.count(Case.id))
            .where(Case.program == case.program, Case.year == case.year)
            .where(queries.within(prefix, dialect))
        )
        if case.id is not None:
            query = query.where(Case.id != case.id)
        query = _in_states(query, states, as_of)
        return session.scalar(query) or 0

    return GuardContext(
        data=data,
        params=definition.params,
        fields=definition.fields,
        case={
            "id": case.id,
            "year": case.year,
            "region": case.subject_code,
            "program": case.program,
            "ancestors": levels,
        },
        history=_History(session, case.id) if history is None else history,
        count_cases=count_cases,
        other_values=lambda name, key, states: _other_values(
            session, case, name, key, states, as_of
        ),
        ledger=_StoredTotals(session, case.id) if ledger is None else ledger.totals(),
    )


def _state_then(as_of: dt.datetime) -> Any:
    """A case's state just before ``as_of`` as its history says (NULL: not opened yet)."""
    return (
        select(TransitionRecord.dest)
        .where(TransitionRecord.case_id == Case.id, TransitionRecord.at < as_of)
        .order_by(TransitionRecord.seq.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )


def _in_states(query: Any, states: Sequence[str] | None, as_of: dt.datetime | None) -> Any:
    """``query`` over cases narrowed to those in ``states`` (now, or just before ``as_of``;
    then also only cases that existed)."""
    if as_of is None:
        return query.where(Case.state.in_(list(states))) if states else query
    then = _state_then(as_of)
    return query.where(then.in_(list(states)) if states else then.is_not(None))


def _other_values(
    session: Session,
    case: Case | CaseRow,
    name: str,
    key: str | None,
    states: Sequence[str] | None,
    as_of: dt.datetime | None = None,
) -> set[Any]:
    """Values of field ``name`` (or of ``key`` in its list items) in this program's
    other cases in ``states`` (as they stood just before ``as_of``, if given). Scans those
    cases' data: fine for program sizes (hundreds to a few thousand active cases); an index
    table is the way to go beyond that."""
    query = select(Case.id, Case.data).where(Case.program == case.program)
    if case.id is not None:
        query = query.where(Case.id != case.id)
    query = _in_states(query, states, as_of)
    rows: list[tuple[int, Any]] = [(i, d) for i, d in session.execute(query)]
    if as_of is not None:  # each case's data as its records up to then made it
        then: dict[int, dict[str, Any]] = {case_id: {} for case_id, _ in rows}
        payloads = session.execute(
            select(TransitionRecord.case_id, TransitionRecord.payload)
            .where(TransitionRecord.case_id.in_(list(then)), TransitionRecord.at < as_of)
            .where(TransitionRecord.kind.in_(("start", "transition")))
            .order_by(TransitionRecord.case_id, TransitionRecord.seq)
        )
        for case_id, payload in payloads:
            then[case_id].update(payload or {})
        rows = list(then.items())
    found: set[Any] = set()
    for _case_id, data in rows:
        value = (data or {}).get(name)
        if isinstance(value, list):
            found.update(item.get(key) for item in value if isinstance(item, Mapping))
        elif value is not None:
            found.add(value)
    return found - {None, ""}


def stored_ledger(session: Session, case_id: int | None) -> LedgerState:
    """The case's ledger as its stored entries add up (empty for a case not stored)."""
    if case_id is None:
        return LedgerState()
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.id)
    )
    return ledger.fold(ledger.entry_of(r) for r in rows)


def posting(
    books: LedgerState, transition: TransitionSpec, data: Mapping[str, Any], case_id: int | None
) -> tuple[list[dict[str, Any]], LedgerState]:
    """The ledger entries ``transition`` would post on ``books`` given the case's new
    ``data``, and the ledger after them (what its guards read)."""
    if transition.ledger is None:
        return [], books
    planned = ledger.plan(transition.ledger, books, data, transition.trigger, case_id)
    after = ledger.fold(
        [*books.entries, *({"seq": 0, **ledger.entry_defaults(p)} for p in planned)]
    )
    return planned, after
