"""One firing of a transition on a case inside the caller's write transaction: the engine's
hot path. It checks everything a firing must (the case's version, the trigger from its
state, role and region, the form, links, ledger, guards) and then writes what the floor of
any such engine writes: the case row (its new state and chain head, under an optimistic
lock) and one history record. It reads only what this firing needs: the case row with its
subject's name and the actor's grants, the ledger only for a transition that posts or a
guard that reads it, regions and other cases only for a guard that counts them; the
definition version is read once per process. Statements are prebuilt SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update

from engine.errors import Conflict, InvalidData, NotFound, TransitionRefused
from engine.guards import GuardResult, evaluate_guards
from engine.language import Definition, TransitionSpec
from engine.runtime import ledger, paperwork
from engine.runtime.access import Actor
from engine.runtime.attachments import (
    check_documents,
    document_hashes,
    refuse_document_values,
    write_documents,
)
from engine.runtime.case_links import update_links
from engine.runtime.case_views import CaseRow
from engine.runtime.context import Context, PinnedVersion, actor_of
from engine.runtime.deadlines import due_at
from engine.runtime.evaluation import guard_context, posting, stored_ledger
from engine.runtime.forms import clean
from engine.runtime.history import effects, record_values
from engine.runtime.ledger import LedgerState
from engine.runtime.transaction import Transaction
from engine.store.documents import Pending
from engine.store.models import (
    Case,
    LedgerEntry,
    Region,
    RoleGrant,
    TransitionRecord,
    User,
    utcnow,
)
from engine.text import Label

_CASES = cast(Table, Case.__table__)
#: The case row with its subject's name, and the actor's active flag and grants (a row per
#: grant): one round trip for what every firing needs before it can decide anything.
_LOAD = (
    select(
        _CASES,
        Region.name.label("subject_name"),
        User.active,
        RoleGrant.role,
        RoleGrant.region_code,
    )
    .join(Region, Region.code == _CASES.c.subject_code)
    .outerjoin(User, User.name == bindparam("actor"))
    .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
    .order_by(RoleGrant.id)
)
_LOAD_ONE = _LOAD.where(_CASES.c.id == bindparam("case_id"))
_LOAD_MANY = _LOAD.where(_CASES.c.id.in_(bindparam("case_ids", expanding=True)))
#: PostgreSQL: the case row stays locked until the transaction ends (SQLite's write
#: transaction holds the whole database already).
_LOAD_LOCKED = _LOAD_ONE.with_for_update(of=_CASES)
_RECORDS = cast(Table, TransitionRecord.__table__)
_RECORD_COLUMNS = tuple(c for c in _RECORDS.columns if c.name != "id")
_INSERT_RECORD = insert(_RECORDS)
_INSERT_ENTRIES = insert(cast(Table, LedgerEntry.__table__))
_COLUMNS = tuple(column.name for column in _CASES.columns)
#: UPDATE statements by the columns they set (a handful of shapes).
_UPDATES: dict[tuple[str, ...], Any] = {}
_COMBINED: dict[tuple[str, ...], Any] = {}


def _update(columns: tuple[str, ...]) -> Any:
    """``UPDATE cases SET <columns> WHERE id = :case_id AND version = :seen``."""
    statement = _UPDATES.get(columns)
    if statement is None:
        statement = _UPDATES[columns] = (
            update(_CASES)
            .where(_CASES.c.id == bindparam("case_id"), _CASES.c.version == bindparam("seen"))
            .values({name: bindparam(f"new_{name}") for name in columns})
        )
    return statement


def _update_then_insert(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the UPDATE of :func:`_update` and the record's INSERT as one statement
    (one round trip): ``WITH moved AS (UPDATE ... RETURNING id) INSERT ... SELECT ... FROM
    moved RETURNING seq``, which inserts (and returns) nothing when the UPDATE found the
    case at another version."""
    statement = _COMBINED.get(columns)
    if statement is None:
        moved = _update(columns).returning(_CASES.c.id).cte("moved")
        values = select(
            *(bindparam(f"record_{c.name}", type_=c.type) for c in _RECORD_COLUMNS)
        ).select_from(moved)
        statement = _COMBINED[columns] = (
            insert(_RECORDS)
            .from_select([c.name for c in _RECORD_COLUMNS], values)
            .add_cte(moved, nest_here=True)
            .returning(_RECORDS.c.seq)
        )
    return statement


def _move_and_append(
    connection: Connection,
    case_id: int,
    seen: int,
    changes: Mapping[str, Any],
    record: Mapping[str, Any],
) -> bool:
    """Set ``changes`` on the case if it is still at version ``seen`` and append
    ``record``; False (nothing written) if it is not."""
    parameters = {"case_id": case_id, "seen": seen}
    parameters.update((f"new_{name}", value) for name, value in changes.items())
    columns = tuple(changes)
    if connection.dialect.name == "postgresql":
        parameters.update((f"record_{name}", value) for name, value in record.items())
        appended = connection.execute(_update_then_insert(columns), parameters)
        return appended.first() is not None
    if connection.execute(_update(columns), parameters).rowcount != 1:
        return False
    connection.execute(_INSERT_RECORD, record)
    return True


@dataclass
class Fired:
    """What a firing did: the case after it, its version and definition, the actor, the
    record's column values, and the ledger after it (``None``: not read)."""

    case: CaseRow
    subject_name: str
    pinned: PinnedVersion
    actor: Actor
    record: dict[str, Any]
    ledger: LedgerState | None


def load_rows(transaction: Transaction, case_id: int, actor: str) -> Sequence[Row[Any]]:
    """The case row with its subject's name and ``actor``'s grants (see ``_LOAD``), the
    case locked on PostgreSQL unless the transaction is deferred (then the optimistic lock
    of the write decides, and a case that moved meanwhile is :class:`Stale`)."""
    connection = transaction.connection
    locked = connection.dialect.name == "postgresql" and not transaction.deferred
    parameters = {"case_id": case_id, "actor": actor}
    rows = connection.execute(_LOAD_LOCKED if locked else _LOAD_ONE, parameters).all()
    if not rows:
        raise NotFound(Label(id=f"tidak ada kasus {case_id}", en=f"no case {case_id}"))
    return rows


def load_snapshot(
    connection: Connection, case_ids: Sequence[int], actor: str
) -> dict[int, list[Row[Any]]]:
    """What :func:`load_rows` gives for each of ``case_ids`` that exists, in one read and
    unlocked: a bulk action's starting point. Each firing from it is still checked by the
    optimistic lock (:class:`Stale` if the case changed since)."""
    found: dict[int, list[Row[Any]]] = {}
    parameters = {"case_ids": list(case_ids), "actor": actor}
    for row in connection.execute(_LOAD_MANY, parameters):
        found.setdefault(row.id, []).append(row)
    return found


class Stale(Conflict):
    """The case changed after it was read (by a bulk action's snapshot, or unlocked by a
    deferred transaction) and before it was written: nothing was written; read it again."""


def case_row(row: Row[Any]) -> CaseRow:
    """The case's values outside any session: the firing writes the row itself. (The
    row starts with the case table's columns, in the order of CaseRow's fields.)"""
    return CaseRow(*row[: len(_COLUMNS)])


def transition_for(definition: Definition, case: Case | CaseRow, trigger: str) -> TransitionSpec:
    """The transition ``trigger`` fires from the case's state; :class:`NotFound` for a
    trigger the program does not have, :class:`Conflict` for one not open from here."""
    if trigger not in definition.triggers():
        raise NotFound(
            Label(
                id=f"{definition.program} tidak mempunyai langkah '{trigger}'",
                en=f"{definition.program} has no trigger '{trigger}'",
            )
        )
    transition = definition.transition(trigger, case.state)
    if transition is None:
        open_here = ", ".join(t.trigger for t in definition.transitions_from(case.state))
        raise Conflict(
            Label(
                id=f"'{trigger}' tidak dapat dijalankan pada kasus {case.id} di keadaan "
                f"'{case.state}' (yang tersedia di sana: {open_here or 'tidak ada'})",
                en=f"'{trigger}' cannot be fired on case {case.id} in state '{case.state}' "
                f"(available there: {open_here or 'none'})",
            )
        )
    return transition


def refusal(trigger: str, case_id: int, results: Sequence[GuardResult]) -> TransitionRefused:
    """The error for guards that failed, naming each and why."""
    failed = [r for r in results if not r.ok]
    english = "; ".join(f"{r.name}: {r.message.en if r.message else 'failed'}" for r in failed)
    indonesian = "; ".join(f"{r.name}: {r.message.id if r.message else 'gagal'}" for r in failed)
    return TransitionRefused(
        Label(
            id=f"'{trigger}' ditolak pada kasus {case_id}: {indonesian}",
            en=f"'{trigger}' refused on case {case_id}: {english}",
        ),
        [r.to_json() for r in results],
    )


def fire_in(
    context: Context,
    transaction: Transaction,
    case_id: int,
    trigger: str,
    actor_name: str,
    values: Mapping[str, Any],
    attachments: Mapping[str, Path],
    expected_version: int | None,
    snapshot: Sequence[Row[Any]] | None = None,
) -> Fired:
    """Fire ``trigger`` on case ``case_id`` in ``transaction``, or raise having written
    nothing that its rollback would not undo. ``snapshot``: the case's rows as a bulk
    action read them (:func:`load_snapshot`) instead of reading them now."""
    connection = transaction.connection
    rows = load_rows(transaction, case_id, actor_name) if snapshot is None else snapshot
    case = case_row(rows[0])
    actor = actor_of(actor_name, rows)
    # before anything about the case is told: its version, state or triggers
    actor.check_view(case_id, case.region_path.split("/"))
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            Label(
                id=f"kasus {case_id} pada versi {case.version}, bukan {expected_version}: "
                "kasus berubah sejak Anda membukanya; muat ulang dan coba lagi",
                en=f"case {case_id} is at version {case.version}, not {expected_version}: "
                "it changed since you loaded it; reload and retry",
            )
        )
    pinned = context.pinned(transaction, case.definition_version_id)
    definition = pinned.definition
    transition = transition_for(definition, case, trigger)
    role = actor.authorize(
        transition.roles, case.region_path.split("/"), f"fire '{trigger}' on case {case_id}"
    )
    refuse_document_values(definition, values)
    raw = dict(values)
    pending: list[Pending] = []
    if attachments:
        unexpected = sorted(set(attachments) - set(transition.form_fields))
        if unexpected:
            what = ", ".join(unexpected)
            raise InvalidData(
                Label(
                    id=f"bukan bagian dari formulir ini: {what}",
                    en=f"not part of this form: {what}",
                )
            )
        session = transaction.session
        checked, pending = check_documents(context.documents, session, attachments, actor.name)
        raw.update(checked)
    payload = clean(definition, transition.form, raw) if raw or transition.form else {}
    data = {**case.data, **payload} if payload else case.data
    links = update_links(transaction.session, case, definition, payload, actor) if payload else {}
    after: LedgerState | None = None
    postings: list[dict[str, Any]] = []
    if transition.ledger is not None:
        books = stored_ledger(transaction.session, case.id)
        postings, after = posting(books, transition, data, case.id)
    results: list[GuardResult] = []
    if transition.guards:
        dialect = context.engine.dialect.name
        checking = guard_context(transaction.session, dialect, case, definition, data, after)
        results = evaluate_guards(transition.guards, checking)
        if not all(r.ok for r in results):
            raise refusal(trigger, case_id, results)
    dest = context.machines.next_state(pinned.id, definition, case.state, trigger)
    now = utcnow()
    if transition.generates:  # rendered from the case as this firing leaves it
        books = after if after is not None else LedgerState()
        if after is None and paperwork.reads_ledger(definition, transition):
            books = stored_ledger(transaction.session, case.id)
        act = paperwork.Act(transition, actor.name, role, now)
        seq = case.version + 1 if case.head_hash else 1
        made, generated = paperwork.generate(
            context.documents,
            transaction.session,
            definition,
            replace(case, state=dest),
            data,
            books,
            rows[0].subject_name,
            act,
            seq,
            context.paperwork_bounds,
        )
        payload = {**payload, **made}
        data = {**data, **made}
        pending.extend(generated)
    source, seen = case.state, case.version
    changes: dict[str, Any] = {"state": dest, "updated_at": now}
    if payload:
        changes["data"] = data
    if dest != source:
        changes.update(state_entered_at=now, due_at=due_at(definition.state(dest), now))
        changes["escalated_at"] = None
    for name, value in changes.items():
        setattr(case, name, value)
    entries = [ledger.entry_defaults(p) for p in postings]
    record = record_values(
        case,
        pinned.version,
        pinned.sha256,
        {
            "kind": "transition",
            "trigger": trigger,
            "source": source,
            "dest": dest,
            "actor": actor.name,
            "role": role,
            "at": now,
            "payload": payload,
            "guards": [r.to_json() for r in results],
            "documents": document_hashes(payload),
            "effects": effects(case, entries, links),
        },
    )
    case.version, case.head_hash = record["seq"], record["hash"]
    changes.update(version=case.version, head_hash=case.head_hash)
    # the ledger's rows, documents and links go with the case's in one transaction
    transaction.before_write(more=bool(entries or pending))
    if not _move_and_append(connection, case_id, seen, changes, record):
        raise Stale(
            Label(
                id=f"kasus {case_id} berubah setelah dibaca untuk langkah ini",
                en=f"case {case_id} changed after it was read for this firing",
            )
        )
    if entries:
        connection.execute(
            _INSERT_ENTRIES, [{"case_id": case_id, "seq": record["seq"], **e} for e in entries]
        )
    transaction.settle()
    transaction.flush()  # documents and links: refused here, before any file is written
    write_documents(context.documents, pending)
    return Fired(case, rows[0].subject_name, pinned, actor, record, after)
