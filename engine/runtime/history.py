"""Appending to a case's hash-chained history: the one writer of transition records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.chain import GENESIS, record_hash
from engine.store.models import Case, DefinitionVersion, TransitionRecord


def append_record(
    session: Session, case: Case, version: DefinitionVersion, **fields: Any
) -> TransitionRecord:
    """Add the case's next record (sequence number, previous hash, the definition version it
    was made under) with ``fields`` (kind, trigger, source, dest, actor, role, at, payload,
    guards, documents), hashed over all of them."""
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
        **fields,
    }
    record = TransitionRecord(**values, hash=record_hash(values))
    session.add(record)
    return record
