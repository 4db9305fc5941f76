"""Rules about contacts: 1 newly assigned, 3 re-engaged, 5 email replies, 9 awaiting your
reply, 14 target accounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType
from storage.models import Contact, EmailDirection, User
from storage.ownership import assign
from tests.builders import CRM
from tests.rules.guided_actions.support import (
    actions_of,
    check_creation,
    expired_by,
    last_item,
    open_objects,
    run,
)

T = ActionType
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


# --- 1. Newly assigned contacts ----------------------------------------------------------------


def _newly_assigned(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Contact]:
    rep = crm.user()
    contact = crm.contact(
        crm.user() if broken == "assigned_to_you" else rep,
        assigned_at=now - (31 * DAY if broken == "assigned_within_30_days" else DAY),
        lifecycle_stage="customer" if broken == "not_customer" else "lead",
    )
    if broken == "no_deal":
        crm.deal(crm.user(), contacts=[contact])
    if broken == "no_tracked_email_sent":
        crm.email(rep, contacts=[contact], tracked=True)
    if broken == "has_not_emailed_you":
        crm.email(rep, direction=EmailDirection.INCOMING, contacts=[contact])
    return rep, contact


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "assigned_within_30_days",
        "not_customer",
        "no_deal",
        "no_tracked_email_sent",
        "has_not_emailed_you",
    ],
)
def test_newly_assigned_contact_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, contact = _newly_assigned(crm, now, broken)
    check_creation(session, now, T.NEWLY_ASSIGNED_CONTACTS, contact.id, broken, user_id=rep.id)


def test_customised_late_lifecycle_stages_count_as_customers(
    session: Session, crm: CRM, now: datetime
) -> None:
    crm.settings(late_lifecycle_stages=["champion"])
    rep = crm.user()
    champion = crm.contact(rep, lifecycle_stage="champion")
    customer = crm.contact(rep, lifecycle_stage="customer")
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now)
    assert open_objects(session, T.NEWLY_ASSIGNED_CONTACTS) == {customer.id}
    assert champion.id not in open_objects(session, T.NEWLY_ASSIGNED_CONTACTS)


def test_newly_assigned_contact_expires_at_30_days(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    contact = crm.contact(rep, assigned_at=now)
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now)
    t = T.NEWLY_ASSIGNED_CONTACTS
    assert expired_by(session, t, contact.id, now + 29 * DAY + 23 * HOUR) is None
    assert expired_by(session, t, contact.id, now + 30 * DAY) == "age_30_days"


def test_an_action_created_after_the_assignment_lives_its_own_30_days(
    session: Session, crm: CRM, now: datetime
) -> None:
    """Assigned 5 days before the action: it is still open at 25 days, gone at 30."""
    rep = crm.user()
    contact = crm.contact(rep, assigned_at=now - 5 * DAY)
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now)
    t = T.NEWLY_ASSIGNED_CONTACTS
    assert expired_by(session, t, contact.id, now + 25 * DAY + HOUR) is None
    assert expired_by(session, t, contact.id, now + 29 * DAY + 23 * HOUR) is None
    assert expired_by(session, t, contact.id, now + 30 * DAY) == "age_30_days"


def test_newly_assigned_contact_expires_when_a_criterion_stops(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, contact = _newly_assigned(crm, now)
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now)
    crm.email(rep, contacts=[contact], tracked=True, sent_at=now + HOUR)
    reason = expired_by(session, T.NEWLY_ASSIGNED_CONTACTS, contact.id, now + 2 * HOUR)
    assert reason == "no_longer:no_tracked_email_sent"


def test_newly_assigned_contacts_bundle_per_user_and_reassignment_moves_them(
    session: Session, crm: CRM, now: datetime
) -> None:
    alice, bob = crm.user(name="Alice"), crm.user(name="Bob")
    first = crm.contact(alice)
    second = crm.contact(alice)
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now)
    [bundle] = actions_of(session, T.NEWLY_ASSIGNED_CONTACTS)
    assert bundle.user_id == alice.id and len(bundle.items) == 2

    assign(session, first, bob.id, at=now + HOUR)
    run(session, T.NEWLY_ASSIGNED_CONTACTS, now + 2 * HOUR)
    assert open_objects(session, T.NEWLY_ASSIGNED_CONTACTS, alice.id) == {second.id}
    assert open_objects(session, T.NEWLY_ASSIGNED_CONTACTS, bob.id) == {first.id}
    old = next(i for i in bundle.items if i.object_id == first.id)
    session.refresh(old)
    assert old.closed_reason == "no_longer:assigned_to_you"


# --- 3. Re-engaged contacts --------------------------------------------------------------------


def _re_engaged(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Contact]:
    rep = crm.user()
    contact = crm.contact(crm.user() if broken == "assigned_to_you" else rep)
    if broken == "no_open_lead":
        # An older lead that is still open; the most recent one is disqualified.
        crm.lead(rep, stage="new", contact_id=contact.id, created_at=now - 60 * DAY)
    crm.lead(
        rep,
        stage="qualified" if broken == "last_lead_disqualified" else "disqualified",
        contact_id=contact.id,
        created_at=now - 40 * DAY,
        stage_changed_at=now - 20 * DAY,
        disqualified_at=None if broken == "last_lead_disqualified" else now - 20 * DAY,
    )
    sent = now - (25 * DAY if broken == "re_engaged_within_30_days" else 2 * DAY)
    crm.email(rep, direction=EmailDirection.INCOMING, contacts=[contact], sent_at=sent)
    return rep, contact


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "no_open_lead",
        "last_lead_disqualified",
        "re_engaged_within_30_days",
    ],
)
def test_re_engaged_contact_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, contact = _re_engaged(crm, now, broken)
    check_creation(session, now, T.RE_ENGAGED_CONTACTS, contact.id, broken, user_id=rep.id)


def test_re_engaged_contact_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.RE_ENGAGED_CONTACTS
    rep, contact = _re_engaged(crm, now)
    run(session, T.RE_ENGAGED_CONTACTS, now)
    # Engaged 2 days ago: "more than 30 days since" is after day 28 from now.
    assert expired_by(session, t, contact.id, now + 28 * DAY) is None
    assert (
        expired_by(session, t, contact.id, now + 28 * DAY + MINUTE)
        == "more_than_30_days_since_re_engaged"
    )

    other_rep, other = _re_engaged(crm, now)
    run(session, T.RE_ENGAGED_CONTACTS, now)
    crm.lead(other_rep, contact_id=other.id, created_at=now + HOUR)
    assert expired_by(session, t, other.id, now + 2 * HOUR) == "lead_created"

    third_rep, third = _re_engaged(crm, now)
    run(session, T.RE_ENGAGED_CONTACTS, now)
    assign(session, third, rep.id, at=now + HOUR)
    run(session, T.RE_ENGAGED_CONTACTS, now + 2 * HOUR)
    assert last_item(session, t, third.id).user_id == rep.id  # the new owner's
    old = next(i for i in actions_of(session, t) if i.user_id == third_rep.id)
    assert old.expired_condition == "reassigned"


# --- 5. Email replies --------------------------------------------------------------------------


def _replied(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Contact]:
    rep = crm.user()
    contact = crm.contact(crm.user() if broken == "assigned_to_you" else rep)
    replied = now - (15 * DAY if broken == "replied_within_14_days" else 2 * DAY)
    crm.email(rep, contacts=[contact], sent_at=replied - DAY, replied_at=replied)
    if broken == "not_answered_yet":
        crm.email(rep, contacts=[contact], sent_at=replied + HOUR)
    return rep, contact


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "replied_within_14_days", "not_answered_yet"]
)
def test_email_reply_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, contact = _replied(crm, now, broken)
    check_creation(session, now, T.EMAIL_REPLIES, contact.id, broken, user_id=rep.id)


def test_email_reply_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.EMAIL_REPLIES
    _rep, contact = _replied(crm, now)
    run(session, T.EMAIL_REPLIES, now)
    assert expired_by(session, t, contact.id, now + 13 * DAY + 23 * HOUR) is None
    assert expired_by(session, t, contact.id, now + 14 * DAY) == "age_14_days"

    rep, other = _replied(crm, now)
    run(session, T.EMAIL_REPLIES, now)
    crm.email(rep, contacts=[other], sent_at=now + HOUR)
    assert expired_by(session, t, other.id, now + 2 * HOUR) == "you_emailed_after_creation"


def test_an_inbound_reply_email_counts_too(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    contact = crm.contact(rep)
    sent = crm.email(rep, contacts=[contact], sent_at=now - 3 * DAY)
    crm.email(
        rep,
        direction=EmailDirection.INCOMING,
        contacts=[contact],
        sent_at=now - DAY,
        in_reply_to_id=sent.id,
    )
    run(session, T.EMAIL_REPLIES, now)
    assert open_objects(session, T.EMAIL_REPLIES) == {contact.id}


def test_an_unprompted_inbound_email_is_no_reply_to_your_email(
    session: Session, crm: CRM, now: datetime
) -> None:
    """One email out of the blue: "waiting for your reply" (9), not "replied to your email" (5)."""
    rep = crm.user()
    contact = crm.contact(rep)
    sent_by_you = crm.email(rep, contacts=[contact], sent_at=now - 5 * DAY)
    someone_else = crm.user()
    theirs = crm.email(someone_else, contacts=[contact], sent_at=now - 4 * DAY)
    crm.email(
        rep,
        direction=EmailDirection.INCOMING,
        contacts=[contact],
        sent_at=now - DAY,
        primary_recipient=rep.email,
    )
    # An answer to a colleague's email is not a reply to yours either.
    crm.email(
        None,
        direction=EmailDirection.INCOMING,
        contacts=[contact],
        sent_at=now - DAY,
        in_reply_to_id=theirs.id,
    )
    run(session, T.EMAIL_REPLIES, now)
    run(session, T.CONTACTS_AWAITING_REPLY, now)
    assert open_objects(session, T.EMAIL_REPLIES) == set()
    assert open_objects(session, T.CONTACTS_AWAITING_REPLY) == {contact.id}
    assert sent_by_you.replied_at is None


def test_a_dismissed_reply_comes_back_only_for_a_new_reply(
    session: Session, crm: CRM, now: datetime
) -> None:
    from rules.guided_actions import dismiss_action

    t = T.EMAIL_REPLIES
    rep, contact = _replied(crm, now)
    run(session, T.EMAIL_REPLIES, now)
    dismiss_action(
        session, action_id=last_item(session, t, contact.id).action_id, actor=rep, now=now
    )
    run(session, T.EMAIL_REPLIES, now + HOUR)
    run(session, T.EMAIL_REPLIES, now + 2 * HOUR)
    assert open_objects(session, t) == set()

    crm.email(rep, contacts=[contact], sent_at=now + 3 * HOUR, replied_at=now + 4 * HOUR)
    run(session, T.EMAIL_REPLIES, now + 5 * HOUR)
    assert open_objects(session, t) == {contact.id}


# --- 9. Contacts awaiting your reply -----------------------------------------------------------


def _awaiting(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Contact]:
    rep = crm.user()
    overrides: dict[str, Any] = {"email": "pat@seller.example"} if broken == "other_domain" else {}
    contact = crm.contact(crm.user() if broken == "assigned_to_you" else rep, **overrides)
    if broken == "no_open_lead":
        crm.lead(rep, contact_id=contact.id)
    sent = now - (15 * DAY if broken == "wrote_to_you_within_14_days" else DAY)
    crm.email(
        None,
        direction=EmailDirection.INCOMING,
        contacts=[contact],
        sent_at=sent,
        primary_recipient=rep.email.upper(),
    )
    if broken == "not_answered_yet":
        crm.email(rep, contacts=[contact], sent_at=sent + HOUR)
    return rep, contact


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "no_open_lead",
        "wrote_to_you_within_14_days",
        "not_answered_yet",
        "other_domain",
    ],
)
def test_contact_awaiting_reply_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, contact = _awaiting(crm, now, broken)
    check_creation(session, now, T.CONTACTS_AWAITING_REPLY, contact.id, broken, user_id=rep.id)


def test_contact_awaiting_reply_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.CONTACTS_AWAITING_REPLY
    _rep, contact = _awaiting(crm, now)
    run(session, T.CONTACTS_AWAITING_REPLY, now)
    assert expired_by(session, t, contact.id, now + 14 * DAY) is None
    assert expired_by(session, t, contact.id, now + 14 * DAY + MINUTE) == (
        "created_more_than_14_days_ago"
    )

    rep, other = _awaiting(crm, now)
    run(session, T.CONTACTS_AWAITING_REPLY, now)
    crm.email(rep, contacts=[other], sent_at=now + HOUR)
    assert expired_by(session, t, other.id, now + 2 * HOUR) == "you_emailed_after_creation"

    _rep3, third = _awaiting(crm, now)
    run(session, T.CONTACTS_AWAITING_REPLY, now)
    assign(session, third, None, at=now + HOUR)
    assert expired_by(session, t, third.id, now + 2 * HOUR) == "reassigned"


# --- 14. Target accounts activity --------------------------------------------------------------


def _target(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Contact]:
    rep = crm.user()
    company = crm.company(is_target_account=broken != "target_account")
    contact = crm.contact(crm.user() if broken == "assigned_to_you" else rep, company_id=company.id)
    opened = now - (8 * DAY if broken == "engaged_within_7_days" else 2 * DAY)
    crm.email(rep, contacts=[contact], sent_at=opened - HOUR, opened_at=opened)
    return rep, contact


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "target_account", "engaged_within_7_days"]
)
def test_target_account_activity_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, contact = _target(crm, now, broken)
    check_creation(session, now, T.TARGET_ACCOUNT_ACTIVITY, contact.id, broken, user_id=rep.id)


def test_target_account_activity_expires_7_days_after_engaging(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.TARGET_ACCOUNT_ACTIVITY
    _rep, contact = _target(crm, now)  # engaged (opened) 2 days ago
    run(session, T.TARGET_ACCOUNT_ACTIVITY, now)
    assert expired_by(session, t, contact.id, now + 5 * DAY) is None
    assert expired_by(session, t, contact.id, now + 5 * DAY + MINUTE) == (
        "more_than_7_days_since_engaged"
    )
