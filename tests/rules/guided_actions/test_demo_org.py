"""The demo organisation shows every one of the 19 guided actions for its demo rep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo import build_demo_org
from rules.guided_actions import ActionType, evaluate, open_actions
from storage.models import ActionState, GuidedActionItem


def test_the_demo_rep_gets_all_19_action_types(session: Session, now: datetime) -> None:
    org = build_demo_org(session, now=now, seed=42)
    evaluate(session, now=now)
    types = set(
        session.scalars(
            select(GuidedActionItem.action_type).where(
                GuidedActionItem.user_id == org.rep_id,
                GuidedActionItem.state == ActionState.OPEN,
            )
        )
    )
    missing = {t.value for t in ActionType} - types
    assert missing == set()
    views = open_actions(session, user_id=org.rep_id, now=now)
    assert {v.type for v in views} == set(ActionType)
