"""``rukun tick``: recording that a case's state deadline passed (an escalation record and
a signal), once per case and state, however many ticks run at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import signals
from engine.runtime.case_views import case_json, record_json
from engine.runtime.context import Context
from engine.runtime.history import append_record, effects
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import Case, utcnow


def _claim(session: Session, case_id: int, now: dt.datetime) -> Case | None:
    """The case, locked for this transaction, if it is still due at ``now`` and not
    escalated. On PostgreSQL a case another tick holds is skipped (``SKIP LOCKED``): that
    tick escalates it; on SQLite the write transaction serialises ticks already."""
    query = select(Case).where(Case.id == case_id, Case.due_at < now, Case.escalated_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case, skip_locked=True)
    return session.scalar(query)


def escalate_due(context: Context, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Escalate every case whose state's deadline has passed and that was not escalated
    since it entered that state: one history record and one signal each. Idempotent, and
    safe with several ticks at once; each case is its own transaction."""
    now = now or utcnow()
    with context.sessions() as session:
        due = list(
            session.scalars(
                select(Case.id)
                .where(Case.due_at < now, Case.escalated_at.is_(None))
                .order_by(Case.due_at)
            )
        )
    escalated = []
    for case_id in due:
        with write_session(context.sessions) as session:
            case = _claim(session, case_id, now)
            if case is None:
                continue  # moved, escalated or being escalated by someone else meanwhile
            assert case.due_at is not None  # _claim asked for it
            definition = context.definition(case.definition_version)
            deadline = definition.state(case.state).deadline
            escalate_to = deadline.escalate_to if deadline else None
            case.escalated_at = now
            record = append_record(
                session,
                case,
                case.definition_version,
                kind="escalation",
                trigger="escalate",
                source=case.state,
                dest=case.state,
                actor="system",
                role=None,
                at=now,
                payload={"due_at": format_time(case.due_at), "escalate_to": escalate_to},
                guards=[],
                documents={},
                effects=effects(case),
            )
            session.flush()
            result, history = case_json(case, definition, now), record_json(record)
        signals.send(
            signals.case_escalated,
            result["program"],
            case=result,
            record=history,
            escalate_to=escalate_to,
        )
        escalated.append(result)
    return escalated
