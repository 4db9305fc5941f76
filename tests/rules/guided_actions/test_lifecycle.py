"""Completing, dismissing, feedback, ranking, muting, narrowed re-evaluation, and the engine
end to end on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from rules.guided_actions import (
    ActionNotFound,
    ActionType,
    NotAllowed,
    ObjectRef,
    RefKind,
    complete_action,
    complete_item,
    dismiss_action,
    evaluate,
    mute_action_type,
    open_actions,
    record_feedback,
    unmute_action_type,
)
from storage.models import (
    ActionFeedback,
    ActionState,
    Activity,
    Contact,
    EmailDirection,
    GuidedAction,
    Role,
    User,
    UserPreferences,
)
from tests.builders import CRM
from tests.rules.guided_actions.support import actions_of, last_item, open_objects, run

T = ActionType
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _calls(crm: CRM, now: datetime, rep: User, count: int) -> list[Activity]:
    return [crm.call(rep, starts_at=now - 2 * HOUR - n * MINUTE) for n in range(count)]


# --- completing and dismissing ---------------------------------------------------------------


def test_completing_items_is_idempotent_and_says_who_did_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    rep = crm.user(team_id=team.id)
    manager = crm.user(team_id=team.id, role=Role.MANAGER)
    calls = _calls(crm, now, rep, 2)
    run(session, T.LOG_CALL_OUTCOME, now)
    [view] = open_actions(session, user_id=rep.id, now=now)
    first, second = view.items

    done = complete_item(session, item_id=first.id, actor=manager, now=now)
    assert done.changed and done.state is ActionState.DONE
    again = complete_item(session, item_id=first.id, actor=rep, now=now + MINUTE)
    assert not again.changed
    assert (again.closed_by_id, again.closed_at) == (manager.id, now)

    [view] = open_actions(session, user_id=rep.id, now=now)
    assert [i.object.id for i in view.items] == [calls[1].id]
    last = complete_item(session, item_id=second.id, actor=rep, now=now + MINUTE)
    assert last.action_state is ActionState.DONE
    assert open_actions(session, user_id=rep.id, now=now) == []
    # Done in the bot: the next run does not bring the calls back, though no outcome is logged.
    run(session, T.LOG_CALL_OUTCOME, now + HOUR)
    assert open_objects(session, T.LOG_CALL_OUTCOME) == set()


def test_only_those_who_may_act_for_the_owner_can_change_an_action(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, stranger = crm.user(), crm.user()
    _calls(crm, now, rep, 1)
    run(session, T.LOG_CALL_OUTCOME, now)
    [view] = open_actions(session, user_id=rep.id, now=now)
    with pytest.raises(NotAllowed):
        complete_item(session, item_id=view.items[0].id, actor=stranger, now=now)
    with pytest.raises(NotAllowed):
        dismiss_action(session, action_id=view.id, actor=stranger, now=now)
    with pytest.raises(NotAllowed):
        record_feedback(session, action_id=view.id, user_id=stranger.id, helpful=False, now=now)
    with pytest.raises(ActionNotFound):
        complete_action(session, action_id=view.id + 1000, actor=rep, now=now)
    assert len(open_actions(session, user_id=rep.id, now=now)[0].items) == 1


def test_complete_and_dismiss_whole_actions_twice(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    _calls(crm, now, rep, 2)
    crm.deal(rep, created_at=now - 8 * DAY)
    run(session, T.LOG_CALL_OUTCOME, now)
    run(session, T.ADD_CONTACT_TO_DEAL, now)
    calls_action, deal_action = (
        actions_of(session, T.LOG_CALL_OUTCOME)[0],
        actions_of(session, T.ADD_CONTACT_TO_DEAL)[0],
    )
    assert complete_action(session, action_id=calls_action.id, actor=rep, now=now).changed
    repeat = complete_action(session, action_id=calls_action.id, actor=rep, now=now + HOUR)
    assert not repeat.changed and repeat.closed_at == now
    assert dismiss_action(session, action_id=deal_action.id, actor=rep, now=now).changed
    late = complete_action(session, action_id=deal_action.id, actor=rep, now=now + HOUR)
    assert not late.changed and late.state is ActionState.DISMISSED
    assert open_actions(session, user_id=rep.id, now=now) == []
    for item in actions_of(session, T.LOG_CALL_OUTCOME)[0].items:
        assert item.state is ActionState.DONE


def test_a_deleted_record_expires_its_action(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    meeting = crm.meeting(rep)
    run(session, T.FOLLOW_UP_MEETING, now)
    session.execute(delete(Activity).where(Activity.id == meeting.id))
    run(session, T.FOLLOW_UP_MEETING, now + MINUTE)
    assert last_item(session, T.FOLLOW_UP_MEETING, meeting.id).closed_reason == "object_deleted"


# --- feedback, ranking, muting ---------------------------------------------------------------


def test_feedback_is_one_answer_per_user_and_action(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    _calls(crm, now, rep, 1)
    run(session, T.LOG_CALL_OUTCOME, now)
    [view] = open_actions(session, user_id=rep.id, now=now)
    assert record_feedback(session, action_id=view.id, user_id=rep.id, helpful=True, now=now)
    assert not record_feedback(session, action_id=view.id, user_id=rep.id, helpful=True, now=now)
    assert record_feedback(session, action_id=view.id, user_id=rep.id, helpful=False, now=now)
    assert record_feedback(
        session,
        action_id=view.id,
        user_id=rep.id,
        helpful=True,
        now=now,
        item_id=view.items[0].id,
    )
    answers = session.execute(
        select(ActionFeedback.item_id, ActionFeedback.helpful).order_by(ActionFeedback.id)
    ).all()
    assert answers == [(None, False), (view.items[0].id, True)]


def _mixed_actions(session: Session, crm: CRM, now: datetime) -> tuple[User, Contact]:
    """A rep with a call bundle (all), a deal action (closing), a contact action
    (prospecting)."""
    rep = crm.user()
    _calls(crm, now, rep, 1)
    crm.deal(rep, created_at=now - 8 * DAY)
    contact = crm.contact(rep, assigned_at=now)
    for t in (T.LOG_CALL_OUTCOME, T.ADD_CONTACT_TO_DEAL, T.NEWLY_ASSIGNED_CONTACTS):
        run(session, t, now)
    return rep, contact


def test_closing_work_comes_first_then_prospecting(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, _contact = _mixed_actions(session, crm, now)
    # The call bundle expires in under a week; nothing expires within a day.
    order = [a.type for a in open_actions(session, user_id=rep.id, now=now)]
    assert order == [T.ADD_CONTACT_TO_DEAL, T.NEWLY_ASSIGNED_CONTACTS, T.LOG_CALL_OUTCOME]
    closing = open_actions(session, user_id=rep.id, now=now, category="closing")
    prospecting = open_actions(session, user_id=rep.id, now=now, category="prospecting")
    assert [a.type for a in closing] == [T.ADD_CONTACT_TO_DEAL]
    assert [a.type for a in prospecting] == [T.NEWLY_ASSIGNED_CONTACTS]


def test_what_is_about_to_expire_comes_first(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    _calls(crm, now, rep, 1)
    crm.deal(rep, created_at=now - 8 * DAY)
    run(session, T.LOG_CALL_OUTCOME, now)
    run(session, T.ADD_CONTACT_TO_DEAL, now + 2 * DAY)
    order = [a.type for a in open_actions(session, user_id=rep.id, now=now + 2 * DAY)]
    assert order == [T.ADD_CONTACT_TO_DEAL, T.LOG_CALL_OUTCOME]
    # Six and a half days on, the calls (open until 7 days after the call) expire within a
    # day, the deal action (7 days after it was created) does not: the calls come first.
    later = now + 6 * DAY + 12 * HOUR
    views = open_actions(session, user_id=rep.id, now=later)
    assert [a.type for a in views] == [T.LOG_CALL_OUTCOME, T.ADD_CONTACT_TO_DEAL]
    assert views[0].expires_at is not None and views[0].expires_at - later <= DAY


def test_a_rejected_type_sinks_and_can_be_muted(session: Session, crm: CRM, now: datetime) -> None:
    rep, _contact = _mixed_actions(session, crm, now)
    deal_action = actions_of(session, T.ADD_CONTACT_TO_DEAL)[0]
    record_feedback(session, action_id=deal_action.id, user_id=rep.id, helpful=False, now=now)
    # One "Not really" is not enough to sink a type.
    assert open_actions(session, user_id=rep.id, now=now)[0].type is T.ADD_CONTACT_TO_DEAL

    another = crm.deal(rep, created_at=now - 9 * DAY)
    run(session, T.ADD_CONTACT_TO_DEAL, now)
    second = last_item(session, T.ADD_CONTACT_TO_DEAL, another.id).action_id
    record_feedback(session, action_id=second, user_id=rep.id, helpful=False, now=now)
    views = open_actions(session, user_id=rep.id, now=now)
    assert [v.type for v in views][-2:] == [T.ADD_CONTACT_TO_DEAL, T.ADD_CONTACT_TO_DEAL]
    assert all(v.sunk for v in views if v.type is T.ADD_CONTACT_TO_DEAL)

    assert mute_action_type(session, user_id=rep.id, action_type=T.ADD_CONTACT_TO_DEAL, now=now)
    assert not mute_action_type(session, user_id=rep.id, action_type=T.ADD_CONTACT_TO_DEAL, now=now)
    assert T.ADD_CONTACT_TO_DEAL not in {
        v.type for v in open_actions(session, user_id=rep.id, now=now)
    }
    prefs = session.get(UserPreferences, rep.id)
    assert prefs is not None and prefs.muted_action_types == [T.ADD_CONTACT_TO_DEAL.value]
    assert unmute_action_type(session, user_id=rep.id, action_type=T.ADD_CONTACT_TO_DEAL, now=now)
    assert T.ADD_CONTACT_TO_DEAL in {v.type for v in open_actions(session, user_id=rep.id, now=now)}


# --- narrowed evaluation ---------------------------------------------------------------------


def test_re_evaluating_one_changed_deal_touches_only_what_it_affects(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    changed = crm.deal(rep, created_at=now - 8 * DAY)
    untouched = crm.deal(rep, created_at=now - 8 * DAY)
    report = evaluate(session, now=now, object_refs=[ObjectRef(RefKind.DEAL, changed.id)])
    assert open_objects(session, T.ADD_CONTACT_TO_DEAL) == {changed.id}
    assert report.created == 1  # add a contact, for the changed deal only
    evaluate(session, now=now)
    assert open_objects(session, T.ADD_CONTACT_TO_DEAL) == {changed.id, untouched.id}

    # A new contact on the deal: the deal's action ends, and the contact's rules run too.
    buyer = crm.contact(rep, assigned_at=now)
    crm.associate(crm.note(rep, contacts=[buyer]), deals=[changed])
    from storage.models import DealContact

    session.add(DealContact(deal_id=changed.id, contact_id=buyer.id))
    session.flush()
    report = evaluate(session, now=now + MINUTE, object_refs=[ObjectRef(RefKind.DEAL, changed.id)])
    assert open_objects(session, T.ADD_CONTACT_TO_DEAL) == {untouched.id}
    assert report.expired == 1  # add a contact
    assert buyer.id not in open_objects(session, T.NEWLY_ASSIGNED_CONTACTS)  # it has a deal


def test_re_evaluating_one_new_email_reaches_its_contact_and_the_contacts_deal(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    buyer = crm.contact(rep, assigned_at=now - 40 * DAY)
    deal = crm.deal(rep, contacts=[buyer])
    elsewhere = crm.contact(rep, assigned_at=now - 40 * DAY)
    crm.email(rep, contacts=[elsewhere], sent_at=now - 2 * DAY, replied_at=now - DAY)
    yours = crm.email(rep, contacts=[buyer], sent_at=now - 2 * DAY)
    reply = crm.email(
        None,
        direction=EmailDirection.INCOMING,
        contacts=[buyer],
        sent_at=now - HOUR,
        primary_recipient=rep.email,
        in_reply_to_id=yours.id,
    )
    evaluate(session, now=now, object_refs=[ObjectRef(RefKind.ACTIVITY, reply.id)])
    assert open_objects(session, T.REPLY_TO_EMAIL) == {deal.id}
    assert open_objects(session, T.CONTACTS_AWAITING_REPLY) == {buyer.id}
    assert open_objects(session, T.EMAIL_REPLIES) == {buyer.id}
    # The other contact's reply was not part of this change.
    assert elsewhere.id not in open_objects(session, T.EMAIL_REPLIES)


def test_evaluating_for_some_users_leaves_the_others_alone(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana, ben = crm.user(), crm.user()
    crm.meeting(ana)
    crm.meeting(ben)
    evaluate(session, now=now, user_ids=[ana.id])
    owners = set(session.scalars(select(GuidedAction.user_id)))
    assert owners == {ana.id}


# --- end to end, both databases --------------------------------------------------------------


def test_engine_end_to_end(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        crm = CRM(session, now)
        team = crm.team()
        rep = crm.user(team_id=team.id, timezone="America/Los_Angeles")
        buyer = crm.contact(rep, assigned_at=now - 2 * DAY)
        deal = crm.deal(rep, contacts=[buyer])
        crm.email(
            rep, contacts=[buyer], sent_at=now - 3 * DAY, replied_at=now - DAY, opened_at=None
        )
        for n in range(3):
            crm.call(rep, starts_at=now - 2 * HOUR - n * MINUTE, contacts=[buyer])
        crm.task(rep, due_at=now + 5 * HOUR, priority="high")
        crm.meeting(rep, starts_at=now - 2 * DAY, deals=[deal])
        report = evaluate(session, now=now)
        session.commit()
        created = {run.type for run in report.runs if run.created}
        assert {
            T.EMAIL_REPLIES,
            T.LOG_CALL_OUTCOME,
            T.HIGH_PRIORITY_TASKS_TODAY,
            T.LOG_MEETING_OUTCOME,
            T.FOLLOW_UP_MEETING,
            T.UPDATE_NEXT_STEPS,
        } <= created

        again = evaluate(session, now=now + MINUTE)
        assert again.created == 0 and again.expired == 0  # nothing new on the next run

        views = open_actions(session, user_id=rep.id, now=now)
        [calls] = [v for v in views if v.type is T.LOG_CALL_OUTCOME]
        assert len(calls.items) == 3
        assert views[0].category == "closing"
        outcome = complete_item(session, item_id=calls.items[0].id, actor=rep, now=now)
        assert outcome.changed
        session.commit()
        later = evaluate(session, now=now + 8 * DAY)
        session.commit()
        assert later.expired > 0
        remaining = open_actions(session, user_id=rep.id, now=now + 8 * DAY)
        # Calls, meeting and task are over; the open deal still needs a next step (closing
        # first), and the unanswered reply lasts 14 days.
        assert [v.type for v in remaining] == [T.UPDATE_NEXT_STEPS, T.EMAIL_REPLIES]
