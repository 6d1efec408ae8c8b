"""Database triggers that make a table append-only, for the migrations: UPDATE and DELETE
are refused row by row, and on PostgreSQL TRUNCATE (which row triggers do not see) by a
statement trigger. ``op`` is Alembic's operations object of the running migration."""

from __future__ import annotations

from typing import Any


def protect(op: Any, table: str) -> None:
    """The database refuses UPDATE and DELETE on ``table``."""
    if op.get_bind().dialect.name == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{when.lower()} BEFORE {when} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION rukun_{table}_append_only() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION rukun_{table}_append_only()"
    )


def unprotect(op: Any, table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for when in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{when}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS rukun_{table}_append_only()")


def refuse_truncate(op: Any, tables: tuple[str, ...]) -> None:
    """PostgreSQL refuses TRUNCATE of ``tables`` (SQLite has no TRUNCATE)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION rukun_refuse_truncate() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME; END; "
        "$$ LANGUAGE plpgsql"
    )
    for table in tables:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION rukun_refuse_truncate()"
        )


def allow_truncate(op: Any, tables: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS rukun_refuse_truncate()")
