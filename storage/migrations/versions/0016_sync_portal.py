"""sync portal: the one HubSpot portal a store is kept in step with

A store synced from one portal and then pointed at another portal's token would hold two
CRMs' records side by side. The first sync records the portal id here; a sync against
another portal is refused.

Revision ID: sync_edges_portal
Revises: wb_truth_outbox_replies
Create Date: 2026-11-30 11:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = 'sync_edges_portal'
down_revision: str | None = 'wb_truth_outbox_replies'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_portal',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('portal_id', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sync_portal'))
    )


def downgrade() -> None:
    op.drop_table('sync_portal')
