"""Guided-action buttons, and writes from other buttons that the guided actions see at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType, evaluate
from rules.guided_actions.ops import (
    complete_action_item,
    complete_guided_action,
    dismiss_guided_action,
    give_feedback,
)
from rules.meetings.ops import log_call_outcome
from rules.op_result import OpStatus
from rules.tasks.ops import delete_task
from storage.models import (
    ActionFeedback,
    ActionState,
    Activity,
    GuidedAction,
    GuidedActionItem,
    Role,
    TaskPriority,
    User,
)
from tests.builders import CRM


def _open_action(session: Session, action_type: ActionType, user_id: int) -> GuidedAction | None:
    session.expire_all()
    return session.scalar(
        select(GuidedAction).where(
            GuidedAction.action_type == action_type.value,
            GuidedAction.user_id == user_id,
            GuidedAction.state == ActionState.OPEN,
        )
    )


def _call_action(
    session: Session, crm: CRM, now: datetime, **user: object
) -> tuple[User, Activity, GuidedAction, GuidedActionItem]:
    rep = crm.user(**user)
    call = crm.call(rep, subject="Call Acme")
    evaluate(session, now=now)
    action = _open_action(session, ActionType.LOG_CALL_OUTCOME, rep.id)
    assert action is not None and len(action.items) == 1
    return rep, call, action, action.items[0]


def test_logging_the_last_call_outcome_removes_log_call_outcome(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, call, _action, item = _call_action(session, crm, now)

    assert log_call_outcome(session, rep, call.id, disposition="Connected", now=now).changed

    assert _open_action(session, ActionType.LOG_CALL_OUTCOME, rep.id) is None
    session.refresh(item)
    assert item.state is ActionState.EXPIRED


def test_deleting_a_task_expires_the_items_pointing_at_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    task = crm.task(rep, priority=TaskPriority.HIGH, due_at=now + timedelta(hours=1))
    evaluate(session, now=now)
    action = _open_action(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id)
    assert action is not None
    item_id = action.items[0].id

    assert delete_task(session, rep, task.id, now=now).changed

    assert _open_action(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id) is None
    item = session.get(GuidedActionItem, item_id)
    assert item is not None and item.state is ActionState.EXPIRED


def test_check_mark_on_an_item_then_again(session: Session, crm: CRM, now: datetime) -> None:
    rep, _call, action, item = _call_action(session, crm, now)
    value = f"{action.id}:{item.id}"

    result = complete_action_item(session, rep, value, now=now)
    assert result.message == "Done: item checked off, and that was the last one."
    session.refresh(action)
    assert action.state is ActionState.DONE

    again = complete_action_item(session, rep, value, now=now)
    assert again.status is OpStatus.ALREADY
    assert again.message == "This item was already done by you at 15:30."


def test_dismissed_elsewhere_says_who_and_when(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, role=Role.MANAGER)
    rep, _call, action, _item = _call_action(
        session, crm, now, team_id=team.id, timezone="America/New_York"
    )
    at_914 = datetime(2026, 3, 11, 13, 14, tzinfo=UTC)
    assert dismiss_guided_action(session, dana, str(action.id), now=at_914).changed

    late = complete_guided_action(session, rep, str(action.id), now=now)
    assert late.status is OpStatus.ALREADY
    assert late.message == "This suggestion was already dismissed by Dana at 9:14."


def test_someone_elses_suggestion_missing_and_junk_ids_change_nothing(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, _call, action, item = _call_action(session, crm, now)
    other = crm.user(name="Ben")
    other_call = crm.call(other)
    evaluate(session, now=now)
    others = _open_action(session, ActionType.LOG_CALL_OUTCOME, other.id)
    assert others is not None and other_call.id

    assert complete_action_item(
        session, rep, f"{others.id}:{others.items[0].id}", now=now
    ).status is (OpStatus.FORBIDDEN)
    assert dismiss_guided_action(session, rep, str(others.id), now=now).status is OpStatus.FORBIDDEN
    assert give_feedback(session, rep, f"{others.id}:yes", now=now).status is OpStatus.FORBIDDEN
    # An item of another action than the one the button names.
    assert complete_action_item(session, other, f"{others.id}:{item.id}", now=now).status is (
        OpStatus.NOT_FOUND
    )
    for junk in (None, "", "x", f"{action.id}", f"{action.id}:", ":5", "1:2:3"):
        assert complete_action_item(session, rep, junk, now=now).status is OpStatus.INVALID
    for junk in (None, "", "-1", "abc"):
        assert dismiss_guided_action(session, rep, junk, now=now).status is OpStatus.INVALID
    assert dismiss_guided_action(session, rep, "987654", now=now).status is OpStatus.NOT_FOUND
    assert give_feedback(session, rep, f"{action.id}:maybe", now=now).status is OpStatus.INVALID

    session.expire_all()
    assert _open_action(session, ActionType.LOG_CALL_OUTCOME, rep.id) is not None
    assert _open_action(session, ActionType.LOG_CALL_OUTCOME, other.id) is not None
    assert session.scalars(select(ActionFeedback)).all() == []


def test_feedback_once_per_user_and_changeable(session: Session, crm: CRM, now: datetime) -> None:
    rep, _call, action, _item = _call_action(session, crm, now)

    assert give_feedback(session, rep, f"{action.id}:yes", now=now).changed
    assert give_feedback(session, rep, f"{action.id}:yes", now=now).status is OpStatus.ALREADY
    changed = give_feedback(session, rep, f"{action.id}:no", now=now)
    assert changed.message == "Thanks for telling us: you'll see fewer suggestions like this."
    rows = session.scalars(select(ActionFeedback)).all()
    assert [(r.user_id, r.helpful) for r in rows] == [(rep.id, False)]


def test_five_identical_feedback_clicks_at_once_store_one_answer(
    any_engine: Engine, now: datetime
) -> None:
    """ "Yes, keep it up!" clicked five times at once: one answer, the rest "already said"."""
    with Session(any_engine) as session:
        crm = CRM(session, now)
        rep = crm.user()
        crm.call(rep, starts_at=now - timedelta(hours=2))
        evaluate(session, now=now)
        action_id = session.scalars(select(GuidedAction.id)).one()
        rep_id = rep.id
        session.commit()

    clicks = 5
    together = threading.Barrier(clicks)

    def click() -> OpStatus:
        with Session(any_engine) as session:
            actor = session.get(User, rep_id)
            assert actor is not None
            together.wait()
            result = give_feedback(session, actor, f"{action_id}:yes", now=now)
            session.commit()
            return result.status

    with ThreadPoolExecutor(clicks) as pool:
        statuses = list(pool.map(lambda _: click(), range(clicks)))

    assert sorted(statuses) == sorted([OpStatus.DONE] + [OpStatus.ALREADY] * (clicks - 1))
    with Session(any_engine) as session:
        assert session.scalars(select(ActionFeedback.helpful)).all() == [True]
