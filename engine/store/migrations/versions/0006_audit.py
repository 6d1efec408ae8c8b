"""audit: the chain covers ledger, links and case facts (rule 2); grant history; anchors;
the ledger is append-only; PostgreSQL refuses TRUNCATE of every append-only table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00

Records written before this migration keep ``rule`` 1 and stay verifiable under the old
rule (their hash covers neither the ledger nor the links; verification says so). Grants
held now are logged as given when their user was created, with ``by`` naming this
migration: the grant history before it is reconstructed, not observed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.store.append_only import allow_truncate, protect, refuse_truncate, unprotect

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)

#: Tables already append-only before this migration, and the ones it makes so.
APPEND_ONLY = ("transition_records", "definition_events", "draft_revisions")
NEW_APPEND_ONLY = ("ledger_entries", "grant_events", "chain_anchors", "anchor_heads")


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy): SQLite keeps the history's triggers
    op.add_column(
        "transition_records", sa.Column("rule", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("transition_records", sa.Column("effects", JSON, nullable=True))
    op.create_table(
        "grant_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_events")),
    )
    op.create_index(op.f("ix_grant_events_at"), "grant_events", ["at"])
    op.create_index(op.f("ix_grant_events_user_name"), "grant_events", ["user_name"])
    op.execute(
        "INSERT INTO grant_events (at, user_name, change, role, region_code, by) "
        "SELECT users.created_at, users.name, 'granted', role_grants.role, "
        "role_grants.region_code, 'migration 0006' "
        "FROM role_grants JOIN users ON users.id = role_grants.user_id "
        "ORDER BY users.id, role_grants.id"
    )
    op.execute(
        "INSERT INTO grant_events (at, user_name, change, by) "
        "SELECT CURRENT_TIMESTAMP, name, 'deactivated', 'migration 0006' FROM users "
        "WHERE NOT active"
    )
    op.create_table(
        "chain_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_anchors")),
        sa.UniqueConstraint("root", name=op.f("uq_chain_anchors_root")),
    )
    op.create_table(
        "anchor_heads",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["chain_anchors.id"], name=op.f("fk_anchor_heads_anchor_id_chain_anchors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anchor_heads")),
        sa.UniqueConstraint("anchor_id", "case_id", name=op.f("uq_anchor_heads_anchor_id")),
    )
    op.create_index(op.f("ix_anchor_heads_anchor_id"), "anchor_heads", ["anchor_id"])
    for table in NEW_APPEND_ONLY:
        protect(op, table)
    refuse_truncate(op, (*APPEND_ONLY, *NEW_APPEND_ONLY))


def downgrade() -> None:
    allow_truncate(op, (*APPEND_ONLY, *NEW_APPEND_ONLY))
    for table in NEW_APPEND_ONLY:
        unprotect(op, table)
    op.drop_table("anchor_heads")
    op.drop_table("chain_anchors")
    op.drop_table("grant_events")
    op.drop_column("transition_records", "effects")
    op.drop_column("transition_records", "rule")
