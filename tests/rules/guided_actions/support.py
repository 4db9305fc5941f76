"""Helpers for guided-action tests: run the engine, look at what the user would see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.guided_actions import RULES_BY_TYPE, ActionType, EvaluationReport, evaluate, explain
from storage.models import ActionState, GuidedAction, GuidedActionItem


def run(session: Session, action_type: ActionType, now: datetime) -> EvaluationReport:
    """Evaluate one rule alone (each rule is testable on its own)."""
    return evaluate(session, now=now, rules=[RULES_BY_TYPE[action_type]])


def open_objects(session: Session, action_type: ActionType, user_id: int | None = None) -> set[int]:
    """Ids of the records with an open item of this type (for one user, if given)."""
    query = select(GuidedActionItem.object_id).where(
        GuidedActionItem.action_type == action_type.value,
        GuidedActionItem.state == ActionState.OPEN,
    )
    if user_id is not None:
        query = query.where(GuidedActionItem.user_id == user_id)
    return set(session.scalars(query))


def last_item(
    session: Session, action_type: ActionType, object_id: int, user_id: int | None = None
) -> GuidedActionItem:
    query = select(GuidedActionItem).where(
        GuidedActionItem.action_type == action_type.value,
        GuidedActionItem.object_id == object_id,
    )
    if user_id is not None:
        query = query.where(GuidedActionItem.user_id == user_id)
    item = session.scalar(query.order_by(GuidedActionItem.id.desc()).limit(1))
    assert item is not None, f"no {action_type.value} item for {object_id}"
    session.refresh(item)
    return item


def actions_of(session: Session, action_type: ActionType) -> list[GuidedAction]:
    actions = list(
        session.scalars(
            select(GuidedAction)
            .where(GuidedAction.action_type == action_type.value)
            .order_by(GuidedAction.id)
        )
    )
    for action in actions:
        session.refresh(action)
    return actions


def check_creation(
    session: Session,
    now: datetime,
    action_type: ActionType,
    object_id: int,
    broken: str | None,
    *,
    user_id: int,
) -> None:
    """Created for ``user_id`` exactly when nothing is broken; ``explain`` (for that user)
    names exactly the broken criterion."""
    run(session, action_type, now)
    created = object_id in open_objects(session, action_type, user_id)
    verdict = explain(
        session, action_type=action_type, object_id=object_id, now=now, user_id=user_id
    )
    failing = [c.key for c in verdict.criteria if not c.holds]
    if broken is None:
        assert created, f"expected a {action_type.value} action; failing: {failing}"
        assert failing == []
    else:
        assert not created, f"{action_type.value} created although {broken} fails"
        assert failing == [broken]


def expired_by(
    session: Session,
    action_type: ActionType,
    object_id: int,
    at: datetime,
    user_id: int | None = None,
) -> str | None:
    """Evaluate at ``at``; the condition that expired the (user's) item, or None if open."""
    run(session, action_type, at)
    item = last_item(session, action_type, object_id, user_id)
    if item.state is ActionState.OPEN:
        return None
    assert item.state is ActionState.EXPIRED, item.state
    return item.closed_reason
