"""A write transaction on a bare connection, with an ORM session on it made only when
something asks for one: the firing's hot path writes with SQLAlchemy Core and needs the
ORM only for documents, links, ledger reads, guards and views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from engine.store.db import WRITE


class Transaction:
    """The connection of one write transaction and, on demand, a session joined to it
    (the session never commits: the transaction does, once :func:`write_transaction`'s
    block ends without an error)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

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
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite) on a connection of its own or
    on ``bind`` (a connection between transactions, which a bulk action reuses): committed
    when the block ends, rolled back on any error."""
    if isinstance(bind, Engine):
        with bind.connect() as connection, write_transaction(connection) as transaction:
            yield transaction
        return
    if not bind.get_execution_options().get("rukun_write"):
        bind.execution_options(**WRITE)
    transaction = Transaction(bind)
    try:
        with bind.begin():
            yield transaction
            transaction.flush()
    finally:
        transaction.close()
