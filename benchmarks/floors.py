"""The raw-database floors: what the engine's writes cost when a careful engineer writes
them by hand with SQLAlchemy Core (statements built once, parameters bound per step)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from benchmarks.databases import ACTOR
from benchmarks.seeding import ROLE
from engine.store.chain import CURRENT_RULE, record_hash
from engine.store.models import Base, Case, DefinitionVersion, TransitionRecord, utcnow

CASES = Base.metadata.tables[Case.__tablename__]
RECORDS = Base.metadata.tables[TransitionRecord.__tablename__]


class RawSteps:
    """One step of a linear program (``s<i>`` --``t<i>``--> ``s<i+1>``) on a case: SELECT the
    case row (FOR UPDATE on PostgreSQL), UPDATE it where its version is still the one read
    (state, version + 1, the times, the chain head), INSERT the history record with the
    same columns the engine writes, hashed by :func:`~engine.store.chain.record_hash`."""

    def __init__(self, engine: Engine, version: DefinitionVersion) -> None:
        self.engine = engine
        self.version = version.version
        self.sha256 = version.sha256
        read = select(CASES.c.state, CASES.c.version, CASES.c.head_hash, CASES.c.program).where(
            CASES.c.id == bindparam("case_id")
        )
        self.read = read.with_for_update() if engine.dialect.name == "postgresql" else read
        self.move = (
            update(CASES)
            .where(CASES.c.id == bindparam("case_id"), CASES.c.version == bindparam("seen"))
            .values(
                state=bindparam("dest"),
                version=bindparam("seq"),
                updated_at=bindparam("at"),
                state_entered_at=bindparam("at"),
                head_hash=bindparam("hash"),
            )
        )
        self.append = insert(RECORDS)

    def connect(self) -> Connection:
        """A connection whose transactions are write transactions (BEGIN IMMEDIATE on
        SQLite, as the engine's)."""
        return self.engine.connect().execution_options(rukun_write=True)

    def step(self, connection: Connection, case_id: int, trigger: str | None = None) -> None:
        """Move ``case_id`` one state on (or fire ``trigger`` as a self-loop)."""
        state, seen, head, program = connection.execute(self.read, {"case_id": case_id}).one()
        if trigger is None:
            number = int(state[1:])
            trigger, dest = f"t{number}", f"s{number + 1}"
        else:
            dest = state
        at = utcnow()
        record: dict[str, Any] = {
            "case_id": case_id,
            "seq": seen + 1,
            "kind": "transition",
            "trigger": trigger,
            "source": state,
            "dest": dest,
            "actor": ACTOR,
            "role": ROLE,
            "at": at,
            "program": program,
            "definition_version": self.version,
            "definition_sha256": self.sha256,
            "payload": {},
            "guards": [],
            "documents": {},
            "rule": CURRENT_RULE,
            "effects": {"ledger": [], "links": {}, "due_at": None},
            "prev_hash": head,
        }
        record["hash"] = record_hash(record)
        moved = connection.execute(
            self.move,
            {
                "case_id": case_id,
                "seen": seen,
                "dest": dest,
                "seq": seen + 1,
                "at": at,
                "hash": record["hash"],
            },
        )
        assert moved.rowcount == 1, f"case {case_id} changed under the raw loop"
        connection.execute(self.append, record)

    def each_call_on_its_own(self, steps: Iterable[int], trigger: str | None = None) -> None:
        """Each step as a service call makes it (as each ``fire`` is): a connection from
        the pool, one transaction, the connection back."""
        for case_id in steps:
            with self.connect() as connection, connection.begin():
                self.step(connection, case_id, trigger)

    def each_in_own_transaction(self, steps: Iterable[int], trigger: str | None = None) -> None:
        """Each step its own transaction, all on one connection held by the loop."""
        with self.connect() as connection:
            for case_id in steps:
                with connection.begin():
                    self.step(connection, case_id, trigger)

    def in_groups(self, steps: Iterable[int], group: int) -> None:
        """Steps committed ``group`` at a time, each step in a savepoint of its own (how a
        bulk action commits on SQLite)."""
        todo = list(steps)
        with self.connect() as connection:
            for start in range(0, len(todo), group):
                with connection.begin():
                    for case_id in todo[start : start + group]:
                        connection.exec_driver_sql("SAVEPOINT step")
                        self.step(connection, case_id)
                        connection.exec_driver_sql("RELEASE step")

    def all_in_one_transaction(self, steps: Iterable[int], trigger: str | None = None) -> None:
        with self.connect() as connection, connection.begin():
            for case_id in steps:
                self.step(connection, case_id, trigger)
