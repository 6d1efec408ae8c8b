"""studio: drafts with revisions, the definitions log, change notes; 'retired' is 'superseded'

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.store.append_only import protect, unprotect

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("definition_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_note", sa.Text(), nullable=True))
    op.execute("UPDATE definition_versions SET status = 'superseded' WHERE status = 'retired'")
    op.create_table(
        "definition_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_drafts")),
    )
    op.create_index(op.f("ix_definition_drafts_program"), "definition_drafts", ["program"])
    op.create_table(
        "draft_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("saved_at", TIME, nullable=False),
        sa.Column("saved_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["definition_drafts.id"],
            name=op.f("fk_draft_revisions_draft_id_definition_drafts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_revisions")),
        sa.UniqueConstraint("draft_id", "revision", name=op.f("uq_draft_revisions_draft_id")),
    )
    op.create_index(op.f("ix_draft_revisions_draft_id"), "draft_revisions", ["draft_id"])
    op.create_table(
        "definition_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("program", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_events")),
    )
    op.create_index(op.f("ix_definition_events_program"), "definition_events", ["program"])
    protect(op, "definition_events")
    protect(op, "draft_revisions")


def downgrade() -> None:
    unprotect(op, "draft_revisions")
    unprotect(op, "definition_events")
    op.drop_table("definition_events")
    op.drop_table("draft_revisions")
    op.drop_table("definition_drafts")
    op.execute("UPDATE definition_versions SET status = 'retired' WHERE status = 'superseded'")
    with op.batch_alter_table("definition_versions", schema=None) as batch_op:
        batch_op.drop_column("change_note")
