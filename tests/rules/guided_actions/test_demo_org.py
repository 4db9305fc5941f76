"""The demo organisation shows every one of the 19 guided actions for its demo rep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType, open_actions
from storage.models import ActionState, GuidedActionItem
from tests.conftest import DemoTemplate


def test_the_demo_rep_gets_all_19_action_types(
    sqlite_engine: Engine, session: Session, now: datetime, _demo_template: DemoTemplate
) -> None:
    # The demo (seed 42) at `now`, evaluated: built once per session (it takes seconds).
    org = _demo_template.copy_into(sqlite_engine)
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
