"""The append-only definitions log: what happened to a program's definition, by whom."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from engine.runtime import signals
from engine.store.chain import format_time
from engine.store.models import DefinitionEvent, utcnow

#: The kinds of entry, in the order they usually happen.
EVENT_KINDS = ("draft_created", "draft_saved", "draft_discarded", "published", "migrated")


def append_event(
    session: Session,
    program: str,
    kind: str,
    actor: str,
    *,
    draft_id: int | None = None,
    version: int | None = None,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> DefinitionEvent:
    """Add an entry to the log (in the caller's transaction)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown definition event {kind!r}")
    event = DefinitionEvent(
        program=program,
        kind=kind,
        actor=actor,
        at=at or utcnow(),
        draft_id=draft_id,
        version=version,
        details=details or {},
    )
    session.add(event)
    return event


def event_json(event: DefinitionEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "program": event.program,
        "kind": event.kind,
        "actor": event.actor,
        "at": format_time(event.at),
        "draft_id": event.draft_id,
        "version": event.version,
        "details": event.details,
    }


def announce(event: dict[str, Any]) -> None:
    """Send the entry (after commit) as the ``definition_event`` signal."""
    signals.send(signals.definition_event, event["program"], event=event)
