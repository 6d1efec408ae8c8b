"""Moving running cases from one definition version to another, the way Camunda Operate
and Flowable do it: choose cases, map each old state to a new one, dry-run, then apply.
Applying first validates every selected case (a mapping to a missing state, or a case left
in a state the target lacks, refuses the whole request); then each case moves in its own
transaction and gets a ``migration`` record in its hash chain."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidData, NotFound, RukunError
from engine.language import Definition
from engine.runtime import queries, signals
from engine.runtime.case_queries import load_case
from engine.runtime.context import Context
from engine.runtime.deadlines import due_at
from engine.runtime.definition_log import announce, append_event, event_json
from engine.runtime.history import append_record, effects
from engine.store.db import write_session
from engine.store.models import Case, DefinitionVersion, Region, utcnow
from engine.text import Label

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Selection:
    """Which running cases to migrate: all of the program's unless narrowed."""

    from_version: int | None = None
    case_ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    region: str | None = None


@dataclass
class Plan:
    """The outcome per case, and whether the request as a whole may be applied. A row that
    cannot move says why in ``error`` (English) and ``error_text`` (``{id, en}``)."""

    program: str
    to_version: int
    mapping: dict[str, str]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.rows) and all(r["ok"] for r in self.rows)


def _row(case: Case, from_version: int, to_version: int) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "subject": case.subject_code,
        "ok": True,
        "from_version": from_version,
        "to_version": to_version,
        "from_state": case.state,
        "to_state": None,
        "error": None,
        "error_text": None,
    }


def refused(row: dict[str, Any], why: Label) -> None:
    """Mark ``row`` as a case that cannot move, and why."""
    row.update(ok=False, error=why.en, error_text=why.to_json())


def _no_version(program: str, version: int | None) -> NotFound:
    return NotFound(
        Label(
            id=f"{program} tidak memiliki versi {version}", en=f"{program} has no version {version}"
        )
    )


def proposed_state(old: Definition, state: str, new: Definition) -> str | None:
    """Where a case in ``state`` of ``old`` would best land in ``new``: the same name; else
    the state the triggers that led into it lead to now; else the state with its label;
    else a close name (difflib); else None (the officer must choose)."""
    if new.has_state(state):
        return state
    into = {t.trigger for t in old.transitions if t.dest == state and not t.any_source}
    dests = Counter(t.dest for t in new.transitions if t.trigger in into and not t.any_source)
    if dests:
        return dests.most_common(1)[0][0]
    if old.has_state(state):
        label = old.state(state).label
        same = [s.name for s in new.states if s.label == label]
        if same:
            return same[0]
    names = [s.name for s in new.states if not s.final]
    close = difflib.get_close_matches(state, names, n=1, cutoff=0.8)
    return close[0] if close else None


def program_versions(session: Session, program: str) -> dict[int, DefinitionVersion]:
    """Every stored version of ``program``, by row id (cases point at the row)."""
    rows = session.scalars(select(DefinitionVersion).where(DefinitionVersion.program == program))
    return {row.id: row for row in rows}


class Migrations:
    def __init__(self, context: Context) -> None:
        self.context = context

    def _target(self, session: Session, program: str, version: int) -> DefinitionVersion:
        row = session.scalar(
            select(DefinitionVersion).where(
                DefinitionVersion.program == program, DefinitionVersion.version == version
            )
        )
        if row is None:
            raise _no_version(program, version)
        return row

    def plan(
        self,
        session: Session,
        program: str,
        to_version: int,
        selection: Selection,
        mapping: Mapping[str, str],
    ) -> Plan:
        """Every selected case with the state it would land in, or why it cannot move."""
        target = self._target(session, program, to_version)
        new = self.context.definition(target)
        versions = program_versions(session, program)
        known_states = {
            s.name for v in versions.values() for s in self.context.definition(v).states
        }
        for old, dest in mapping.items():
            if old not in known_states:
                raise InvalidData(
                    Label(
                        id=f"pemetaan: {program} tidak memiliki tahap '{old}' di versi mana pun",
                        en=f"mapping: {program} has no state '{old}' in any version",
                    )
                )
            if not new.has_state(dest):
                states = ", ".join(s.name for s in new.states)
                raise InvalidData(
                    Label(
                        id=f"pemetaan: versi {to_version} dari {program} tidak memiliki tahap "
                        f"'{dest}' (tahapnya: {states})",
                        en=f"mapping: version {to_version} of {program} has no state '{dest}' "
                        f"(its states: {states})",
                    )
                )
        cases = self._selected(session, program, selection, versions)
        plan = Plan(program, to_version, dict(mapping))
        explicit = set(selection.case_ids)
        for case in cases:
            current = versions[case.definition_version_id]
            if current.version == to_version and case.id not in explicit:
                continue  # already there; only a case asked for by number is an error
            row = _row(case, current.version, to_version)
            plan.rows.append(row)
            if current.version == to_version:
                refused(
                    row,
                    Label(
                        id=f"kasus {case.id} sudah berjalan pada versi {to_version}",
                        en=f"case {case.id} already runs on version {to_version}",
                    ),
                )
                continue
            if self.context.definition(current).state(case.state).final:
                refused(
                    row,
                    Label(
                        id=f"kasus {case.id} sudah ditutup (tahap '{case.state}')",
                        en=f"case {case.id} is closed (state '{case.state}')",
                    ),
                )
                continue
            dest = mapping.get(case.state, case.state)
            if not new.has_state(dest):
                choices = ", ".join(s.name for s in new.states if not s.final)
                refused(
                    row,
                    Label(
                        id=f"versi {to_version} tidak memiliki tahap '{case.state}': petakan ke "
                        f"salah satu dari {choices}",
                        en=f"version {to_version} has no state '{case.state}': map it to one "
                        f"of {choices}",
                    ),
                )
                continue
            row["to_state"] = dest
        if not plan.rows:
            raise InvalidData(
                Label(
                    id=f"tidak ada kasus {program} berjalan yang cocok untuk dipindahkan ke "
                    f"versi {to_version}",
                    en=f"no running {program} case matches to migrate to version {to_version}",
                )
            )
        return plan

    def _selected(
        self,
        session: Session,
        program: str,
        selection: Selection,
        versions: Mapping[int, DefinitionVersion],
    ) -> list[Case]:
        query = select(Case).where(Case.program == program).order_by(Case.id)
        if selection.case_ids:
            query = query.where(Case.id.in_(selection.case_ids))
        if selection.states:
            query = query.where(Case.state.in_(selection.states))
        if selection.from_version is not None:
            ids = [i for i, v in versions.items() if v.version == selection.from_version]
            if not ids:
                raise _no_version(program, selection.from_version)
            query = query.where(Case.definition_version_id.in_(ids))
        if selection.region:
            path = session.scalar(select(Region.path).where(Region.code == selection.region))
            if path is None:
                raise NotFound(
                    Label(
                        id=f"tidak ada wilayah {selection.region}",
                        en=f"no region {selection.region}",
                    )
                )
            query = query.where(queries.within(path, self.context.engine.dialect.name))
        cases = list(session.scalars(query))
        if selection.case_ids:
            missing = sorted(set(selection.case_ids) - {c.id for c in cases})
            if missing:
                numbers = ", ".join(map(str, missing))
                filtered = bool(selection.states or selection.region)
                raise NotFound(
                    Label(
                        id=f"tidak ada kasus {program} {numbers}"
                        + (" yang sesuai dengan saringan lainnya" if filtered else ""),
                        en=f"no {program} case {numbers}"
                        + (" matching the other filters" if filtered else ""),
                    )
                )
        # closed cases do not move; only one asked for by number or by its state is an error
        return [
            c
            for c in cases
            if c.id in selection.case_ids
            or c.state in selection.states
            or not self.context.definition(versions[c.definition_version_id]).state(c.state).final
        ]

    def apply(
        self, plan: Plan, actor: str, role: str, note: str, progress: Progress | None = None
    ) -> list[dict[str, Any]]:
        """Move each case of a valid plan in its own transaction; a case changed since the
        plan was made is re-checked (and reported, not moved, if it no longer fits)."""
        if not plan.valid:
            raise InvalidData(
                Label(
                    id="pemindahan tidak sah; tidak ada yang diubah",
                    en="the migration is invalid; nothing was changed",
                )
            )
        results = []
        total = len(plan.rows)
        for done, row in enumerate(plan.rows, 1):
            try:
                results.append(self._move(plan, row, actor, role, note))
            except RukunError as error:
                failed = {**row, "to_state": None}
                refused(failed, Label(id=error.text("id"), en=error.message))
                results.append(failed)
            if progress is not None:
                progress(done, total)
        with write_session(self.context.sessions) as session:
            moved = [r["case_id"] for r in results if r["ok"]]
            event = append_event(
                session,
                plan.program,
                "migrated",
                actor,
                version=plan.to_version,
                details={
                    "cases": moved,
                    "failed": [r["case_id"] for r in results if not r["ok"]],
                    "mapping": plan.mapping,
                    "note": note,
                    "from_versions": sorted({r["from_version"] for r in results}),
                },
            )
            session.flush()
            logged = event_json(event)
        announce(logged)
        signals.send(
            signals.cases_migrated,
            plan.program,
            to_version=plan.to_version,
            results=results,
            actor=actor,
            note=note,
        )
        return results

    def _move(
        self, plan: Plan, row: dict[str, Any], actor: str, role: str, note: str
    ) -> dict[str, Any]:
        with write_session(self.context.sessions) as session:
            dialect = self.context.engine.dialect.name
            case = load_case(session, dialect, row["case_id"], lock=True)
            current = case.definition_version
            if current.version != row["from_version"] or case.state != row["from_state"]:
                raise Conflict(
                    Label(
                        id=f"kasus {case.id} berubah sejak uji coba (kini versi "
                        f"{current.version}, tahap '{case.state}'); jalankan lagi pemindahan "
                        "untuknya",
                        en=f"case {case.id} changed since the dry run (now version "
                        f"{current.version}, state '{case.state}'); run the migration again for it",
                    )
                )
            target = self._target(session, plan.program, plan.to_version)
            new = self.context.definition(target)
            dest = row["to_state"]
            now = utcnow()
            source = case.state
            case.definition_version = target
            case.state, case.updated_at = dest, now
            if dest != source:
                case.state_entered_at = now
                case.escalated_at = None
            case.due_at = due_at(new.state(dest), case.state_entered_at)
            append_record(
                session,
                case,
                target,
                kind="migration",
                trigger="migrate",
                source=source,
                dest=dest,
                actor=actor,
                role=role,
                at=now,
                payload={
                    "from_version": current.version,
                    "to_version": target.version,
                    "mapping": plan.mapping,
                    "note": note,
                },
                guards=[],
                documents={},
                effects=effects(case),
            )
            session.flush()
            return {**row, "ok": True, "to_state": dest, "version": case.version}
