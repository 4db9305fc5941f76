"""outbox rows: a reason code and its values, where the user was told "saving", dismissal

A failed write's reason is stored as a code and the values its sentence names (so each
reader gets it in their own language); ``last_error`` keeps the English. A click answered
"Saving to HubSpot…" leaves where that answer is, to be updated when the write settles.
A failure the user dismissed leaves their Home tab but stays failed for ``status``.

Revision ID: wb_truth_outbox_replies
Revises: edge_fixes_webhook_key
Create Date: 2026-11-30 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = 'wb_truth_outbox_replies'
down_revision: str | None = 'edge_fixes_webhook_key'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_writes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reason_values', sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column('reply_key', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('reply', sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(
            sa.Column('dismissed_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_outbox_writes_reply_key'), ['reply_key'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox_writes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_writes_reply_key'))
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('reply')
        batch_op.drop_column('reply_key')
        batch_op.drop_column('reason_values')
        batch_op.drop_column('reason_code')
