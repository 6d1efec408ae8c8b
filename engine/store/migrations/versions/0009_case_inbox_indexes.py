"""wider indexes for the inbox and the case list at 100k cases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:30:00

``ix_cases_definition_version_state`` gains ``region_path``, ``due_at`` and ``updated_at``:
a kecamatan's or kelurahan's inbox seeks each (definition version, state) pair on the
scope's range of paths and finds the overdue cases in the index. ``ix_cases_updated_at``
gains the inbox's columns, so a kota's inbox walks it in order without reading the rows it
passes over. A firing rewrites both entries whatever their width (it changes ``state`` and
``updated_at``), so writes touch no more indexes than before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain index operations (no batch copy of the table)
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.create_index(
        "ix_cases_updated_at",
        "cases",
        ["updated_at", "id", "definition_version_id", "state", "due_at", "region_path"],
    )
    op.drop_index("ix_cases_definition_version_state", table_name="cases")
    op.create_index(
        "ix_cases_definition_version_state",
        "cases",
        ["definition_version_id", "state", "region_path", "due_at", "updated_at"],
        postgresql_ops={"region_path": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_cases_definition_version_state", table_name="cases")
    op.create_index(
        "ix_cases_definition_version_state", "cases", ["definition_version_id", "state"]
    )
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.create_index("ix_cases_updated_at", "cases", ["updated_at", "id"])
