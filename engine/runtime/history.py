"""Appending to a case's hash-chained history: the one writer of transition records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.runtime.case_views import CaseRow
from engine.store.chain import CURRENT_RULE, GENESIS, format_time, record_hash
from engine.store.models import Case, DefinitionVersion, TransitionRecord


def effects(
    case: Case | CaseRow,
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
    guards, documents, effects), hashed over all of them under the current rule, and make
    it the case's chain head. Call it before the case row's change is flushed: the record
    after the head is number ``version + 1``, the version the flush gives the case (a case
    just opened has no head yet and gets record 1)."""
    values = record_values(case, version.version, version.sha256, fields)
    record = TransitionRecord(**values)
    if case.head_hash is None:  # the start: the case row is in already, at version 1
        cases = cast(Table, Case.__table__)
        session.execute(update(cases).where(cases.c.id == case.id).values(head_hash=record.hash))
        set_committed_value(case, "head_hash", record.hash)
    else:  # flushed with the case's change, which bumps its version to this record's seq
        case.head_hash = record.hash
    session.add(record)
    return record


def record_values(
    case: Any, definition_version: int, definition_sha256: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns of the record that follows ``case``'s chain head (``case`` has ``id``,
    ``program``, ``version`` and ``head_hash``), its hash included."""
    head = case.head_hash
    values: dict[str, Any] = {
        "case_id": case.id,
        "seq": case.version + 1 if head else 1,
        "program": case.program,
        "definition_version": definition_version,
        "definition_sha256": definition_sha256,
        "prev_hash": head or GENESIS,
        "rule": CURRENT_RULE,
        **fields,
    }
    values["hash"] = record_hash(values)
    return values
