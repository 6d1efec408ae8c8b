"""indexes for the case list and the inbox at scale

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        # PostgreSQL serves a prefix LIKE from a btree only with the pattern operator class
        batch_op.drop_index("ix_cases_region_path")
        batch_op.create_index(
            "ix_cases_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "varchar_pattern_ops"},
        )
        batch_op.create_index("ix_cases_updated_at", ["updated_at", "id"], unique=False)
        batch_op.create_index(
            "ix_cases_definition_version_state", ["definition_version_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_definition_version_state")
        batch_op.drop_index("ix_cases_updated_at")
        batch_op.drop_index("ix_cases_region_path")
        batch_op.create_index("ix_cases_region_path", ["region_path"], unique=False)
