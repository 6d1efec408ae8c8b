"""regions.contact: how residents reach a region's office, for the call centre

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:00:00

Set with ``rukun region contact CODE TEXT`` or the admin's regions screen; the app role
already may update regions (``rukun db grant-app-role``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("regions", sa.Column("contact", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_column("contact")
