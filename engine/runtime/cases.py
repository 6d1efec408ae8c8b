"""The one way in for every change of a case: start, fire, and the read side
(show, history, list, which triggers an actor may fire and why not)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import (
    Conflict,
    Forbidden,
    InvalidData,
    NotFound,
    RukunError,
    TransitionRefused,
)
from engine.guards import GuardContext, GuardResult, evaluate_guards
from engine.language import Definition, TransitionSpec
from engine.language.model import FormItem, Label, StateSpec
from engine.language.roles import SUBJECTS
from engine.privacy import masked_data, may_see_pii
from engine.runtime import ledger, queries, signals
from engine.runtime.access import Actor
from engine.runtime.context import Context
from engine.runtime.forms import clean
from engine.runtime.history import append_record
from engine.runtime.ledger import LedgerState
from engine.store.chain import format_time, verify_chain
from engine.store.db import write_session
from engine.store.models import (
    Case,
    CaseLink,
    DefinitionVersion,
    Document,
    LedgerEntry,
    Region,
    TransitionRecord,
    utcnow,
)

ADMIN_ROLES = ("admin",)


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


def starter_roles(definition: Definition) -> list[str]:
    """Who may open a case: the roles that act first (a "*" transition such as cancel does
    not make a starter), and admin."""
    initial = definition.initial_state.name
    return sorted(
        {r for t in definition.transitions_from(initial) if not t.any_source for r in t.roles}
        | set(ADMIN_ROLES)
    )


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
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def due_at(state: StateSpec, entered: dt.datetime) -> dt.datetime | None:
    """When a case entering ``state`` at ``entered`` becomes overdue (None: no deadline)."""
    deadline = state.deadline
    if deadline is None:
        return None
    if deadline.days is not None:
        return entered + dt.timedelta(days=deadline.days)
    from lokal import add_working_days

    local = entered.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    day = add_working_days(local, deadline.working_days or 0)
    return dt.datetime.combine(
        day, dt.time(23, 59, 59), dt.timezone(dt.timedelta(hours=8))
    ).astimezone(dt.UTC)


class _History(Sequence[Mapping[str, Any]]):
    """The case's earlier records as guards see them, loaded only if a guard asks."""

    def __init__(self, session: Session, case_id: int | None) -> None:
        self._session, self._case_id = session, case_id
        self._rows: list[Mapping[str, Any]] | None = None

    def _load(self) -> list[Mapping[str, Any]]:
        if self._rows is None:
            rows = self._session.execute(
                select(TransitionRecord.trigger, TransitionRecord.role, TransitionRecord.kind)
                .where(TransitionRecord.case_id == self._case_id)
                .order_by(TransitionRecord.seq)
            )
            self._rows = [{"trigger": t, "role": r, "kind": k} for t, r, k in rows]
        return self._rows

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())


class Cases:
    def __init__(self, context: Context) -> None:
        self.context = context

    # ------------------------------------------------------------------ helpers
    def _published(self, session: Session, program: str) -> DefinitionVersion:
        row = session.scalar(
            select(DefinitionVersion)
            .where(DefinitionVersion.program == program)
            .where(DefinitionVersion.status == "published")
        )
        if row is None:
            raise NotFound(
                f"no published program '{program}' (publish it with `rukun workflow publish`)"
            )
        return row

    def _case(self, session: Session, case_id: int, *, lock: bool = False) -> Case:
        query = select(Case).where(Case.id == case_id)
        if lock and self.context.engine.dialect.name == "postgresql":
            query = query.with_for_update(of=Case)
        case = session.scalar(query)
        if case is None:
            raise NotFound(f"no case {case_id}")
        return case

    def guard_context(
        self,
        session: Session,
        case: Case,
        definition: Definition,
        data: Mapping[str, Any],
        ledger: LedgerState | None = None,
        history: Sequence[Mapping[str, Any]] | None = None,
    ) -> GuardContext:
        """What the guards of a firing on ``case`` see; ``history`` replaces the stored one
        (a simulated case has none)."""
        region_codes = case.region_path.split("/")
        levels = dict(
            session.execute(
                select(Region.level, Region.code).where(Region.code.in_(region_codes))
            ).all()
        )

        def count_cases(level: str, states: Sequence[str] | None) -> int:
            anchor = levels.get(level)
            if anchor is None:
                return 0
            prefix = case.region_path[: case.region_path.index(anchor) + len(anchor)]
            query = (
                select(func.count(Case.id))
                .where(Case.program == case.program, Case.year == case.year)
                .where(queries.within(prefix, self.context.engine.dialect.name))
            )
            if case.id is not None:
                query = query.where(Case.id != case.id)
            if states:
                query = query.where(Case.state.in_(list(states)))
            return session.scalar(query) or 0

        return GuardContext(
            data=data,
            params=definition.params,
            fields=definition.fields,
            case={
                "id": case.id,
                "year": case.year,
                "region": case.subject_code,
                "program": case.program,
                "ancestors": levels,
            },
            history=_History(session, case.id) if history is None else history,
            count_cases=count_cases,
            other_values=lambda name, key, states: self._other_values(
                session, case, name, key, states
            ),
            ledger=(ledger or self._ledger(session, case.id)).totals(),
        )

    @staticmethod
    def _other_values(
        session: Session, case: Case, name: str, key: str | None, states: Sequence[str] | None
    ) -> set[Any]:
        """Values of field ``name`` (or of ``key`` in its list items) in this program's
        other cases in ``states``. Scans those cases' data: fine for program sizes (hundreds
        to a few thousand active cases); an index table is the way to go beyond that."""
        query = select(Case.data).where(Case.program == case.program)
        if case.id is not None:
            query = query.where(Case.id != case.id)
        if states:
            query = query.where(Case.state.in_(list(states)))
        found: set[Any] = set()
        for (data,) in session.execute(query):
            value = (data or {}).get(name)
            if isinstance(value, list):
                found.update(item.get(key) for item in value if isinstance(item, Mapping))
            elif value is not None:
                found.add(value)
        return found - {None, ""}

    @staticmethod
    def _ledger(session: Session, case_id: int | None) -> LedgerState:
        if case_id is None:
            return LedgerState()
        rows = session.scalars(
            select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.id)
        )
        return ledger.fold(ledger.entry_of(r) for r in rows)

    def _posting(
        self, session: Session, case: Case, transition: TransitionSpec, data: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], LedgerState]:
        """The ledger entries the transition would post and the ledger after them."""
        state = self._ledger(session, case.id)
        if transition.ledger is None:
            return [], state
        planned = ledger.plan(transition.ledger, state, data, transition.trigger, case.id)
        after = ledger.fold(
            [*state.entries, *({"seq": 0, **ledger.entry_defaults(p)} for p in planned)]
        )
        return planned, after

    def _update_links(
        self, session: Session, case: Case, definition: Definition, payload: Mapping[str, Any]
    ) -> None:
        """Check the case ids in ``cases`` fields and make the links match them."""
        for name, value in payload.items():
            spec = definition.fields[name]
            if spec.type != "cases":
                continue
            targets = list(dict.fromkeys(value or []))
            for target_id in targets:
                target = session.get(Case, target_id)
                if target is None:
                    raise InvalidData(f"{name}: no case {target_id}")
                if target_id == case.id:
                    raise InvalidData(f"{name}: a case cannot link to itself")
                if spec.program and target.program != spec.program:
                    raise InvalidData(
                        f"{name}: case {target_id} is a {target.program} case, not {spec.program}"
                    )
            session.execute(
                delete(CaseLink).where(CaseLink.case_id == case.id, CaseLink.field == name)
            )
            session.add_all(
                CaseLink(case_id=case.id, field=name, link=spec.link or name, target_id=t)
                for t in targets
            )

    def _store_documents(
        self, session: Session, attachments: Mapping[str, Path], actor: str
    ) -> dict[str, Any]:
        stored: dict[str, Any] = {}
        for name, path in attachments.items():
            file = self.context.documents.put_file(Path(path))
            if session.get(Document, file.sha256) is None:
                session.add(
                    Document(
                        sha256=file.sha256,
                        size=file.size,
                        media_type=file.media_type,
                        filename=file.filename,
                        created_by=actor,
                    )
                )
            stored[name] = file.to_json()
        return stored

    def _view(
        self,
        session: Session,
        case: Case,
        definition: Definition,
        viewer_roles: set[str] | None,
        ledger_state: LedgerState | None = None,
    ) -> dict[str, Any]:
        """The case as ``case show`` presents it: with ledger and links, personal data masked
        unless the viewer's roles may see it (``None``: an anonymous, trusted reader)."""
        view = case_json(case, definition)
        if not may_see_pii(definition, viewer_roles):
            view["data"] = masked_data(definition, view["data"])
        view["ledger"] = (ledger_state or self._ledger(session, case.id)).to_json()
        view["links"] = self._links(session, case.id)
        return view

    @staticmethod
    def _links(session: Session, case_id: int) -> dict[str, list[dict[str, Any]]]:
        """Links both ways: cases this one points at, and cases pointing at it."""

        def rows(column: Any, other: Any) -> list[dict[str, Any]]:
            query = (
                select(
                    CaseLink.field,
                    CaseLink.link,
                    Case.id,
                    Case.program,
                    Case.subject_code,
                    Case.state,
                )
                .join(Case, Case.id == other)
                .where(column == case_id)
                .order_by(Case.id)
            )
            return [
                {"field": f, "link": link, "case_id": i, "program": p, "subject": sub, "state": st}
                for f, link, i, p, sub, st in session.execute(query)
            ]

        return {
            "outgoing": rows(CaseLink.case_id, CaseLink.target_id),
            "incoming": rows(CaseLink.target_id, CaseLink.case_id),
        }

    def _viewer(self, session: Session, case: Case, viewer: str | None) -> set[str] | None:
        """The viewer's roles after checking they may see this case (scope), or None."""
        if viewer is None:
            return None
        actor = self.context.actor(session, viewer)
        if not actor.may_view(case.region_path.split("/")):
            raise Forbidden(
                f"user '{viewer}' may not see case {case.id}: outside their region scope"
            )
        return actor.roles()

    # ------------------------------------------------------------------ commands
    def start(
        self,
        program: str,
        subject: str,
        year: int,
        actor_name: str,
        values: Mapping[str, Any] | None = None,
        attachments: Mapping[str, Path] | None = None,
    ) -> dict[str, Any]:
        """Open a case of ``program`` about ``subject`` pinned to the published version."""
        if not 2000 <= year <= 2100:
            raise InvalidData(f"year {year} is out of range (2000-2100)")
        with write_session(self.context.sessions) as session:
            version = self._published(session, program)
            definition = self.context.definition(version)
            region = session.get(Region, subject)
            if region is None:
                raise NotFound(f"no region {subject}")
            if definition.regions and not set(definition.regions) & set(region.ancestor_codes):
                raise InvalidData(
                    f"{program} runs only in {', '.join(definition.regions)}; "
                    f"{subject} is elsewhere"
                )
            wanted = SUBJECTS[definition.subject]
            if region.level != wanted:
                raise InvalidData(
                    f"{program} cases are about a {wanted}; {subject} is a {region.level}"
                )
            actor = self.context.actor(session, actor_name)
            initial = definition.initial_state
            starters = starter_roles(definition)
            role = actor.authorize(starters, region.ancestor_codes, f"start a {program} case")
            raw = dict(values or {})
            raw.update(self._store_documents(session, attachments or {}, actor.name))
            data = clean(definition, definition.start_form, raw)
            now = utcnow()
            case = Case(
                program=program,
                definition_version=version,
                subject=region,
                region_path=region.path,
                year=year,
                state=initial.name,
                data=data,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
                state_entered_at=now,
                due_at=due_at(initial, now),
            )
            session.add(case)
            session.flush()
            self._update_links(session, case, definition, data)
            record = append_record(
                session,
                case,
                version,
                kind="start",
                trigger="start",
                source=None,
                dest=initial.name,
                actor=actor.name,
                role=role,
                at=now,
                payload=data,
                guards=[],
                documents=_document_hashes(data),
            )
            session.flush()
            result = self._view(session, case, definition, actor.roles(), LedgerState())
            history = record_json(record)
        signals.send(signals.case_started, program, case=result, record=history, actor=actor.name)
        return result

    def fire(
        self,
        case_id: int,
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any] | None = None,
        attachments: Mapping[str, Path] | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Fire ``trigger`` on a case in one transaction, or change nothing and raise."""
        try:
            with write_session(self.context.sessions) as session:
                result, record, program = self._fire(
                    session,
                    case_id,
                    trigger,
                    actor_name,
                    values or {},
                    attachments or {},
                    expected_version,
                )
        except (StaleDataError, IntegrityError) as exc:
            error = Conflict(
                f"case {case_id} was changed by someone else at the same time; reload and retry"
            )
            self._refused(case_id, trigger, actor_name, error)
            raise error from exc
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "serializ" not in str(exc).lower():
                raise
            error = Conflict(f"case {case_id} is being changed by someone else; retry")
            self._refused(case_id, trigger, actor_name, error)
            raise error from exc
        except RukunError as error:
            self._refused(case_id, trigger, actor_name, error)
            raise
        signals.send(
            signals.transition_fired, program, case=result, record=record, actor=actor_name
        )
        return result

    def fire_many(
        self,
        case_ids: Sequence[int],
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Fire ``trigger`` on each case in its own transaction (a bulk action): every case
        either moves completely or not at all, and each gets its own result."""
        results = []
        for case_id in dict.fromkeys(case_ids):
            try:
                moved = self.fire(case_id, trigger, actor_name, values or {})
                results.append(
                    {
                        "case_id": case_id,
                        "ok": True,
                        "state": moved["state"],
                        "state_label": moved["state_label"],
                        "version": moved["version"],
                        "error": None,
                    }
                )
            except RukunError as error:
                results.append(
                    {
                        "case_id": case_id,
                        "ok": False,
                        "state": None,
                        "state_label": None,
                        "version": None,
                        "error": error.to_json(),
                    }
                )
        return results

    def _refused(self, case_id: int, trigger: str, actor: str, error: RukunError) -> None:
        if not signals.transition_refused.receivers:
            return
        # the sender is the case's program, like every other case signal (None: no such case)
        with self.context.sessions() as session:
            program = session.scalar(select(Case.program).where(Case.id == case_id))
        guards = error.guards if isinstance(error, TransitionRefused) else []
        signals.send(
            signals.transition_refused,
            program,
            case_id=case_id,
            trigger=trigger,
            actor=actor,
            reason=error.kind,
            message=error.message,
            guards=guards,
        )

    def _fire(
        self,
        session: Session,
        case_id: int,
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any],
        attachments: Mapping[str, Path],
        expected_version: int | None,
    ) -> tuple[dict[str, Any], dict[str, Any], str]:
        case = self._case(session, case_id, lock=True)
        if expected_version is not None and case.version != expected_version:
            raise Conflict(
                f"case {case_id} is at version {case.version}, not {expected_version}: "
                "it changed since you loaded it; reload and retry"
            )
        version = case.definition_version
        definition = self.context.definition(version)
        transition = self._transition(definition, case, trigger)
        actor = self.context.actor(session, actor_name)
        role = actor.authorize(
            transition.roles, case.region_path.split("/"), f"fire '{trigger}' on case {case_id}"
        )
        unexpected = sorted(set(attachments) - set(transition.form_fields))
        if unexpected:
            raise InvalidData(f"not part of this form: {', '.join(unexpected)}")
        raw = dict(values)
        raw.update(self._store_documents(session, attachments, actor.name))
        payload = clean(definition, transition.form, raw)
        data = {**case.data, **payload}
        self._update_links(session, case, definition, payload)
        postings, after = self._posting(session, case, transition, data)
        context = self.guard_context(session, case, definition, data, after)
        results = evaluate_guards(transition.guards, context)
        failed = [r for r in results if not r.ok]
        if failed:
            lines = "; ".join(
                f"{r.name}: {r.message.en if r.message else 'failed'}" for r in failed
            )
            raise TransitionRefused(
                f"'{trigger}' refused on case {case_id}: {lines}", [r.to_json() for r in results]
            )
        dest = self.context.machines.next_state(version.id, definition, case.state, trigger)
        now = utcnow()
        source = case.state
        case.state, case.data, case.updated_at = dest, data, now
        if dest != source:
            case.state_entered_at = now
            case.due_at = due_at(definition.state(dest), now)
            case.escalated_at = None
        record = append_record(
            session,
            case,
            version,
            kind="transition",
            trigger=trigger,
            source=source,
            dest=dest,
            actor=actor.name,
            role=role,
            at=now,
            payload=payload,
            guards=[r.to_json() for r in results],
            documents=_document_hashes(payload),
        )
        session.add_all(
            LedgerEntry(case_id=case.id, seq=record.seq, **ledger.entry_defaults(p))
            for p in postings
        )
        session.flush()
        view = self._view(session, case, definition, set(actor.roles()), after)
        return view, record_json(record), case.program

    @staticmethod
    def _transition(definition: Definition, case: Case, trigger: str) -> TransitionSpec:
        if trigger not in definition.triggers():
            raise NotFound(f"{definition.program} has no trigger '{trigger}'")
        transition = definition.transition(trigger, case.state)
        if transition is None:
            available = (
                ", ".join(t.trigger for t in definition.transitions_from(case.state)) or "none"
            )
            raise Conflict(
                f"'{trigger}' cannot be fired on case {case.id} in state '{case.state}' "
                f"(available there: {available})"
            )
        return transition

    def tick(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Escalate every case whose state's deadline has passed and that was not escalated
        since it entered that state: one history record and one signal each. Idempotent;
        each case is its own transaction."""
        now = now or utcnow()
        with self.context.sessions() as session:
            due = list(
                session.scalars(
                    select(Case.id)
                    .where(Case.due_at < now, Case.escalated_at.is_(None))
                    .order_by(Case.due_at)
                )
            )
        escalated = []
        for case_id in due:
            with write_session(self.context.sessions) as session:
                case = self._case(session, case_id, lock=True)
                if case.due_at is None or case.due_at >= now or case.escalated_at is not None:
                    continue  # moved or escalated by someone else meanwhile
                definition = self.context.definition(case.definition_version)
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

    # ------------------------------------------------------------------ queries
    def show(self, case_id: int, viewer: str | None = None) -> dict[str, Any]:
        """The case with ledger and links; personal data masked unless ``viewer`` may see it."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            roles = self._viewer(session, case, viewer)
            return self._view(
                session, case, self.context.definition(case.definition_version), roles
            )

    def history(self, case_id: int, viewer: str | None = None) -> list[dict[str, Any]]:
        """The history records, oldest first; payloads masked like ``show``."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            roles = self._viewer(session, case, viewer)
            definition = self.context.definition(case.definition_version)
            reveal = may_see_pii(definition, roles)
            records = [record_json(r) for r in self._records(session, case_id)]
        if not reveal:
            for record in records:
                record["payload"] = masked_data(definition, record["payload"])
        return records

    @staticmethod
    def _records(session: Session, case_id: int) -> list[TransitionRecord]:
        return list(
            session.scalars(
                select(TransitionRecord)
                .where(TransitionRecord.case_id == case_id)
                .order_by(TransitionRecord.seq)
            )
        )

    def verify(self, case_id: int) -> list[dict[str, Any]]:
        """Problems in the case's hash chain (empty when intact)."""
        with self.context.sessions() as session:
            self._case(session, case_id)
            records = [record_json(r) for r in self._records(session, case_id)]
        return [{"seq": b.seq, "reason": b.reason} for b in verify_chain(records)]

    def triggers(
        self, case_id: int, actor_name: str, values: Mapping[str, Any] | None = None
    ) -> list[TriggerOption]:
        """Every trigger out of the case's state with whether ``actor_name`` may fire it now
        and why not; guards that read form fields not yet given are reported as pending."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            definition = self.context.definition(case.definition_version)
            actor = self.context.actor(session, actor_name)
            options = []
            for transition in definition.transitions_from(case.state):
                options.append(
                    self._option(session, case, definition, actor, transition, values or {})
                )
            return options

    def _option(
        self,
        session: Session,
        case: Case,
        definition: Definition,
        actor: Actor,
        transition: TransitionSpec,
        values: Mapping[str, Any],
    ) -> TriggerOption:
        reasons: list[str] = []
        try:
            actor.authorize(
                transition.roles, case.region_path.split("/"), f"fire '{transition.trigger}'"
            )
        except RukunError as exc:
            reasons.append(exc.message)
        permitted = not reasons
        given = {k: v for k, v in values.items() if k in transition.form_fields}
        try:
            payload = clean(definition, [FormItem(f, False) for f in transition.form_fields], given)
        except InvalidData as exc:
            payload = {}
            reasons.append(exc.message)
        pending = {f for f in transition.form_fields if f not in payload}
        data = {**case.data, **payload}
        try:  # guards see the ledger as this firing would leave it, as in fire()
            after: LedgerState | None = self._posting(session, case, transition, data)[1]
        except TransitionRefused as refused:
            after = None
            reasons.extend(g["message"]["en"] for g in refused.guards if g.get("message"))
        results = evaluate_guards(
            transition.guards, self.guard_context(session, case, definition, data, after), pending
        )
        reasons.extend(r.message.en for r in results if r.ok is False and r.message)
        return TriggerOption(
            transition.trigger,
            transition.label,
            transition.dest,
            not reasons,
            tuple(reasons),
            tuple(results),
            transition.form,
            permitted,
        )

    def list(self, **query: Unpack[CaseQuery]) -> list[dict[str, Any]]:
        """The cases of one :meth:`page` (same arguments), without the next page's cursor."""
        return self.page(**query).rows

    def page(
        self,
        program: str | None = None,
        state: str | None = None,
        limit: int = 200,
        overdue: bool = False,
        viewer: str | None = None,
        now: dt.datetime | None = None,
        year: int | None = None,
        region: str | None = None,
        search: str | None = None,
        after_id: int | None = None,
        sort: str | None = None,
        cursor: str | None = None,
    ) -> queries.Page:
        """One page of cases in ``sort`` order (a column name, ``-name`` descending; default
        oldest first by id) and the cursor of the next page. With ``viewer``, only those
        within their region scope; ``overdue``: only those past their state's deadline at
        ``now`` (default: now); ``region``: within that region (any level); ``search``: a
        case number, or part of the subject's name, or the start of its code. ``cursor``
        (from the previous page) or ``after_id`` (a case id) say where the page starts:
        keyset paging, no counting, stable under any sort; NULL values sort last."""
        segments = queries.sort_segments(sort)
        order = sort or queries.DEFAULT_SORT
        dialect = self.context.engine.dialect.name
        now = now or utcnow()
        with self.context.sessions() as session:
            query = select(Case)
            if program:
                query = query.where(Case.program == program)
            if state:
                query = query.where(Case.state == state)
            if year:
                query = query.where(Case.year == year)
            if region:
                path = session.scalar(select(Region.path).where(Region.code == region))
                if path is None:
                    raise NotFound(f"no region {region}")
                query = query.where(queries.within(path, dialect))
            if search and search.strip():
                query = query.where(queries.search_filter(search))
            if overdue:
                query = query.where(Case.due_at < now)
            roles: set[str] | None = None
            if viewer is not None:
                actor = self.context.actor(session, viewer)
                roles = actor.roles()
                scope = queries.scope_filter(session, actor, dialect)
                if scope is not None:
                    query = query.where(scope)
            start = self._start(session, segments, order, cursor, after_id)
            found, more = queries.page_cases(session, query, segments, start, limit)
            return self._page(session, found, more, segments, order, roles, now, None)

    def inbox(
        self,
        viewer: str,
        limit: int = 50,
        cursor: str | None = None,
        now: dt.datetime | None = None,
    ) -> queries.Page:
        """The cases ``viewer`` can act on now: not final, within the region where they hold
        a role that may fire a transition (other than a "*" one such as cancel) from the
        case's state. Overdue first, then oldest ``updated_at``; guards are not evaluated.
        One SQL query per page, built from the stored definitions."""
        dialect = self.context.engine.dialect.name
        with self.context.sessions() as session:
            actor = self.context.actor(session, viewer)
            start = queries.Cursor.decode(cursor, queries.INBOX) if cursor else None
            now = (start.now if start else None) or now or utcnow()
            versions = queries.published_and_running(session)
            definitions = [(v.id, self.context.definition(v)) for v in versions]
            query = select(Case).where(
                queries.actionable_filter(session, actor, definitions, dialect)
            )
            segments = queries.inbox_segments(now)
            found, more = queries.page_cases(session, query, segments, start, limit)
            return self._page(
                session, found, more, segments, queries.INBOX, actor.roles(), now, now
            )

    @staticmethod
    def _start(
        session: Session,
        segments: Sequence[queries.Segment],
        order: str,
        cursor: str | None,
        after_id: int | None,
    ) -> queries.Cursor | None:
        """Where a page of the case list starts: the cursor, or after the case ``after_id``
        in this order (its sort value looked up once)."""
        if cursor:
            return queries.Cursor.decode(cursor, order)
        if not after_id:
            return None
        if len(segments) == 1 and segments[0].key is None:  # by id: no lookup needed
            return queries.Cursor(order, 0, None, after_id)
        case = session.get(Case, after_id)
        if case is None:
            raise NotFound(f"no case {after_id}")
        segment = next(
            i
            for i, s in enumerate(segments)
            if s.key is None or getattr(case, s.key.key) is not None
        )
        return queries.cursor_after(case, segment, segments, order, None)

    def _page(
        self,
        session: Session,
        found: Sequence[tuple[Case, int]],
        more: bool,
        segments: Sequence[queries.Segment],
        order: str,
        roles: set[str] | None,
        now: dt.datetime,
        pinned_now: dt.datetime | None,
    ) -> queries.Page:
        """The page as ``case_json`` rows, personal data masked unless ``roles`` may see it;
        definition versions and subjects' names are looked up once for the page."""
        versions, names = queries.page_lookups(session, [case for case, _ in found])
        rows = []
        for case, _segment in found:
            version = versions[case.definition_version_id]
            definition = self.context.definition(version)
            row = case_json(
                case, definition, now, version=version, subject_name=names[case.subject_code]
            )
            if not may_see_pii(definition, roles):
                row["data"] = masked_data(definition, row["data"])
            rows.append(row)
        next_cursor = None
        if more and found:
            last, segment = found[-1]
            next_cursor = queries.cursor_after(last, segment, segments, order, pinned_now).encode()
        return queries.Page(rows, next_cursor)


def _document_hashes(values: Mapping[str, Any]) -> dict[str, str]:
    """The sha256 of each document among form values, by field: what history records."""
    return {k: v["sha256"] for k, v in values.items() if isinstance(v, dict) and "sha256" in v}
