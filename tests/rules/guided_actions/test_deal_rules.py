"""Rules about deals (closing): 10 reply to email, 16 next steps, 17 add a contact, 18 initial
outreach, 19 follow up with the buyer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType
from storage.models import Contact, Deal, DealContact, EmailDirection, User
from storage.ownership import assign
from tests.builders import CRM
from tests.rules.guided_actions.support import check_creation, expired_by, open_objects, run

T = ActionType
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _close(crm: CRM, deal: Deal, stage: str = "closedwon") -> None:
    deal.stage_id = crm.stage(stage).id
    crm.session.flush()


# --- 10. Reply to email ------------------------------------------------------------------------


def _buyer_wrote(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Deal, Contact]:
    rep = crm.user()
    buyer = crm.contact(None)
    deal = crm.deal(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="closedwon" if broken == "open_stage" else "qualifiedtobuy",
        contacts=[buyer],
    )
    sent = now - (8 * DAY if broken == "contact_replied_within_7_days" else DAY)
    crm.email(
        None,
        direction=EmailDirection.INCOMING,
        contacts=[buyer],
        sent_at=sent,
        primary_recipient=rep.email,
    )
    if broken == "not_answered_yet":
        crm.email(rep, contacts=[buyer], sent_at=sent + HOUR)
    return rep, deal, buyer


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "open_stage",
        "contact_replied_within_7_days",
        "not_answered_yet",
    ],
)
def test_reply_to_email_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, deal, _buyer = _buyer_wrote(crm, now, broken)
    check_creation(session, now, T.REPLY_TO_EMAIL, deal.id, broken, user_id=rep.id)


def test_reply_to_email_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.REPLY_TO_EMAIL
    _rep, deal, _buyer = _buyer_wrote(crm, now)
    run(session, t, now)
    assert expired_by(session, t, deal.id, now + 7 * DAY) is None
    assert expired_by(session, t, deal.id, now + 7 * DAY + MINUTE) == (
        "created_more_than_7_days_ago"
    )

    rep, answered, buyer = _buyer_wrote(crm, now)
    run(session, t, now)
    crm.email(rep, contacts=[buyer], sent_at=now + HOUR)
    assert expired_by(session, t, answered.id, now + 2 * HOUR) == "you_replied"

    _rep, won, _buyer = _buyer_wrote(crm, now)
    run(session, t, now)
    _close(crm, won)
    assert expired_by(session, t, won.id, now + HOUR) == "closed"


# --- 16. Update next steps ---------------------------------------------------------------------


def _met(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Deal]:
    rep = crm.user()
    ended = now - (23 * HOUR if broken == "activity_ended_over_24h_ago" else 25 * HOUR)
    deal = crm.deal(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="closedlost" if broken == "open_stage" else "presentationscheduled",
        next_step="Send pricing",
        next_step_updated_at=ended + HOUR if broken == "next_step_not_updated" else None,
    )
    crm.meeting(rep, starts_at=ended - 30 * MINUTE, minutes=30, deals=[deal])
    return rep, deal


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "open_stage",
        "activity_ended_over_24h_ago",
        "next_step_not_updated",
    ],
)
def test_update_next_steps_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, deal = _met(crm, now, broken)
    check_creation(session, now, T.UPDATE_NEXT_STEPS, deal.id, broken, user_id=rep.id)


def test_update_next_steps_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.UPDATE_NEXT_STEPS
    _rep, updated = _met(crm, now)
    old_owner, moved = _met(crm, now)
    _rep, lost = _met(crm, now)
    run(session, t, now)
    updated.next_step, updated.next_step_updated_at = "Call the CFO", now + HOUR
    assign(session, moved, crm.user().id, at=now + HOUR)
    _close(crm, lost, "closedlost")
    session.flush()
    assert expired_by(session, t, updated.id, now + 2 * HOUR) == "next_step_changed"
    assert expired_by(session, t, moved.id, now + 2 * HOUR, old_owner.id) == "reassigned"
    assert expired_by(session, t, lost.id, now + 2 * HOUR) == "closed"


def test_next_step_comes_back_after_a_newer_activity(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.UPDATE_NEXT_STEPS
    rep, deal = _met(crm, now)
    run(session, t, now)
    deal.next_step_updated_at = now + HOUR
    session.flush()
    run(session, t, now + 2 * HOUR)
    run(session, t, now + 3 * HOUR)
    assert open_objects(session, t) == set()
    crm.call(rep, starts_at=now + 4 * HOUR, deals=[deal])
    run(session, t, now + 2 * DAY)
    assert open_objects(session, t) == {deal.id}


# --- 17. Add contact to deal -------------------------------------------------------------------


def _lonely_deal(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Deal]:
    rep = crm.user()
    deal = crm.deal(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="closedwon" if broken == "open_stage" else "qualifiedtobuy",
        created_at=now - (6 * DAY if broken == "deal_created_more_than_7_days_ago" else 8 * DAY),
        contacts=[crm.contact(rep)] if broken == "no_contact" else [],
    )
    return rep, deal


@pytest.mark.parametrize(
    "broken",
    [None, "assigned_to_you", "open_stage", "deal_created_more_than_7_days_ago", "no_contact"],
)
def test_add_contact_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, deal = _lonely_deal(crm, now, broken)
    check_creation(session, now, T.ADD_CONTACT_TO_DEAL, deal.id, broken, user_id=rep.id)


def test_add_contact_boundary_is_7_days_after_creation(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    exactly = crm.deal(rep, created_at=now - 7 * DAY)
    just_over = crm.deal(rep, created_at=now - 7 * DAY - MINUTE)
    run(session, T.ADD_CONTACT_TO_DEAL, now)
    assert open_objects(session, T.ADD_CONTACT_TO_DEAL) == {just_over.id}
    assert exactly.id not in open_objects(session, T.ADD_CONTACT_TO_DEAL)


def test_add_contact_expiry_and_no_return_on_the_next_run(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.ADD_CONTACT_TO_DEAL
    rep, stale = _lonely_deal(crm, now)
    _rep, fixed = _lonely_deal(crm, now)
    _rep, won = _lonely_deal(crm, now)
    old_owner, moved = _lonely_deal(crm, now)
    run(session, t, now)
    session.add(DealContact(deal_id=fixed.id, contact_id=crm.contact(rep).id))
    _close(crm, won)
    assign(session, moved, crm.user().id, at=now + HOUR)
    session.flush()
    assert expired_by(session, t, fixed.id, now + 2 * HOUR) == "contact_associated"
    assert expired_by(session, t, won.id, now + 2 * HOUR) == "closed"
    assert expired_by(session, t, moved.id, now + 2 * HOUR, old_owner.id) == "reassigned"
    assert expired_by(session, t, stale.id, now + 7 * DAY) is None
    assert expired_by(session, t, stale.id, now + 7 * DAY + MINUTE) == (
        "created_more_than_7_days_ago"
    )
    # Still no contact, but the situation is the same one: it does not come back.
    run(session, t, now + 8 * DAY)
    run(session, t, now + 30 * DAY)
    assert stale.id not in open_objects(session, t)


# --- 18. Initial outreach needed ---------------------------------------------------------------


def _untouched(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Deal]:
    rep = crm.user()
    deal = crm.deal(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="qualifiedtobuy" if broken == "first_stage" else "appointmentscheduled",
        created_at=now - (6 * DAY if broken == "deal_created_more_than_7_days_ago" else 8 * DAY),
    )
    if broken == "no_engagement":
        crm.note(rep, deals=[deal])
    return rep, deal


# "open_stage" cannot fail alone here: the first stage of a pipeline is an open stage.
@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "first_stage",
        "deal_created_more_than_7_days_ago",
        "no_engagement",
    ],
)
def test_initial_outreach_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, deal = _untouched(crm, now, broken)
    check_creation(session, now, T.INITIAL_OUTREACH, deal.id, broken, user_id=rep.id)


def test_initial_outreach_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.INITIAL_OUTREACH
    rep, engaged = _untouched(crm, now)
    _rep, lost = _untouched(crm, now)
    _rep, stale = _untouched(crm, now)
    old_owner, moved = _untouched(crm, now)
    run(session, t, now)
    crm.email(rep, deals=[engaged], sent_at=now + HOUR)
    _close(crm, lost, "closedlost")
    assign(session, moved, crm.user().id, at=now + HOUR)
    assert expired_by(session, t, engaged.id, now + 2 * HOUR) == "engagement_associated"
    assert expired_by(session, t, lost.id, now + 2 * HOUR) == "closed"
    assert expired_by(session, t, moved.id, now + 2 * HOUR, old_owner.id) == "reassigned"
    assert expired_by(session, t, stale.id, now + 7 * DAY + MINUTE) == (
        "created_more_than_7_days_ago"
    )


# --- 19. Follow up with buyer ------------------------------------------------------------------


def _opened(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Deal, Contact]:
    rep = crm.user()
    buyer = crm.contact(None)
    deal = crm.deal(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="contractsent" if broken != "open_stage" else "closedlost",
        contacts=[buyer],
    )
    opened = now - (6 * DAY if broken == "opened_not_replied_7_days" else 8 * DAY)
    crm.email(rep, contacts=[buyer], sent_at=opened - HOUR, opened_at=opened)
    return rep, deal, buyer


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "open_stage", "opened_not_replied_7_days"]
)
def test_follow_up_with_buyer_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, deal, _buyer = _opened(crm, now, broken)
    check_creation(session, now, T.FOLLOW_UP_WITH_BUYER, deal.id, broken, user_id=rep.id)


def test_a_reply_means_no_follow_up(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    buyer = crm.contact(None)
    deal = crm.deal(rep, contacts=[buyer])
    crm.email(rep, contacts=[buyer], sent_at=now - 9 * DAY, opened_at=now - 8 * DAY, replied_at=now)
    run(session, T.FOLLOW_UP_WITH_BUYER, now)
    assert deal.id not in open_objects(session, T.FOLLOW_UP_WITH_BUYER)


def test_a_threaded_reply_means_no_follow_up(session: Session, crm: CRM, now: datetime) -> None:
    """A connector that supplies only the buyer's threaded reply (no replied_at on ours)."""
    rep = crm.user()
    buyer = crm.contact(None)
    deal = crm.deal(rep, contacts=[buyer])
    ours = crm.email(rep, contacts=[buyer], sent_at=now - 9 * DAY, opened_at=now - 8 * DAY)
    crm.email(
        None,
        direction=EmailDirection.INCOMING,
        contacts=[buyer],
        sent_at=now - 7 * DAY,
        in_reply_to_id=ours.id,
    )
    run(session, T.FOLLOW_UP_WITH_BUYER, now)
    assert deal.id not in open_objects(session, T.FOLLOW_UP_WITH_BUYER)


@pytest.mark.parametrize(
    ("threaded", "follow_up"),
    [
        ("reply_arrived_now", False),
        ("reply_a_minute_after_now", True),
        ("reply_to_another_email", True),
        ("our_own_email_in_the_thread", True),
    ],
)
def test_only_an_arrived_reply_threaded_onto_the_email_answers_it(
    session: Session, crm: CRM, now: datetime, threaded: str, follow_up: bool
) -> None:
    """The threaded-reply lookup (in_reply_to, inbound, arrived by now, inclusive) per term."""
    rep = crm.user()
    buyer = crm.contact(None)
    deal = crm.deal(rep, contacts=[buyer])
    ours = crm.email(rep, contacts=[buyer], sent_at=now - 9 * DAY, opened_at=now - 8 * DAY)
    other = crm.email(rep, contacts=[buyer], sent_at=now - 20 * DAY)
    crm.email(
        rep if threaded == "our_own_email_in_the_thread" else None,
        direction=(
            EmailDirection.OUTGOING
            if threaded == "our_own_email_in_the_thread"
            else EmailDirection.INCOMING
        ),
        contacts=[buyer],
        sent_at=now + MINUTE if threaded == "reply_a_minute_after_now" else now,
        in_reply_to_id=other.id if threaded == "reply_to_another_email" else ours.id,
    )
    run(session, T.FOLLOW_UP_WITH_BUYER, now)
    assert (deal.id in open_objects(session, T.FOLLOW_UP_WITH_BUYER)) is follow_up


def test_follow_up_with_buyer_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.FOLLOW_UP_WITH_BUYER
    _rep, replied, buyer = _opened(crm, now)
    _rep, stale, _buyer = _opened(crm, now)
    run(session, t, now)
    crm.email(None, direction=EmailDirection.INCOMING, contacts=[buyer], sent_at=now + HOUR)
    assert expired_by(session, t, replied.id, now + 2 * HOUR) == "contact_replied"
    assert expired_by(session, t, stale.id, now + 7 * DAY) is None
    assert expired_by(session, t, stale.id, now + 7 * DAY + MINUTE) == (
        "created_more_than_7_days_ago"
    )
