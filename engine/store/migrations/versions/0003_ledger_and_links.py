"""ledger entries and case links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tranche", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=400), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_ledger_entries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_case_id"), "ledger_entries", ["case_id"])
    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases")),
        sa.ForeignKeyConstraint(["target_id"], ["cases.id"], name=op.f("fk_case_links_target_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint("case_id", "field", "target_id", name=op.f("uq_case_links_case_id")),
    )
    op.create_index(op.f("ix_case_links_case_id"), "case_links", ["case_id"])
    op.create_index(op.f("ix_case_links_target_id"), "case_links", ["target_id"])


def downgrade() -> None:
    op.drop_table("case_links")
    op.drop_table("ledger_entries")
