"""How a case, a history record and the triggers open to an actor are shown to every
reader (CLI --json, screens, signals): plain JSON-ready views of the stored rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from engine.guards import GuardResult
from engine.language import Definition
from engine.language.model import FormItem, Label
from engine.store.chain import format_time
from engine.store.models import Case, DefinitionVersion, TransitionRecord, utcnow


@dataclass(frozen=True)
class TriggerOption:
    """A trigger leaving the case's current state, and whether this actor may fire it now."""

    trigger: str
    label: Label
    dest: str
    allowed: bool
    reasons: tuple[str, ...]
    guards: tuple[GuardResult, ...]
    form: tuple[FormItem, ...]
    #: The actor's role and region allow it (guards may still refuse): show them the form.
    permitted: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "label": self.label.to_json(),
            "dest": self.dest,
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "guards": [g.to_json() for g in self.guards],
            "form": [{"field": f.field, "required": f.required} for f in self.form],
            "permitted": self.permitted,
        }


class CaseQuery(TypedDict, total=False):
    """The arguments of :meth:`Cases.page` (filters, scope, paging, sort)."""

    program: str | None
    state: str | None
    limit: int
    overdue: bool
    viewer: str | None
    now: dt.datetime | None
    year: int | None
    region: str | None
    search: str | None
    after_id: int | None
    sort: str | None
    cursor: str | None


def case_json(
    case: Case,
    definition: Definition,
    now: dt.datetime | None = None,
    *,
    version: DefinitionVersion | None = None,
    subject_name: str | None = None,
) -> dict[str, Any]:
    """The case as every reader sees it. A page of cases passes its ``version`` and
    ``subject_name`` (looked up once per page) instead of loading them per case."""
    state = definition.state(case.state)
    now = now or utcnow()
    version = version or case.definition_version
    return {
        "id": case.id,
        "program": case.program,
        "definition_version": version.version,
        "definition_sha256": version.sha256,
        "subject": case.subject_code,
        "subject_name": case.subject.name if subject_name is None else subject_name,
        "year": case.year,
        "state": case.state,
        "state_label": state.label.to_json(),
        "final": state.final,
        "version": case.version,
        "data": case.data,
        "created_at": format_time(case.created_at),
        "created_by": case.created_by,
        "updated_at": format_time(case.updated_at),
        "due_at": format_time(case.due_at) if case.due_at else None,
        "overdue": bool(case.due_at and case.due_at < now),
    }


def record_json(record: TransitionRecord) -> dict[str, Any]:
    return {
        "case_id": record.case_id,
        "seq": record.seq,
        "kind": record.kind,
        "trigger": record.trigger,
        "source": record.source,
        "dest": record.dest,
        "actor": record.actor,
        "role": record.role,
        "at": format_time(record.at),
        "program": record.program,
        "definition_version": record.definition_version,
        "definition_sha256": record.definition_sha256,
        "payload": record.payload,
        "guards": record.guards,
        "documents": record.documents,
        "rule": record.rule,
        "effects": record.effects,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }
