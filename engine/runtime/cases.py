"""The one way in for every change of a case: start, fire (one case or many), and the
escalation of overdue cases. Each is one transaction; the read side is
:class:`~engine.runtime.case_queries.CaseQueries`, which :class:`Cases` extends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidData, NotFound, RukunError, TransitionRefused
from engine.language import Definition
from engine.language.roles import SUBJECTS
from engine.runtime import signals
from engine.runtime.attachments import check_documents, document_hashes, write_documents
from engine.runtime.case_links import update_links
from engine.runtime.case_queries import CaseQueries, masked_case
from engine.runtime.case_views import record_json
from engine.runtime.deadlines import due_at
from engine.runtime.escalation import escalate_due
from engine.runtime.firing import Fired, Stale, fire_in, load_snapshot
from engine.runtime.forms import clean
from engine.runtime.history import append_record, effects
from engine.runtime.ledger import LedgerState
from engine.runtime.transaction import Transaction, write_transaction
from engine.store.db import write_session
from engine.store.models import Case, DefinitionVersion, Region, utcnow

ADMIN_ROLES = ("admin",)
#: What a firing returns (see :meth:`Cases._result`).
Shape = Literal["case", "view", "outcome"]
#: How many cases of a bulk action are read at once.
BULK_CHUNK = 500
#: How many times a firing is read and decided again when its case moved between its read
#: and its write (PostgreSQL reads the case unlocked: see engine.runtime.transaction).
ATTEMPTS = 5
#: What a firing that lost to another on the same case answers: the other moved it first,
#: or (SQLite) holds the database's write lock past the busy timeout.
RACED = "case {case_id} was changed by someone else at the same time; reload and retry"
BUSY = "case {case_id} is being changed by someone else; retry"


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
            checked, pending = check_documents(
                self.context.documents, session, attachments or {}, actor.name
            )
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
            links = update_links(session, case, definition, data, actor)
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
                documents=document_hashes(data),
                effects=effects(case, links=links, start=True),
            )
            session.flush()
            write_documents(self.context.documents, pending)
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
        *,
        view: bool = False,
    ) -> dict[str, Any]:
        """Fire ``trigger`` on a case in one transaction, or change nothing and raise.
        Returns the case as the actor may see it (``case_json``); with ``view``, as ``show``
        gives it, with its ledger and links (read for it in the same transaction)."""
        values, attachments = values or {}, attachments or {}
        return self._fire_one(
            self.context.write_engine,
            case_id,
            trigger,
            actor_name,
            values,
            attachments,
            expected_version,
            "view" if view else "case",
        )

    def _fire_one(
        self,
        bind: Engine | Connection,
        case_id: int,
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any],
        attachments: Mapping[str, Path],
        expected_version: int | None,
        shape: Shape,
        snapshot: Sequence[Row[Any]] | None = None,
        attempt: int = 1,
    ) -> dict[str, Any]:
        """:meth:`fire` in a transaction on ``bind``, returning the case in ``shape``, from
        a bulk action's ``snapshot`` of the case if given. What the snapshot decides is
        final only when the case moves: a refusal, or a case that changed since, is decided
        again on the case read now. A case that moved between its read and the write
        (:class:`Stale`, nothing written) is read and decided again, up to
        :data:`ATTEMPTS` times."""
        again = (bind, case_id, trigger, actor_name, values, attachments, expected_version, shape)
        try:
            with write_transaction(bind) as transaction:
                fired = fire_in(
                    self.context,
                    transaction,
                    case_id,
                    trigger,
                    actor_name,
                    values,
                    attachments,
                    expected_version,
                    snapshot,
                )
                result = self._result(transaction, fired, shape)
        except Stale as stale:
            if snapshot is not None or attempt < ATTEMPTS:
                return self._fire_one(*again, attempt=attempt + (snapshot is None))
            raise self._conflict(case_id, trigger, actor_name, RACED) from stale
        except RukunError as refusal:
            if snapshot is None:
                self._refused(case_id, trigger, actor_name, refusal)
                raise
            # decided on the bulk read: decide on the case as it is now
            return self._fire_one(*again)
        except IntegrityError as exc:
            raise self._conflict(case_id, trigger, actor_name, RACED) from exc
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "serializ" not in str(exc).lower():
                raise
            raise self._conflict(case_id, trigger, actor_name, BUSY) from exc
        program = fired.case.program
        if signals.transition_fired.has_receivers_for(program):
            case = result if shape != "outcome" else self._result(transaction, fired, "case")
            record = record_json(fired.record)
            signals.send(
                signals.transition_fired, program, case=case, record=record, actor=actor_name
            )
        return result

    def _result(self, transaction: Transaction, fired: Fired, shape: Shape) -> dict[str, Any]:
        """The case after a firing: as ``case_json`` gives it (``case``), with its ledger and
        links as ``show`` gives them (``view``, read in the firing's transaction), or only
        where it now stands (``outcome``: a bulk action's row)."""
        definition = fired.pinned.definition
        if shape == "outcome":
            state = definition.state(fired.case.state)
            return {
                "state": state.name,
                "state_label": state.label.to_json(),
                "version": fired.case.version,
            }
        known = {"version": fired.pinned, "subject_name": fired.subject_name}
        if shape == "view":
            session = transaction.session
            return self._view(session, fired.case, definition, fired.actor, fired.ledger, **known)
        return masked_case(fired.case, definition, fired.actor, **known)

    def fire_many(
        self,
        case_ids: Sequence[int],
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Fire ``trigger`` on each case in its own transaction (a bulk action): every case
        either moves completely or not at all, and each gets its own result. The cases and
        the actor's grants are read in chunks (the grants as they stood when the chunk was
        read), and the transactions share one connection; a case that changed after its
        chunk was read is read again in its own transaction."""
        results = []
        values = values or {}
        ids = list(dict.fromkeys(case_ids))
        with self.context.write_engine.connect() as connection:
            for start in range(0, len(ids), BULK_CHUNK):
                chunk = ids[start : start + BULK_CHUNK]
                connection.execution_options(rukun_write=False)  # a plain read
                with connection.begin():
                    snapshot = load_snapshot(connection, chunk, actor_name)
                for case_id in chunk:
                    rows = snapshot.get(case_id)
                    results.append(
                        self._bulk_one(connection, case_id, trigger, actor_name, values, rows)
                    )
        return results

    def _bulk_one(
        self,
        connection: Connection,
        case_id: int,
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any],
        snapshot: Sequence[Row[Any]] | None,
    ) -> dict[str, Any]:
        """One case of a bulk action, as its result row."""
        try:
            moved = self._fire_one(
                connection, case_id, trigger, actor_name, values, {}, None, "outcome", snapshot
            )
        except RukunError as error:
            return {
                "case_id": case_id,
                "ok": False,
                "state": None,
                "state_label": None,
                "version": None,
                "error": error.to_json(),
            }
        return {
            "case_id": case_id,
            "ok": True,
            "state": moved["state"],
            "state_label": moved["state_label"],
            "version": moved["version"],
            "error": None,
        }

    def _conflict(self, case_id: int, trigger: str, actor: str, message: str) -> Conflict:
        """The conflict of a firing that lost to another on the same case (``message`` with
        the case's number), signalled as refused."""
        error = Conflict(message.format(case_id=case_id))
        self._refused(case_id, trigger, actor, error)
        return error

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

    def tick(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Escalate every case past its state's deadline (see
        :func:`~engine.runtime.escalation.escalate_due`)."""
        return escalate_due(self.context, now)
