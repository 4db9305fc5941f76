"""Guided actions' writes: check an item off, complete or dismiss an action, give feedback.

Two layers in one place. The state changes (:func:`complete_item`, :func:`complete_action`,
:func:`dismiss_action`, :func:`record_feedback`) re-check that the actor may act for the
action's owner (:func:`rules.permissions.can_act_for`) and are idempotent: a conditional UPDATE
changes a row only while it is still open, so a double click (or a Slack retry) changes nothing
twice and reports who closed it and when. The buttons' writes below them
(:func:`complete_action_item`, :func:`complete_guided_action`, :func:`dismiss_guided_action`,
:func:`give_feedback`) take the payload's raw values and return an :class:`OpResult` like every
other write: refusals instead of exceptions, "already dismissed by Dana at 9:14" instead of a
bare ``changed=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.guided_actions import wording as say
from rules.guided_actions.service import (
    ActionNotFound,
    ActionView,
    NotAllowed,
    get_action,
    open_actions,
)
from rules.op_result import OpResult, already, done, forbidden, invalid, not_found, parse_id
from rules.permissions import can_act_for
from rules.translatable import phrase
from rules.wording import describe_moment, done_by, person
from storage.models import ActionFeedback, ActionState, GuidedAction, GuidedActionItem, User
from storage.types import utc

# --- the state changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The result of complete/dismiss: ``changed`` is False when it was already closed, and
    then ``state``/``closed_by_id``/``closed_at`` say how, by whom and when."""

    id: int
    changed: bool
    state: ActionState
    closed_by_id: int | None
    closed_at: datetime | None
    action_state: ActionState


def _checked(session: Session, actor: User, owner_id: int) -> None:
    if not can_act_for(session, actor, owner_id):
        raise NotAllowed(f"{actor.name} may not act on guided actions of user {owner_id}")


def complete_item(session: Session, *, item_id: int, actor: User, now: datetime) -> Outcome:
    """Mark one item done (the check mark); the action is done when no item is left open.

    Raises:
        ActionNotFound: no such item.
        NotAllowed: ``actor`` may not act for the action's owner.
    """
    now = utc(now)
    item = session.get(GuidedActionItem, item_id)
    if item is None:
        raise ActionNotFound(f"no guided action item {item_id}")
    _checked(session, actor, item.user_id)
    changed = _close_items(
        session, [GuidedActionItem.id == item_id], ActionState.DONE, actor=actor, now=now
    )
    if changed:
        _close_action_if_empty(session, item.action_id, actor=actor, now=now)
    session.refresh(item)
    action = get_action(session, action_id=item.action_id)
    session.refresh(action)
    return Outcome(
        id=item.id,
        changed=bool(changed),
        state=item.state,
        closed_by_id=item.closed_by_id,
        closed_at=item.closed_at,
        action_state=action.state,
    )


def complete_action(session: Session, *, action_id: int, actor: User, now: datetime) -> Outcome:
    """Mark an action and all its open items done.

    Raises:
        ActionNotFound: no such action.
        NotAllowed: ``actor`` may not act for the action's owner.
    """
    return _close_action(session, action_id, ActionState.DONE, actor=actor, now=now)


def dismiss_action(session: Session, *, action_id: int, actor: User, now: datetime) -> Outcome:
    """Dismiss an action and its open items; it comes back only for a new episode.

    Raises:
        ActionNotFound: no such action.
        NotAllowed: ``actor`` may not act for the action's owner.
    """
    return _close_action(session, action_id, ActionState.DISMISSED, actor=actor, now=now)


def _close_action(
    session: Session, action_id: int, state: ActionState, *, actor: User, now: datetime
) -> Outcome:
    now = utc(now)
    action = get_action(session, action_id=action_id)
    _checked(session, actor, action.user_id)
    changed = session.execute(
        update(GuidedAction)
        .where(GuidedAction.id == action_id, GuidedAction.state == ActionState.OPEN)
        .values(state=state, closed_at=now, closed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed:
        _close_items(
            session, [GuidedActionItem.action_id == action_id], state, actor=actor, now=now
        )
    session.refresh(action)
    return Outcome(
        id=action.id,
        changed=bool(changed),
        state=action.state,
        closed_by_id=action.closed_by_id,
        closed_at=action.closed_at,
        action_state=action.state,
    )


def _close_items(
    session: Session, where: list[Any], state: ActionState, *, actor: User, now: datetime
) -> int:
    result = session.execute(
        update(GuidedActionItem)
        .where(*where, GuidedActionItem.state == ActionState.OPEN)
        .values(state=state, closed_at=now, closed_by_id=actor.id, closed_reason=state.value)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _close_action_if_empty(session: Session, action_id: int, *, actor: User, now: datetime) -> None:
    left = session.scalar(
        select(func.count())
        .select_from(GuidedActionItem)
        .where(GuidedActionItem.action_id == action_id, GuidedActionItem.state == ActionState.OPEN)
    )
    if left == 0:
        session.execute(
            update(GuidedAction)
            .where(GuidedAction.id == action_id, GuidedAction.state == ActionState.OPEN)
            .values(state=ActionState.DONE, closed_at=now, closed_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )


def record_feedback(
    session: Session,
    *,
    action_id: int,
    user_id: int,
    helpful: bool,
    now: datetime,
    item_id: int | None = None,
) -> bool:
    """Store "Yes, keep it up!" (``helpful=True``) or "Not really"; return whether it changed.

    One answer per user and action (or item): answering again replaces it, the same answer
    twice changes nothing.

    Raises:
        ActionNotFound: no such action (or the item is not one of its items).
        NotAllowed: the user may not act for the action's owner.
    """
    now = utc(now)
    action = get_action(session, action_id=action_id)
    user = session.get(User, user_id)
    if user is None:
        raise ActionNotFound(f"no user {user_id}")
    _checked(session, user, action.user_id)
    if item_id is not None:
        item = session.get(GuidedActionItem, item_id)
        if item is None or item.action_id != action_id:
            raise ActionNotFound(f"item {item_id} is not part of action {action_id}")
    existing = _feedback_of(session, user_id=user_id, action_id=action_id, item_id=item_id)
    if existing is None:
        try:
            # A savepoint: a concurrent click may store the same answer first (the unique
            # index on user, action and item refuses the second); then theirs is the answer.
            with session.begin_nested():
                session.add(
                    ActionFeedback(
                        user_id=user_id,
                        action_id=action_id,
                        item_id=item_id,
                        action_type=action.action_type,
                        helpful=helpful,
                        created_at=now,
                    )
                )
            return True
        except IntegrityError:
            existing = _feedback_of(session, user_id=user_id, action_id=action_id, item_id=item_id)
            if existing is None:
                raise
    if existing.helpful == helpful:
        return False
    existing.helpful = helpful
    existing.updated_at = now
    session.flush()
    return True


def _feedback_of(
    session: Session, *, user_id: int, action_id: int, item_id: int | None
) -> ActionFeedback | None:
    return session.scalar(
        select(ActionFeedback).where(
            ActionFeedback.user_id == user_id,
            ActionFeedback.action_id == action_id,
            ActionFeedback.item_id.is_(None)
            if item_id is None
            else ActionFeedback.item_id == item_id,
        )
    )


# --- the buttons ---------------------------------------------------------------------------


FEEDBACK_CHOICES = {"yes": True, "no": False}


def _already(
    session: Session, actor: User, outcome: Outcome, noun: str, *, now: datetime
) -> OpResult:
    """ "This suggestion was already dismissed by Dana at 9:14", or "…has expired"."""
    if outcome.state is ActionState.EXPIRED or outcome.closed_at is None:
        return already(say.EXPIRED[noun], outcome.id)
    return already(
        say.ALREADY_CLOSED.get((noun, outcome.state), say.CLOSED[noun]),
        outcome.id,
        by_name=person(session, outcome.closed_by_id, actor=actor),
        at=outcome.closed_at,
        by=done_by(session, outcome.closed_by_id, actor=actor),
        when=describe_moment(outcome.closed_at, user_zone(session, actor), now=now),
    )


def complete_action_item(
    session: Session, actor: User, value: object, *, now: datetime
) -> OpResult:
    """The check mark on one item; ``value`` is the button's ``"<action id>:<item id>"``.

    The item must belong to that action; the action is done when its last item is.
    """
    action_raw, _, item_raw = value.partition(":") if isinstance(value, str) else ("", "", "")
    action_id, item_id = parse_id(action_raw), parse_id(item_raw)
    if action_id is None or item_id is None:
        return invalid(say.NO_ID)
    item = session.get(GuidedActionItem, item_id)
    if item is None or item.action_id != action_id:
        return not_found(say.SUGGESTION, item_id)
    try:
        outcome = complete_item(session, item_id=item_id, actor=actor, now=now)
    except ActionNotFound:
        return not_found(say.SUGGESTION, item_id)
    except NotAllowed:
        return forbidden(say.NOT_YOURS, item_id)
    if not outcome.changed:
        return _already(session, actor, outcome, say.ITEM, now=now)
    if outcome.action_state is ActionState.DONE:
        return done(say.LAST_ITEM_DONE, item_id)
    return done(say.ITEM_DONE, item_id)


def complete_guided_action(
    session: Session, actor: User, value: object, *, now: datetime
) -> OpResult:
    """Mark a whole action (all its open items) done; ``value`` is the action id."""
    return _close(session, actor, value, now=now, dismiss=False)


def dismiss_guided_action(
    session: Session, actor: User, value: object, *, now: datetime
) -> OpResult:
    """Dismiss an action; it comes back only for a new episode (a new reply, meeting…)."""
    return _close(session, actor, value, now=now, dismiss=True)


def _close(
    session: Session, actor: User, value: object, *, now: datetime, dismiss: bool
) -> OpResult:
    action_id = parse_id(value)
    if action_id is None:
        return invalid(say.NO_ID)
    close = dismiss_action if dismiss else complete_action
    try:
        outcome = close(session, action_id=action_id, actor=actor, now=now)
    except ActionNotFound:
        return not_found(say.SUGGESTION, action_id)
    except NotAllowed:
        return forbidden(say.NOT_YOURS, action_id)
    if not outcome.changed:
        return _already(session, actor, outcome, say.SUGGESTION, now=now)
    return done(say.ACTION_DISMISSED if dismiss else say.ACTION_DONE, action_id)


def give_feedback(session: Session, actor: User, value: object, *, now: datetime) -> OpResult:
    """ "Yes, keep it up!" or "Not really"; ``value`` is ``"<action id>:yes|no"``.

    One answer per user and action: a new answer replaces the old one; the same answer
    twice changes nothing.
    """
    action_raw, _, choice = value.partition(":") if isinstance(value, str) else ("", "", "")
    action_id = parse_id(action_raw)
    if action_id is None or choice not in FEEDBACK_CHOICES:
        return invalid(say.UNKNOWN_FEEDBACK)
    if session.get(GuidedAction, action_id) is None:
        return not_found(say.SUGGESTION, action_id)
    helpful = FEEDBACK_CHOICES[choice]
    try:
        changed = record_feedback(
            session, action_id=action_id, user_id=actor.id, helpful=helpful, now=now
        )
    except ActionNotFound:
        return not_found(say.SUGGESTION, action_id)
    except NotAllowed:
        return forbidden(say.NOT_YOURS, action_id)
    if not changed:
        thanks = phrase(say.FEEDBACK_THANKS[helpful])
        return already(say.FEEDBACK_AGAIN, action_id, thanks=thanks)
    return done(say.FEEDBACK_THANKS[helpful], action_id)


def action_for_queue(
    session: Session, actor: User, value: object, *, now: datetime
) -> tuple[ActionView | None, OpResult | None]:
    """The open action ``value`` names, with its open items, if ``actor`` may work on it
    (the primary link "starts a queue of its items"); otherwise None and what to say."""
    action_id = parse_id(value)
    if action_id is None:
        return None, invalid(say.NO_ID)
    action = session.get(GuidedAction, action_id)
    if action is None:
        return None, not_found(say.SUGGESTION, action_id)
    if not can_act_for(session, actor, action.user_id):
        return None, forbidden(say.NOT_YOURS, action_id)
    if action.state is not ActionState.OPEN:
        closed = Outcome(
            id=action.id,
            changed=False,
            state=action.state,
            closed_by_id=action.closed_by_id,
            closed_at=action.closed_at,
            action_state=action.state,
        )
        return None, _already(session, actor, closed, say.SUGGESTION, now=now)
    views = open_actions(session, user_id=action.user_id, now=now, include_muted=True)
    view = next((v for v in views if v.id == action_id), None)
    if view is None:
        return None, already(say.NOTHING_LEFT, action_id)
    return view, None
