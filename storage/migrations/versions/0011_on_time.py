"""guided actions on time: evaluation clock, boundary indexes, nudges

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0011'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ('activities', 'ix_activities_kind_starts', ['kind', 'starts_at']),
    ('activities', 'ix_activities_kind_ends', ['kind', 'ends_at']),
    ('activities', 'ix_activities_replied', ['replied_at']),
    ('activities', 'ix_activities_opened', ['opened_at']),
    ('activities', 'ix_activities_clicked', ['clicked_at']),
    ('activities', 'ix_activities_completed', ['completed_at']),
    ('contacts', 'ix_contacts_owner_assigned', ['owner_assigned_at']),
    ('leads', 'ix_leads_owner_assigned', ['owner_assigned_at']),
    ('deals', 'ix_deals_created', ['created_at']),
    ('guided_action_items', 'ix_guided_action_items_age', ['action_type', 'state', 'created_at']),
]


def upgrade() -> None:
    op.create_table('guided_action_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluated_through', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('full_pass_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guided_action_clock'))
    )
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_table('published_homes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=2000), nullable=False),
    sa.Column('published_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_published_homes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_published_homes'))
    )
    op.create_index(op.f('ix_published_homes_published_at'), 'published_homes', ['published_at'], unique=False)
    op.create_table('nudge_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=False),
    sa.Column('quiet_end', sa.Time(), nullable=False),
    sa.Column('weekends', sa.Boolean(), nullable=False),
    sa.Column('max_per_day', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_nudge_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_nudge_settings'))
    )
    op.create_table('nudge_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('bundle', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('claimed', 'sent', 'failed', 'in_digest', name='nudgestatus', native_enum=False, length=32), nullable=False),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=True),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['guided_actions.id'], name=op.f('fk_nudge_claims_action_id_guided_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_nudge_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nudge_claims')),
    sa.UniqueConstraint('action_id', name=op.f('uq_nudge_claims_action_id'))
    )
    op.create_index('ix_nudge_claims_user_date', 'nudge_claims', ['user_id', 'local_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_nudge_claims_user_date', table_name='nudge_claims')
    op.drop_table('nudge_claims')
    op.drop_table('nudge_settings')
    op.drop_index(op.f('ix_published_homes_published_at'), table_name='published_homes')
    op.drop_table('published_homes')
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('guided_action_clock')
