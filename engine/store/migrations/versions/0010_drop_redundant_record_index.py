"""drop ix_transition_records_case_id, which the unique (case_id, seq) index makes redundant

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:40:00

Every lookup of a case's history (and the foreign key's checks) can use the unique index
on ``(case_id, seq)``, whose first column is ``case_id``; the single-column index only cost
every appended record one more index entry to write.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_transition_records_case_id", table_name="transition_records")


def downgrade() -> None:
    op.create_index("ix_transition_records_case_id", "transition_records", ["case_id"])
