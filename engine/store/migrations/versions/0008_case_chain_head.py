"""cases.head_hash: the hash of the case's last history record, kept on the case row

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 10:00:00

A firing appends the record after ``head_hash`` (its sequence number is the case's
``version`` plus one: every record bumps the version) instead of reading the last record
back. Verification compares the column with the history like every other projected
column, so a history cut short after its last record now shows too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy): SQLite keeps the references and triggers it has
    op.add_column("cases", sa.Column("head_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE cases SET head_hash = ("
        "SELECT transition_records.hash FROM transition_records "
        "WHERE transition_records.case_id = cases.id "
        "ORDER BY transition_records.seq DESC LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_column("cases", "head_hash")
