"""How a case, a history record and the triggers open to an actor are shown to every
reader (CLI --json, screens, signals): plain JSON-ready views of the stored rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from engine.guards import GuardResult
from engine.language import Definition
from engine.language.model import FormItem, Label
from engine.store.chain import format_time
from engine.store.models import Case, TransitionRecord, utcnow


class VersionFacts(Protocol):
    """What a view shows of a case's definition version (a stored ``DefinitionVersion``
    or the runtime's cached ``PinnedVersion``)."""

    @property
    def version(self) -> int: ...

    @property
    def sha256(self) -> str: ...


@dataclass(slots=True)
class CaseRow:
    """A case row's values outside any session: what a firing reads and writes itself
    (SQLAlchemy Core) instead of loading a ``Case``. Views, guards and the history read
    either alike."""

    id: int
    program: str
    definition_version_id: int
    subject_code: str
    region_path: str
    year: int
    state: str
    data: dict[str, Any]
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    state_entered_at: dt.datetime
    due_at: dt.datetime | None
    escalated_at: dt.datetime | None
    head_hash: str | None


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
    #: The reasons that are not its guards' (role, scope, input, ledger) in both languages,
    #: for the screens; ``reasons`` holds them in English with the guards' after them.
    problems: tuple[Label, ...] = ()

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
    case: Case | CaseRow,
    definition: Definition,
    now: dt.datetime | None = None,
    *,
    version: VersionFacts | None = None,
    subject_name: str | None = None,
) -> dict[str, Any]:
    """The case as every reader sees it. A page of cases passes its ``version`` and
    ``subject_name`` (looked up once per page) instead of loading them per case; so does
    a firing, whose :class:`CaseRow` has neither."""
    state = definition.state(case.state)
    now = now or utcnow()
    if version is None or subject_name is None:
        assert isinstance(case, Case), "a CaseRow comes with its version and subject's name"
        version = version or case.definition_version
        subject_name = case.subject.name if subject_name is None else subject_name
    return {
        "id": case.id,
        "program": case.program,
        "definition_version": version.version,
        "definition_sha256": version.sha256,
        "subject": case.subject_code,
        "subject_name": subject_name,
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


#: A history record's fields as every reader sees them, in this order.
RECORD_FIELDS = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "at",
    "program",
    "definition_version",
    "definition_sha256",
    "payload",
    "guards",
    "documents",
    "rule",
    "effects",
    "prev_hash",
    "hash",
)


def record_json(record: TransitionRecord | Mapping[str, Any]) -> dict[str, Any]:
    """A stored record, or the column values a firing wrote, as JSON (``at`` as text)."""
    if isinstance(record, Mapping):
        view = {name: record[name] for name in RECORD_FIELDS}
    else:
        view = {name: getattr(record, name) for name in RECORD_FIELDS}
    view["at"] = format_time(view["at"])
    return view
