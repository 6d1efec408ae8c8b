"""Copies of template cases, for `rukun demo --scale`: each a prefix of a template's
history moved to another subject, other actors and other times, its records re-hashed into
a chain of its own, its case row, ledger entries and links what
:class:`~engine.audit.projection.Projection` (the rebuild `rukun audit verify` compares
with) makes of those records; written with SQLAlchemy Core, one batch per transaction."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from engine.audit.projection import Projection
from engine.demo_plan import (
    WITA,
    ProgramPlan,
    RegionIndex,
    Template,
    actor_for,
    household_members,
)
from engine.language import Definition
from engine.runtime import Rukun
from engine.runtime.deadlines import due_at
from engine.store.chain import CURRENT_RULE, GENESIS, format_time, record_hash
from engine.store.db import WRITE
from engine.store.models import Case, CaseLink, LedgerEntry, TransitionRecord

#: Cases written per transaction.
BATCH = 1000
#: Share of copies that take their template's whole path (the rest stop part-way).
WHOLE_PATH = 0.55


@dataclass(frozen=True)
class Copy:
    """One case to write: which template, how many of its records, where and when."""

    template: Template
    records: int
    subject: str
    year: int
    times: tuple[dt.datetime, ...]
    escalate_at: dt.datetime | None


class Choices:
    """Which copies to make: programs by weight, paths by weight within them, a path that
    links to another copied together with a copy of that one (a family)."""

    def __init__(
        self, plan: Sequence[ProgramPlan], templates: Sequence[Template], rng: random.Random
    ) -> None:
        self.rng = rng
        self.programs = list(plan)
        self.by_path = {(t.program.program, t.path.name): t for t in templates}

    def family(self, room: int) -> list[Template]:
        while True:
            program = self.rng.choices(self.programs, [p.weight for p in self.programs])[0]
            path = self.rng.choices(program.paths, [p.weight for p in program.paths])[0]
            chosen = [self.by_path[(program.program, path.name)]]
            if path.link:
                chosen.insert(0, self.by_path[(program.program, path.link)])
            if len(chosen) <= room:
                return chosen

    def batches(self, count: int) -> Iterator[list[list[Template]]]:
        left = count
        while left > 0:
            batch: list[list[Template]] = []
            size = 0
            while size < min(BATCH, left):
                family = self.family(left - size)
                batch.append(family)
                size += len(family)
            left -= size
            yield batch


class Copier:
    """Makes the rows of copies: records re-hashed into each copy's own chain, the case
    row, ledger and links as the projection rebuilds them from those records."""

    def __init__(
        self, regions: RegionIndex, rng: random.Random, first: dt.datetime, now: dt.datetime
    ) -> None:
        self.regions, self.rng, self.first, self.now = regions, rng, first, now

    def plan(self, template: Template, after: dt.datetime | None = None) -> Copy:
        """Where and when a copy of ``template`` happens (``after``: not before that time,
        the start of the case it links to)."""
        rng, program = self.rng, template.program
        whole = rng.random() < WHOLE_PATH
        count = len(template.records) if whole else rng.randint(1, len(template.records))
        final = program.definition.state(template.records[count - 1]["dest"]).final
        gaps = [dt.timedelta(days=rng.uniform(0.2, 9.0)) for _ in range(count - 1)]
        span = sum(gaps, dt.timedelta())
        earliest = max(self.first, after or self.first)
        room = self.now - dt.timedelta(hours=1) - earliest
        if span > room * 0.9:
            gaps = [g * (room * 0.9 / span) for g in gaps]
            span = sum(gaps, dt.timedelta())
        latest_end = self.now - dt.timedelta(hours=1)
        if final:  # closed, rejected or cancelled some time this year
            end = earliest + span + (room - span) * rng.random()
        else:  # still running: last moved in the past weeks, some of them overdue by now
            end = max(latest_end - dt.timedelta(days=rng.uniform(0, 45)), earliest + span)
        at = end - span
        times = [at]
        for gap in gaps:
            at += gap
            times.append(at)
        year = template.year
        ahead = rng.random() < 0.5  # drawn always: the same seed makes the same copies
        if ahead and count <= 2 and not final and end.astimezone(WITA).month >= 10:
            year += 1  # next year's rembug, held in the last months of this one
        site = rng.choice(program.sites)
        escalate_at = None
        state = program.definition.state(template.records[count - 1]["dest"])
        if state.deadline is not None:
            entered = times[_entered_index(template.records[:count])]
            due = due_at(state, entered)
            if due is not None:
                noticed = due + dt.timedelta(hours=rng.uniform(1, 72))  # by the nightly tick
                if times[-1] < noticed < self.now:
                    escalate_at = noticed
        return Copy(template, count, site + template.path.subject, year, tuple(times), escalate_at)

    def rows(self, copy: Copy, case_id: int, links: Mapping[int, int]) -> CaseRows:
        """The rows of ``copy`` as case ``case_id``; ``links`` maps the template's link
        targets to the copies' case ids."""
        template, program = copy.template, copy.template.program
        definition = program.definition
        subject = copy.subject
        region_path = self.regions.paths[subject]
        swaps = self._swaps(template, subject)
        members = {
            name: household_members(spec, self.regions.ancestor(subject, "kecamatan"), case_id)
            for name, spec in definition.fields.items()
            if spec.type == "list" and any(s.type == "nik" for s in (spec.item or {}).values())
        }
        records: list[dict[str, Any]] = []
        dates: dict[str, str] = {}
        head, due = GENESIS, None
        for index, (old, at) in enumerate(
            zip(template.records[: copy.records], copy.times, strict=True)
        ):
            payload = self._payload(old["payload"], definition, at, copy, dates, links, members)
            moved = old["kind"] == "start" or old["dest"] != old["source"]
            if moved:
                due = due_at(definition.state(old["dest"]), at)
            effects: dict[str, Any] = {
                "ledger": [
                    {**e, "date": dates.get(e["date"], e["date"])} if e.get("date") else dict(e)
                    for e in (old["effects"] or {}).get("ledger", [])
                ],
                "links": {
                    name: [links[t] for t in targets]
                    for name, targets in (old["effects"] or {}).get("links", {}).items()
                },
                "due_at": format_time(due) if due else None,
            }
            if old["kind"] == "start":
                effects["case"] = {
                    "subject": subject,
                    "year": copy.year,
                    "region_path": region_path,
                }
            record = {
                **old,
                "case_id": case_id,
                "actor": swaps.get(old["actor"], old["actor"]),
                "at": format_time(at),
                "payload": payload,
                "guards": (
                    _swapped(old["guards"], swaps, (template.year, copy.year))
                    if index in template.named
                    else old["guards"]
                ),
                "effects": effects,
                "rule": CURRENT_RULE,
                "prev_hash": head,
            }
            record["hash"] = head = record_hash(record)
            records.append(record)
        if copy.escalate_at is not None and due is not None:
            state = definition.state(records[-1]["dest"])
            record = {
                **{k: records[-1][k] for k in ("program", "definition_version")},
                "definition_sha256": records[-1]["definition_sha256"],
                "case_id": case_id,
                "seq": len(records) + 1,
                "kind": "escalation",
                "trigger": "escalate",
                "source": state.name,
                "dest": state.name,
                "actor": "system",
                "role": None,
                "at": format_time(copy.escalate_at),
                "payload": {
                    "due_at": format_time(due),
                    "escalate_to": state.deadline.escalate_to if state.deadline else None,
                },
                "guards": [],
                "documents": {},
                "effects": {"ledger": [], "links": {}, "due_at": format_time(due)},
                "rule": CURRENT_RULE,
                "prev_hash": head,
            }
            record["hash"] = record_hash(record)
            records.append(record)
        return self._projected(case_id, copy, records)

    @staticmethod
    def _projected(case_id: int, copy: Copy, records: list[dict[str, Any]]) -> CaseRows:
        program = copy.template.program
        projection = Projection(case_id)
        for record in records:
            problems = projection.apply(record, program.definition)
            if problems:  # a copy the verifier would not accept: a bug here, not data
                raise AssertionError(
                    f"seeded copy of {program.program} case {copy.template.case_id} "
                    f"disagrees with its definition: {'; '.join(map(str, problems))}"
                )
        values = projection.values

        def when(name: str) -> dt.datetime | None:
            value = values[name]
            return dt.datetime.fromisoformat(value) if value else None

        case = {
            "id": case_id,
            "program": values["program"],
            "definition_version_id": program.version.id,
            "subject_code": values["subject"],
            "region_path": values["region_path"],
            "year": values["year"],
            "state": values["state"],
            "data": values["data"],
            "version": values["version"],
            "created_at": when("created_at"),
            "created_by": values["created_by"],
            "updated_at": when("updated_at"),
            "state_entered_at": when("state_entered_at"),
            "due_at": when("due_at"),
            "escalated_at": when("escalated_at"),
            "head_hash": values["head_hash"],
        }
        for record in records:
            record["at"] = dt.datetime.fromisoformat(record["at"])
        fields = program.definition.fields
        links = [
            {
                "case_id": case_id,
                "field": name,
                "link": fields[name].link or name,
                "target_id": target,
            }
            for name, targets in projection.links.items()
            for target in targets
        ]
        ledger = [{"case_id": case_id, **entry} for entry in projection.ledger]
        return CaseRows(case, records, ledger, links)

    def _swaps(self, template: Template, subject: str) -> dict[str, str]:
        """Template actors and regions -> the copy's: the same role over the new subject."""
        program, regions = template.program, self.regions
        old_subject = template.site + template.path.subject
        swaps: dict[str, str] = {}
        for role in template.path.roles:
            swaps[actor_for(program, regions, role, old_subject)] = actor_for(
                program, regions, role, subject
            )
        for old, new in zip(
            regions.paths[old_subject].split("/"), regions.paths[subject].split("/"), strict=True
        ):
            swaps.setdefault(old, new)
        return swaps

    @staticmethod
    def _payload(
        payload: Mapping[str, Any],
        definition: Definition,
        at: dt.datetime,
        copy: Copy,
        dates: dict[str, str],
        links: Mapping[int, int],
        members: Mapping[str, list[dict[str, str]]],
    ) -> dict[str, Any]:
        """The template record's form values as the copy's: dates on the day of the step,
        links to the copies, households of its own, the copy's fiscal year."""
        out: dict[str, Any] = {}
        old_year, new_year = f"{copy.template.year}-", f"{copy.year}-"
        for name, value in payload.items():
            spec = definition.fields.get(name)
            kind = spec.type if spec else None
            if kind == "date" and isinstance(value, str):
                day = at.astimezone(WITA).date().isoformat()
                dates[value] = day
                out[name] = day
            elif kind == "cases" and isinstance(value, list):
                out[name] = [links[t] for t in value]
            elif name in members:
                out[name] = members[name]
            elif isinstance(value, str) and old_year != new_year and value.startswith(old_year):
                out[name] = new_year + value[len(old_year) :]
            else:
                out[name] = value
        return out


def _entered_index(records: Sequence[Mapping[str, Any]]) -> int:
    """The index of the record that entered the last record's state."""
    index = len(records) - 1
    while index > 0 and records[index]["source"] == records[index]["dest"]:
        index -= 1
    return index


def mentions(value: Any, names: set[str], year: int) -> bool:
    """Whether a guard result names one of ``names`` or has ``year`` as its year detail."""
    if isinstance(value, dict):
        return any(
            (k == "year" and v == year) or mentions(v, names, year) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(mentions(v, names, year) for v in value)
    return isinstance(value, str) and value in names


def _swapped(value: Any, swaps: Mapping[str, str], years: tuple[int, int]) -> Any:
    """A guard result with the template's names and regions (and a ``year`` detail) as
    the copy's."""
    if isinstance(value, dict):
        return {
            k: years[1] if k == "year" and v == years[0] else _swapped(v, swaps, years)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_swapped(v, swaps, years) for v in value]
    if isinstance(value, str):
        return swaps.get(value, value)
    return value


@dataclass
class CaseRows:
    case: dict[str, Any]
    records: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    links: list[dict[str, Any]]


def write_batch(app: Rukun, copier: Copier, batch: Sequence[Sequence[Template]]) -> int:
    """Write one batch of families in one transaction; returns the records written."""
    size = sum(len(family) for family in batch)
    with app.engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            ids = iter(allocate_ids(connection, size))
            cases, records, ledger, links = [], [], [], []
            for family in batch:
                made: dict[int, int] = {}
                after = None
                for template in family:
                    copy = copier.plan(template, after)
                    case_id = next(ids)
                    rows = copier.rows(copy, case_id, made)
                    made[template.case_id] = case_id
                    after = copy.times[0]
                    cases.append(rows.case)
                    records.extend(rows.records)
                    ledger.extend(rows.ledger)
                    links.extend(rows.links)
            connection.execute(insert(Case), cases)
            connection.execute(insert(TransitionRecord), records)
            if ledger:
                connection.execute(insert(LedgerEntry), ledger)
            if links:
                connection.execute(insert(CaseLink), links)
    return len(records)


def allocate_ids(connection: Connection, count: int) -> list[int]:
    """``count`` new case ids: from the sequence on PostgreSQL; after the largest on
    SQLite, whose write lock the transaction holds."""
    if connection.dialect.name == "postgresql":
        return list(
            connection.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('cases', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    last = connection.scalar(select(func.coalesce(func.max(Case.id), 0))) or 0
    return list(range(last + 1, last + 1 + count))
