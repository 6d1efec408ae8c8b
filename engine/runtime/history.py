"""Appending to a case's hash-chained history: the one writer of transition records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.chain import CURRENT_RULE, GENESIS, format_time, record_hash
from engine.store.models import Case, DefinitionVersion, TransitionRecord


def effects(
    case: Case,
    ledger: list[dict[str, Any]] | None = None,
    links: dict[str, list[int]] | None = None,
    start: bool = False,
) -> dict[str, Any]:
    """What a record did besides moving the state, as its hash covers it (rule 2): the
    ledger entries posted, the ``cases`` fields' links set (field: target ids), the
    deadline of the state the case is now in, and for a start the subject, year and
    region path. Call it after the case row has its new values."""
    done: dict[str, Any] = {
        "ledger": ledger or [],
        "links": links or {},
        "due_at": format_time(case.due_at) if case.due_at else None,
    }
    if start:
        done["case"] = {
            "subject": case.subject_code,
            "year": case.year,
            "region_path": case.region_path,
        }
    return done


def append_record(
    session: Session, case: Case, version: DefinitionVersion, **fields: Any
) -> TransitionRecord:
    """Add the case's next record (sequence number, previous hash, the definition version it
    was made under) with ``fields`` (kind, trigger, source, dest, actor, role, at, payload,
    guards, documents, effects), hashed over all of them under the current rule."""
    last = session.execute(
        select(TransitionRecord.seq, TransitionRecord.hash)
        .where(TransitionRecord.case_id == case.id)
        .order_by(TransitionRecord.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    values: dict[str, Any] = {
        "case_id": case.id,
        "seq": seq,
        "program": case.program,
        "definition_version": version.version,
        "definition_sha256": version.sha256,
        "prev_hash": prev_hash,
        "rule": CURRENT_RULE,
        **fields,
    }
    record = TransitionRecord(**values, hash=record_hash(values))
    session.add(record)
    return record
