"""The least privileges the application needs on PostgreSQL: the migration role owns the
tables; the role the app signs in with may read everything, write the projections, and
only append to the tables that are evidence (history, ledger, grant log, anchors, the
definitions log) and the sign-in log. It holds no UPDATE, DELETE or TRUNCATE there, so
even a compromised app server cannot rewrite the past; on the evidence tables the triggers
stop the owner too, until it drops them."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from engine.errors import InvalidData
from engine.store.models import Base
from engine.text import Label

#: Tables that are only ever appended to (database triggers refuse UPDATE and DELETE).
APPEND_ONLY_TABLES = (
    "transition_records",
    "ledger_entries",
    "grant_events",
    "chain_anchors",
    "anchor_heads",
    "definition_events",
    "draft_revisions",
)
#: Logs the app only appends to, without triggers: the owner may prune old rows.
APP_APPEND_ONLY_LOGS = ("sign_in_attempts",)


def app_role_statements(role: str, schema: str) -> list[str]:
    """The GRANTs that give ``role`` what the app needs in ``schema``, and nothing more."""
    for name, value in (("role", role), ("schema", schema)):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            what = {"role": "peran", "schema": "skema"}[name]
            raise InvalidData(
                Label(
                    id=f"{what} {value!r} bukan pengenal PostgreSQL yang sederhana",
                    en=f"{name} {value!r} is not a plain PostgreSQL identifier",
                )
            )
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT ON {schema}.alembic_version TO {role}",
    ]
    for table in Base.metadata.sorted_tables:
        rights = (
            "SELECT, INSERT"
            if table.name in APPEND_ONLY_TABLES or table.name in APP_APPEND_ONLY_LOGS
            else "SELECT, INSERT, UPDATE, DELETE"
        )
        statements.append(f"GRANT {rights} ON {schema}.{table.name} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    return statements


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Run :func:`app_role_statements` on ``engine`` (signed in as the tables' owner) for
    its current schema; returns the statements run. Run it again after every upgrade."""
    if engine.dialect.name != "postgresql":
        raise InvalidData(
            Label(
                id="peran basis data adalah urusan PostgreSQL; SQLite tidak memilikinya",
                en="database roles are a PostgreSQL matter; SQLite has none",
            )
        )
    with engine.begin() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        statements = app_role_statements(role, schema)
        for statement in statements:
            connection.execute(text(statement))
    return statements
