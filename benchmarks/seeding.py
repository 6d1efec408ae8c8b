"""Cases of a linear program written straight to the tables, as fast as SQLAlchemy Core's
executemany goes: chain-valid records (hashed by the engine's own
:func:`~engine.runtime.history.record_values`) and case rows that agree with them, so the
engine can fire on them and verification finds nothing wrong."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select, text

from benchmarks.databases import ACTOR, RT
from engine.runtime import Rukun
from engine.runtime.history import record_values
from engine.store.models import Case, DefinitionVersion, Region, TransitionRecord

#: Cases written per transaction.
CHUNK = 2000
YEAR = 2026
ROLE = "ketua_rt"


def published(app: Rukun, program: str) -> DefinitionVersion:
    with app.context.sessions() as session:
        row = session.scalar(
            select(DefinitionVersion).where(
                DefinitionVersion.program == program, DefinitionVersion.status == "published"
            )
        )
        assert row is not None, f"publish {program} first"
        return row


def seed_cases(app: Rukun, program: str, count: int, records: int = 1) -> list[int]:
    """``count`` cases of the linear ``program`` about :data:`RT`, each with ``records``
    history records (its start, then ``t0``, ``t1``, ...); returns their ids."""
    version = published(app, program)
    with app.context.sessions() as session:
        region = session.get(Region, RT)
        assert region is not None
        first = (session.scalar(select(func.max(Case.id))) or 0) + 1
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    ids = list(range(first, first + count))
    for offset in range(0, count, CHUNK):
        cases, history = [], []
        for case_id in ids[offset : offset + CHUNK]:
            row, rows = _case(case_id, version, region.path, records, start)
            cases.append(row)
            history.extend(rows)
        with app.engine.begin() as connection:
            connection.execute(insert(Case), cases)
            connection.execute(insert(TransitionRecord), history)
    if app.engine.dialect.name == "postgresql":  # the ids were given: move the sequence on
        with app.engine.begin() as connection:
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), max(id)) FROM cases")
            )
    return ids


def _case(
    case_id: int, version: DefinitionVersion, region_path: str, records: int, start: dt.datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case row and its records, as the engine would have written them."""
    head = SimpleNamespace(id=case_id, program=version.program, version=0, head_hash=None)
    rows = []
    at = start
    for seq in range(1, records + 1):
        at = start + dt.timedelta(milliseconds=seq)
        if seq == 1:
            fields = _fields("start", "start", None, "s0", at)
            fields["effects"]["case"] = {"subject": RT, "year": YEAR, "region_path": region_path}
        else:
            step = seq - 2
            fields = _fields("transition", f"t{step}", f"s{step}", f"s{step + 1}", at)
        values = record_values(head, version.version, version.sha256, fields)
        rows.append(values)
        head.version, head.head_hash = seq, values["hash"]
    created = rows[0]["at"]
    case = {
        "id": case_id,
        "program": version.program,
        "definition_version_id": version.id,
        "subject_code": RT,
        "region_path": region_path,
        "year": YEAR,
        "state": rows[-1]["dest"],
        "data": {},
        "version": records,
        "created_at": created,
        "created_by": ACTOR,
        "updated_at": at,
        "state_entered_at": at,
        "due_at": None,
        "escalated_at": None,
        "head_hash": head.head_hash,
    }
    return case, rows


def _fields(
    kind: str, trigger: str, source: str | None, dest: str, at: dt.datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "trigger": trigger,
        "source": source,
        "dest": dest,
        "actor": ACTOR,
        "role": ROLE,
        "at": at,
        "payload": {},
        "guards": [],
        "documents": {},
        "effects": {"ledger": [], "links": {}, "due_at": None},
    }
