"""Guided-action buttons as results a user reads: mark an item or an action done, dismiss
it, give feedback. The state changes are ``rules.guided_actions``' (conditional updates, so a
double click changes nothing twice); this module reads the payload's ids, turns that API's
exceptions into refusals and its "already closed" into who and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.guided_actions import (
    ActionNotFound,
    ActionView,
    NotAllowed,
    Outcome,
    complete_action,
    complete_item,
    dismiss_action,
    open_actions,
    record_feedback,
)
from rules.guided_actions import wording as say
from rules.op_result import OpResult, already, done, forbidden, invalid, not_found, parse_id
from rules.permissions import can_act_for
from rules.wording import describe_moment, person
from storage.models import ActionState, GuidedAction, GuidedActionItem, User

FEEDBACK_CHOICES = {"yes": True, "no": False}


def _already(
    session: Session, actor: User, outcome: Outcome, noun: str, *, now: datetime
) -> OpResult:
    """ "This suggestion was already dismissed by Dana at 9:14", or "…has expired"."""
    if outcome.state is ActionState.EXPIRED or outcome.closed_at is None:
        return already(say.EXPIRED.format(noun=noun), outcome.id)
    how = say.CLOSED_HOW.get(outcome.state, outcome.state.value)
    by = person(session, outcome.closed_by_id, actor=actor)
    when = describe_moment(outcome.closed_at, user_zone(session, actor), now=now)
    return already(
        say.ALREADY_CLOSED.format(noun=noun, how=how, by=by, when=when),
        outcome.id,
        by_name=by,
        at=outcome.closed_at,
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
    thanks = say.FEEDBACK_THANKS[helpful]
    if not changed:
        return already(say.FEEDBACK_AGAIN.format(thanks=thanks), action_id)
    return done(thanks, action_id)


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
