"""webhook events: recognise a redelivery by the whole event, not by its eventId alone

HubSpot's eventId is not unique across portals and apps: two different events with one id
were both meant to be applied. Rows kept before this revision get a key of their own.

Revision ID: edge_fixes_webhook_key
Revises: 0009
Create Date: 2026-11-30 09:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'edge_fixes_webhook_key'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE sync_webhook_events SET dedupe_key = 'before-0014:' || CAST(id AS VARCHAR(20))"
    )
    with op.batch_alter_table('sync_webhook_events', schema=None) as batch_op:
        batch_op.alter_column('dedupe_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_sync_webhook_events_event_id', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_sync_webhook_events_dedupe_key'), ['dedupe_key']
        )


def downgrade() -> None:
    # Keep one row per event id: the unique constraint on event_id comes back.
    op.execute(
        "DELETE FROM sync_webhook_events WHERE id NOT IN "
        "(SELECT MIN(id) FROM sync_webhook_events GROUP BY event_id)"
    )
    with op.batch_alter_table('sync_webhook_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sync_webhook_events_dedupe_key', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_sync_webhook_events_event_id'), ['event_id']
        )
        batch_op.drop_column('dedupe_key')
