"""The one way in for every change of a case: start, fire (one case or many), and the
escalation of overdue cases. Each is one transaction; the read side is
:class:`~engine.runtime.case_queries.CaseQueries`, which :class:`Cases` extends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
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
from engine.guards import evaluate_guards
from engine.language import Definition, TransitionSpec
from engine.language.roles import SUBJECTS
from engine.runtime import ledger, signals
from engine.runtime.access import Actor
from engine.runtime.case_queries import CaseQueries
from engine.runtime.case_views import case_json, record_json
from engine.runtime.deadlines import due_at
from engine.runtime.evaluation import guard_context, posting, stored_ledger
from engine.runtime.forms import clean
from engine.runtime.history import append_record, effects
from engine.runtime.ledger import LedgerState
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.documents import Pending
from engine.store.models import (
    Case,
    CaseLink,
    DefinitionVersion,
    Document,
    LedgerEntry,
    Region,
    utcnow,
)

ADMIN_ROLES = ("admin",)


def starter_roles(definition: Definition) -> list[str]:
    """Who may open a case: the roles that act first (a "*" transition such as cancel does
    not make a starter), and admin."""
    initial = definition.initial_state.name
    return sorted(
        {r for t in definition.transitions_from(initial) if not t.any_source for r in t.roles}
        | set(ADMIN_ROLES)
    )


def check_subject(definition: Definition, region: Region) -> None:
    """A case of ``definition`` may be about ``region``: a region of the program's subject
    level, inside the regions the program runs in; :class:`InvalidData` otherwise."""
    program = definition.program
    wanted = SUBJECTS[definition.subject]
    if region.level != wanted:
        raise InvalidData(
            f"{program} cases are about a {wanted}; {region.code} is a {region.level}"
        )
    if definition.regions and not set(definition.regions) & set(region.ancestor_codes):
        raise InvalidData(
            f"{program} runs only in {', '.join(definition.regions)}; {region.code} is elsewhere"
        )


class Cases(CaseQueries):
    """Changing cases (and, inherited, reading them): what ``rukun.cases`` offers."""

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

    def _update_links(
        self,
        session: Session,
        case: Case,
        definition: Definition,
        payload: Mapping[str, Any],
        actor: Actor,
    ) -> dict[str, list[int]]:
        """Check the case ids in ``cases`` fields (each exists, is of the field's program and
        within the ``actor``'s scope) and make the links match them; returns the targets set
        per field (what the history record's effects say)."""
        changed: dict[str, list[int]] = {}
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
                if not actor.may_view(target.region_path.split("/")):
                    raise Forbidden(
                        f"{name}: user '{actor.name}' may not link case {target_id}: "
                        "it is outside their region scope"
                    )
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
            changed[name] = targets
        return changed

    def _check_documents(
        self, session: Session, attachments: Mapping[str, Path], actor: str
    ) -> tuple[dict[str, Any], list[Pending]]:
        """Check each attached file and add its ``documents`` row to the transaction; the
        files themselves are written by :meth:`_write_documents` once nothing can refuse
        the transition, so a refused attempt leaves no file behind."""
        checked: dict[str, Any] = {}
        pending: list[Pending] = []
        for name, path in attachments.items():
            document = self.context.documents.check_file(Path(path))
            file = document.file
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
            checked[name] = file.to_json()
            pending.append(document)
        return checked, pending

    def _write_documents(self, pending: Sequence[Pending]) -> None:
        """Store the checked files, just before the transaction commits. Should the commit
        still fail (or the process die before it), a file no record names may stay behind:
        ``rukun documents gc`` removes it; no record ever names a file not yet written."""
        for document in pending:
            self.context.documents.write(document)

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
            check_subject(definition, region)
            actor = self.context.actor(session, actor_name)
            initial = definition.initial_state
            starters = starter_roles(definition)
            role = actor.authorize(starters, region.ancestor_codes, f"start a {program} case")
            raw = dict(values or {})
            checked, pending = self._check_documents(session, attachments or {}, actor.name)
            raw.update(checked)
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
            links = self._update_links(session, case, definition, data, actor)
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
                effects=effects(case, links=links, start=True),
            )
            session.flush()
            self._write_documents(pending)
            result = self._view(session, case, definition, actor, LedgerState())
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
        checked, pending = self._check_documents(session, attachments, actor.name)
        raw.update(checked)
        payload = clean(definition, transition.form, raw)
        data = {**case.data, **payload}
        links = self._update_links(session, case, definition, payload, actor)
        postings, after = posting(stored_ledger(session, case.id), transition, data, case.id)
        context = guard_context(session, self.dialect, case, definition, data, after)
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
        entries = [ledger.entry_defaults(p) for p in postings]
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
            effects=effects(case, entries, links),
        )
        session.add_all(LedgerEntry(case_id=case.id, seq=record.seq, **e) for e in entries)
        session.flush()
        self._write_documents(pending)
        view = self._view(session, case, definition, actor, after)
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


def _document_hashes(values: Mapping[str, Any]) -> dict[str, str]:
    """The sha256 of each document among form values, by field: what history records."""
    return {k: v["sha256"] for k, v in values.items() if isinstance(v, dict) and "sha256" in v}
