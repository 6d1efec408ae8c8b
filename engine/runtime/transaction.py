"""A write transaction on a bare connection, with an ORM session on it made only when
something asks for one: the firing's hot path writes with SQLAlchemy Core and needs the
ORM only for documents, links, ledger reads, guards and views.

On PostgreSQL the transaction is *deferred*: its connection is in autocommit mode and
``BEGIN`` goes to the server only before a write that is not the firing's one statement
(the session's first write, the ledger's rows, or :meth:`Transaction.begin`). Reads need
no transaction: each statement sees what is committed, as it would in a READ COMMITTED
transaction. A firing with nothing else to write is then the read (two with a guard that
reads the history) and one ``WITH moved AS (UPDATE … WHERE version = :seen) INSERT …``
statement, atomic on its own: two round trips instead of five. The optimistic lock in that
statement is what keeps a case from moving twice, as it is inside a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from engine.store.db import WRITE

#: The execution options of a connection whose write transactions are deferred.
DEFERRED = {"isolation_level": "AUTOCOMMIT", **WRITE}
#: The name of a case's savepoint inside a bulk action's transaction.
SAVEPOINT = "rukun_case"


class Transaction:
    """The connection of one write transaction and, on demand, a session joined to it
    (the session never commits: the transaction does, once :func:`write_transaction`'s
    block ends without an error)."""

    def __init__(self, connection: Connection, deferred: bool = False) -> None:
        self.connection = connection
        #: True while a deferred transaction has sent no BEGIN: each statement on the
        #: connection commits by itself.
        self.deferred = deferred
        self._session: Session | None = None

    def begin(self) -> None:
        """Make what follows one transaction on the server (a deferred one sends its
        ``BEGIN`` now; otherwise nothing to do)."""
        if self.deferred:
            self.deferred = False
            self.connection.exec_driver_sql("BEGIN")

    def before_write(self, more: bool) -> None:
        """The firing's write comes next: begin the transaction if other writes follow
        it (``more``) or the session holds changes to flush with it."""
        session = self._session
        if more or (session is not None and (session.new or session.dirty or session.deleted)):
            self.begin()

    def settle(self) -> None:
        """The deferred transaction's one write is done (it committed by itself): what
        follows is reads, which need no transaction."""
        self.deferred = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
            if self.deferred:
                event.listen(self._session, "before_flush", self._session_writes)
                event.listen(self._session, "do_orm_execute", self._session_executes)
        return self._session

    def _session_writes(self, *_: Any) -> None:
        # the session is about to write: that belongs in the transaction (its reads need
        # none: each sees what is committed, as in a READ COMMITTED transaction)
        self.begin()

    def _session_executes(self, state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            self.begin()

    def flush(self) -> None:
        """Send the session's pending changes, if a session was made and has any (its
        refusals, such as a unique constraint, come here rather than at commit)."""
        session = self._session
        if session is not None and (session.new or session.dirty or session.deleted):
            session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


@contextmanager
def write_transaction(bind: Engine | Connection) -> Iterator[Transaction]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite; deferred on a connection with
    :data:`DEFERRED`'s options) on a connection of its own or on ``bind`` (a connection
    between transactions, which a bulk action reuses): committed when the block ends,
    rolled back on any error. On a connection inside a transaction already (a bulk
    action's group on SQLite), a savepoint: released when the block ends, rolled back to
    on any error, the enclosing transaction going on."""
    if isinstance(bind, Engine):
        with bind.connect() as connection, write_transaction(connection) as transaction:
            yield transaction
        return
    if bind.in_transaction():
        with _savepoint(bind) as transaction:
            yield transaction
        return
    options = bind.get_execution_options()
    if not options.get("rukun_write"):
        bind.execution_options(**WRITE)
    transaction = Transaction(bind, deferred=options.get("isolation_level") == "AUTOCOMMIT")
    try:
        # in autocommit mode this BEGINs nothing; its COMMIT or ROLLBACK (the driver's)
        # reaches the server only if a BEGIN did
        with bind.begin():
            yield transaction
            transaction.flush()
    finally:
        transaction.close()


@contextmanager
def _savepoint(connection: Connection) -> Iterator[Transaction]:
    """A savepoint on ``connection``'s transaction, sent as plain SQL: SQLAlchemy's
    ``begin_nested`` compiles its two statements anew each time, which costs a bulk
    action's case more than its own statements."""
    transaction = Transaction(connection)
    connection.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
    try:
        yield transaction
        transaction.flush()
    except BaseException:
        # a connection that failed may refuse this too: the error that counts is the first,
        # and the enclosing transaction is rolled back with it
        with suppress(DBAPIError):
            connection.exec_driver_sql(f"ROLLBACK TO {SAVEPOINT}")
            connection.exec_driver_sql(f"RELEASE {SAVEPOINT}")
        raise
    else:
        connection.exec_driver_sql(f"RELEASE {SAVEPOINT}")
    finally:
        transaction.close()
