"""Database engines, sessions and migrations.

SQLite runs in WAL mode with foreign keys on; write transactions there start with
``BEGIN IMMEDIATE`` so two writers serialise instead of failing half-way.

Alembic is imported only to migrate: every command checks the schema first, and loading
Alembic's migration scripts for that would cost each `rukun` invocation a third of a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import RukunError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration's revision, the schema this code expects (a test pins it to Alembic's
#: head: a new migration changes it too).
SCHEMA_REVISION = "0015"
#: Where Alembic records the revision a database is at (its default table).
VERSION_TABLE = "alembic_version"
WRITE = {"rukun_write": True}


class DatabaseNotReady(RukunError):
    """The schema is missing or older than this code."""

    kind = "database"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and IMMEDIATE write transactions."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


#: Seconds a pooled connection may have been idle and still be handed out without a ping.
PING_AFTER_IDLE = 5.0


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only if it sat idle for :data:`PING_AFTER_IDLE`
    seconds (a dead one is replaced; SQLAlchemy's pre-ping would cost every checkout a
    round trip, a third of a firing's). A connection that dies while in steady use (the
    server restarted) fails its next statement once; SQLAlchemy then discards every pooled
    connection made before, and the caller gets a clear error with nothing written."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # just connected, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("rukun_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error."""
    with factory() as session:
        session.connection(execution_options=WRITE)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` on ``engine``'s database."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revisions(connection: Connection) -> list[str]:
    """The revisions Alembic recorded in the database: none before the first migration."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def check_current(engine: Engine) -> None:
    """Raise :class:`DatabaseNotReady` unless the schema is at the newest migration."""
    with engine.connect() as connection:
        current = current_revisions(connection)
    if current != [SCHEMA_REVISION]:
        at = ", ".join(current)
        state = f"at revision {at}, code expects {SCHEMA_REVISION}" if at else "not initialised"
        raise DatabaseNotReady(
            f"database {engine.url.render_as_string()} is {state}: run `rukun db upgrade`"
        )
