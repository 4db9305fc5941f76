"""unique answers (feedback, emails in any case); a Slack send budget shared by replicas

Revision ID: 0009
Revises: 0013
Create Date: 2026-11-30 05:35:00.000000

Feedback rows that concurrent clicks duplicated are merged first (the newest row is kept).
Users whose emails differ only in case cannot be merged automatically: the upgrade stops,
naming them, and changes nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError


revision: str = '0009'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    clashes = bind.execute(
        sa.text(
            "SELECT lower(email), min(external_id), max(external_id) FROM users "
            "GROUP BY lower(email) HAVING count(*) > 1 ORDER BY 1"
        )
    ).all()
    if clashes:
        named = "; ".join(f"{email}: users {a!r} and {b!r}" for email, a, b in clashes[:10])
        # CommandError: `salesbot db upgrade` says it in one line (exit 2), no traceback.
        raise CommandError(
            "users share an email address in different case (" + named + "). "
            "Give each person one address, then run the upgrade again."
        )
    # Keep the most recent answer of each (user, action, item).
    bind.execute(
        sa.text(
            "DELETE FROM guided_action_feedback WHERE id NOT IN ("
            " SELECT max(id) FROM guided_action_feedback"
            " GROUP BY user_id, action_id, coalesce(item_id, 0))"
        )
    )
    with op.batch_alter_table('guided_action_feedback', schema=None) as batch_op:
        batch_op.create_index(
            'uq_guided_action_feedback_answer',
            ['user_id', 'action_id', sa.text('coalesce(item_id, 0)')],
            unique=True,
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('uq_users_email_lower', [sa.text('lower(email)')], unique=True)
    op.create_table('slack_send_budgets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('next_slot', sa.Float(), nullable=False),
    sa.Column('held_until', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_slack_send_budgets'))
    )


def downgrade() -> None:
    op.drop_table('slack_send_budgets')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_email_lower')
    with op.batch_alter_table('guided_action_feedback', schema=None) as batch_op:
        batch_op.drop_index('uq_guided_action_feedback_answer')
