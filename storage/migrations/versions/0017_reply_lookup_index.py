"""reply lookup index: the inbound emails threaded onto an email, by kind and time

Rule 19 (follow up with the buyer) asks, for each opened email, whether an inbound email
threaded onto it (in_reply_to) has arrived by now. Without an index led by in_reply_to_id,
SQLite answered that by walking every email by kind and time, once per email per deal
(~15 s on the demo organisation). An index on in_reply_to_id alone was not taken by
SQLite's planner without statistics (kind + time looked as good); with kind, direction
and time behind it the probe matches every term and is covering.

Revision ID: rule_speed_reply_lookup
Revises: sync_edges_portal
Create Date: 2026-11-30 12:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = 'rule_speed_reply_lookup'
down_revision: str | None = 'sync_edges_portal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_activities_reply_lookup',
        'activities',
        ['in_reply_to_id', 'kind', 'direction', 'occurred_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_activities_reply_lookup', table_name='activities')
