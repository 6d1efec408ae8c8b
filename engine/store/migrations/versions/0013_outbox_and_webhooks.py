"""outbox and webhooks: which history records were handed out, the registered webhooks
and each event's delivery to each of them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:20:00

The events are the history records (written with the change they record); the fan-out
starts after the newest record at upgrade time, so no past event is sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)
RECORD_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    state = op.create_table(
        "outbox_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("floor", RECORD_ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_state")),
    )
    newest = op.get_bind().execute(sa.text("SELECT max(id) FROM transition_records")).scalar()
    op.bulk_insert(state, [{"id": 1, "floor": newest or 0}])
    op.create_table(
        "dispatched_events",
        sa.Column("record_id", RECORD_ID, nullable=False),
        sa.Column("dispatched_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["transition_records.id"],
            name=op.f("fk_dispatched_events_record_id_transition_records"),
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_dispatched_events")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("program", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("removed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("record_id", RECORD_ID, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("leased_until", TIME, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["transition_records.id"],
            name=op.f("fk_webhook_deliveries_record_id_transition_records"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "record_id", name=op.f("uq_webhook_deliveries_webhook_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("dispatched_events")
    op.drop_table("outbox_state")
