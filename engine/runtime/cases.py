"""The one way in for every change of a case: start, fire (one case or many), and the
escalation of overdue cases. Each is one transaction; the read side is
:class:`~engine.runtime.case_queries.CaseQueries`, which :class:`Cases` extends."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidData, NotFound, RukunError, TransitionRefused
from engine.language import Definition
from engine.language.roles import SUBJECTS
from engine.runtime import signals
from engine.runtime.attachments import (
    check_documents,
    document_hashes,
    refuse_document_values,
    write_documents,
)
from engine.runtime.case_links import update_links
from engine.runtime.case_queries import CaseQueries, masked_case
from engine.runtime.case_views import record_json
from engine.runtime.deadlines import due_at
from engine.runtime.escalation import escalate_due
from engine.runtime.firing import Fired, Stale, fire_in, load_snapshot
from engine.runtime.forms import clean
from engine.runtime.history import append_record, effects
from engine.runtime.idempotency import Once, forget_expired
from engine.runtime.ledger import LedgerState
from engine.runtime.levels import level_word
from engine.runtime.transaction import Transaction, write_transaction
from engine.store.db import WRITE, write_session
from engine.store.models import Case, DefinitionVersion, Region, utcnow
from engine.text import Label

ADMIN_ROLES = ("admin",)
#: What a firing returns (see :meth:`Cases._result`).
Shape = Literal["case", "view", "outcome"]
#: How many cases of a bulk action are read at once.
BULK_CHUNK = 500
#: On SQLite, at most this many cases of a bulk action share one transaction, and a
#: transaction takes on no more cases once it is this many seconds old (other writers wait
#: for it: a web request's firing at most about this long).
BULK_GROUP = 100
BULK_GROUP_SECONDS = 0.05
#: How many times a firing is read and decided again when its case moved between its read
#: and its write (PostgreSQL reads the case unlocked: see engine.runtime.transaction).
ATTEMPTS = 5
#: What a firing that lost to another on the same case answers: the other moved it first,
#: or (SQLite) holds the database's write lock past the busy timeout.
RACED = Label(
    id="kasus {case_id} diubah orang lain pada saat yang sama; muat ulang lalu coba lagi",
    en="case {case_id} was changed by someone else at the same time; reload and retry",
)
BUSY = Label(
    id="kasus {case_id} sedang diubah orang lain; coba lagi",
    en="case {case_id} is being changed by someone else; retry",
)


#: Signals of a case fired in a transaction still open, sent once it commits.
Held = list[Callable[[], None]]


def _send(held: Held | None, call: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """``call(*args, **kwargs)`` now, or once the transaction is committed (``held``)."""
    if held is None:
        call(*args, **kwargs)
    else:
        held.append(functools.partial(call, *args, **kwargs))


def _busy(exc: OperationalError) -> bool:
    """The error of a write that waited for another writer past the busy timeout (or lost
    a serialization race)."""
    text = str(exc).lower()
    return "locked" in text or "serializ" in text


@contextmanager
def _savepoints_in_memory(connection: Connection) -> Iterator[None]:
    """SQLite keeps what its savepoints roll back to in memory, not in temporary files,
    while the block runs on ``connection`` (a bulk action's groups: about a third faster).
    Set on the driver's connection, outside any transaction (SQLite allows no other), and
    set back, so the connection's big sorts elsewhere still spill to disk."""
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        driver.execute("PRAGMA temp_store=DEFAULT")


def _failed(case_id: int, error: RukunError) -> dict[str, Any]:
    """A bulk action's result row for a case that did not move."""
    return {
        "case_id": case_id,
        "ok": False,
        "state": None,
        "state_label": None,
        "version": None,
        "error": error.to_json(),
    }


def starter_roles(definition: Definition) -> list[str]:
    """Who may open a case: the roles that act first (a "*" transition such as cancel does
    not make a starter), and admin."""
    initial = definition.initial_state.name
    return sorted({r for t in definition.steps_from(initial) for r in t.roles} | set(ADMIN_ROLES))


def check_subject(definition: Definition, region: Region) -> None:
    """A case of ``definition`` may be about ``region``: a region of the program's subject
    level, inside the regions the program runs in; :class:`InvalidData` otherwise."""
    program = definition.program
    wanted = SUBJECTS[definition.subject]
    if region.level != wanted:
        raise InvalidData(
            Label(
                id=f"kasus {program} menyangkut {level_word(wanted)}; {region.code} adalah "
                f"{level_word(region.level)}",
                en=f"{program} cases are about a {wanted}; {region.code} is a {region.level}",
            )
        )
    if definition.regions and not set(definition.regions) & set(region.ancestor_codes):
        where = ", ".join(definition.regions)
        raise InvalidData(
            Label(
                id=f"{program} hanya berjalan di {where}; {region.code} berada di luar wilayah itu",
                en=f"{program} runs only in {where}; {region.code} is elsewhere",
            )
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
                Label(
                    id=f"tidak ada program '{program}' yang diterbitkan (terbitkan dengan "
                    "`rukun workflow publish`)",
                    en=f"no published program '{program}' "
                    "(publish it with `rukun workflow publish`)",
                )
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
            raise InvalidData(
                Label(
                    id=f"tahun {year} di luar rentang (2000-2100)",
                    en=f"year {year} is out of range (2000-2100)",
                )
            )
        with write_session(self.context.sessions) as session:
            version = self._published(session, program)
            definition = self.context.definition(version)
            region = session.get(Region, subject)
            if region is None:
                raise NotFound(Label(id=f"tidak ada wilayah {subject}", en=f"no region {subject}"))
            check_subject(definition, region)
            actor = self.context.actor(session, actor_name)
            initial = definition.initial_state
            starters = starter_roles(definition)
            action = Label(id=f"memulai kasus {program}", en=f"start a {program} case")
            role = actor.authorize(starters, region.ancestor_codes, action)
            raw = dict(values or {})
            refuse_document_values(definition, raw)
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
        once: Once | None = None,
    ) -> dict[str, Any]:
        """Fire ``trigger`` on a case in one transaction, or change nothing and raise.
        Returns the case as the actor may see it (``case_json``); with ``view``, as ``show``
        gives it, with its ledger and links (read for it in the same transaction). With
        ``once`` (an idempotency key), a firing asked for before with that key is not
        fired again: its first answer is returned and ``once.replayed`` set."""
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
            once=once,
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
        held: Held | None = None,
        once: Once | None = None,
    ) -> dict[str, Any]:
        """:meth:`fire` in a transaction on ``bind`` (a savepoint if ``bind`` is in one
        already), returning the case in ``shape``, from a bulk action's ``snapshot`` of the
        case if given. What the snapshot decides is final only when the case moves: a
        refusal, or a case that changed since, is decided again on the case read now. A
        case that moved between its read and the write (:class:`Stale`, nothing written)
        is read and decided again, up to :data:`ATTEMPTS` times. Its signals are sent when
        it is committed: now, or (``held``) by whoever commits it. ``once``: see
        :meth:`fire` (its key is looked up and written in the firing's transaction)."""
        again = (bind, case_id, trigger, actor_name, values, attachments, expected_version, shape)
        try:
            with write_transaction(bind) as transaction:
                if once is not None:
                    transaction.begin()  # the key and the firing commit together
                    first = once.first(transaction.session)
                    if first is not None:
                        return first
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
                if once is not None:
                    once.remember(transaction.session, case_id, result)
        except Stale as stale:
            if snapshot is not None or attempt < ATTEMPTS:
                return self._fire_one(
                    *again, attempt=attempt + (snapshot is None), held=held, once=once
                )
            raise self._conflict(case_id, trigger, actor_name, RACED, held) from stale
        except RukunError as refusal:
            if snapshot is None:
                _send(held, self._refused, case_id, trigger, actor_name, refusal)
                raise
            # decided on the bulk read: decide on the case as it is now
            return self._fire_one(*again, held=held, once=once)
        except IntegrityError as exc:
            raise self._conflict(case_id, trigger, actor_name, RACED, held) from exc
        except OperationalError as exc:
            if not _busy(exc):
                raise
            raise self._conflict(case_id, trigger, actor_name, BUSY, held) from exc
        program = fired.case.program
        if signals.transition_fired.has_receivers_for(program):
            case = result if shape != "outcome" else self._result(transaction, fired, "case")
            record = record_json(fired.record)
            _send(
                held,
                signals.send,
                signals.transition_fired,
                program,
                case=case,
                record=record,
                actor=actor_name,
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
        """Fire ``trigger`` on each case on its own (a bulk action): every case either
        moves completely or not at all, and each gets its own result. The cases and the
        actor's grants are read in chunks (the grants as they stood when the chunk was
        read), and the cases' writes share one connection; a case that changed after its
        chunk was read is read again when it is fired.

        On PostgreSQL each case is its own transaction. On SQLite, where one writer at a
        time holds the whole database and every commit writes each page it touched to the
        WAL, a transaction holds a group of cases (up to :data:`BULK_GROUP`, or as many as
        :data:`BULK_GROUP_SECONDS` allow), each in a savepoint of its own: a case that is
        refused or fails its checks rolls back alone, and the group commits what moved. The
        cases' signals go out once their group is committed. An unexpected error (not a
        refusal) rolls back its group's cases and propagates; groups committed before it
        stay moved."""
        results: list[dict[str, Any]] = []
        values = values or {}
        ids = list(dict.fromkeys(case_ids))
        grouped = self.context.write_engine.dialect.name == "sqlite"
        with self.context.write_engine.connect() as connection:
            for start in range(0, len(ids), BULK_CHUNK):
                chunk = ids[start : start + BULK_CHUNK]
                connection.execution_options(rukun_write=False)  # a plain read
                with connection.begin():
                    snapshot = load_snapshot(connection, chunk, actor_name)
                if not grouped:
                    for case_id in chunk:
                        rows = snapshot.get(case_id)
                        results.append(
                            self._bulk_one(connection, case_id, trigger, actor_name, values, rows)
                        )
                    continue
                connection.execution_options(**WRITE)
                with _savepoints_in_memory(connection):
                    while chunk:
                        chunk = self._bulk_group(
                            connection, chunk, trigger, actor_name, values, snapshot, results
                        )
        return results

    def _bulk_group(
        self,
        connection: Connection,
        case_ids: list[int],
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any],
        snapshot: Mapping[int, Sequence[Row[Any]]],
        results: list[dict[str, Any]],
    ) -> list[int]:
        """Fire on the first cases of ``case_ids`` in one transaction, each in a savepoint,
        until the group is full; add their results and return the cases left."""
        held: Held = []
        try:
            group = connection.begin()
        except OperationalError as exc:  # another writer held the database past the timeout
            if not _busy(exc):
                raise
            for case_id in case_ids[:BULK_GROUP]:
                error = self._conflict(case_id, trigger, actor_name, BUSY)
                results.append(_failed(case_id, error))
            return case_ids[BULK_GROUP:]
        with group:
            until = time.monotonic() + BULK_GROUP_SECONDS
            done = 0
            for case_id in case_ids[:BULK_GROUP]:
                rows = snapshot.get(case_id)
                results.append(
                    self._bulk_one(connection, case_id, trigger, actor_name, values, rows, held)
                )
                done += 1
                if time.monotonic() > until:
                    break
        for send in held:
            send()
        return case_ids[done:]

    def _bulk_one(
        self,
        connection: Connection,
        case_id: int,
        trigger: str,
        actor_name: str,
        values: Mapping[str, Any],
        snapshot: Sequence[Row[Any]] | None,
        held: Held | None = None,
    ) -> dict[str, Any]:
        """One case of a bulk action, as its result row."""
        try:
            moved = self._fire_one(
                connection,
                case_id,
                trigger,
                actor_name,
                values,
                {},
                None,
                "outcome",
                snapshot,
                held=held,
            )
        except RukunError as error:
            return _failed(case_id, error)
        return {
            "case_id": case_id,
            "ok": True,
            "state": moved["state"],
            "state_label": moved["state_label"],
            "version": moved["version"],
            "error": None,
        }

    def _conflict(
        self, case_id: int, trigger: str, actor: str, message: Label, held: Held | None = None
    ) -> Conflict:
        """The conflict of a firing that lost to another on the same case (``message`` with
        the case's number), signalled as refused."""
        error = Conflict(message.format(case_id=case_id))
        _send(held, self._refused, case_id, trigger, actor, error)
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
        :func:`~engine.runtime.escalation.escalate_due`), after forgetting the
        idempotency keys older than a day; then tell those who must act on a case whose
        deadline is near (:meth:`~engine.runtime.notifications.Notifications.deadlines`)."""
        from engine.runtime.notifications import Notifications

        now = now or utcnow()
        with write_session(self.context.sessions) as session:
            forget_expired(session, now)
        escalated = escalate_due(self.context, now)
        Notifications(self.context).deadlines(now)
        return escalated
