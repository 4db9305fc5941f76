"""Rules about leads: 2 newly assigned, 11 awaiting your reply, 15 recently engaged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType
from storage.models import EmailDirection, Lead, User
from storage.ownership import assign
from tests.builders import CRM
from tests.rules.guided_actions.support import check_creation, expired_by, run

T = ActionType
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


# --- 2. Newly assigned leads -------------------------------------------------------------------


def _new_lead(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Lead]:
    rep = crm.user()
    lead = crm.lead(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="attempting" if broken == "first_stage" else "new",
        assigned_at=now - (31 * DAY if broken == "assigned_within_30_days" else DAY),
    )
    return rep, lead


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "assigned_within_30_days", "first_stage"]
)
def test_newly_assigned_lead_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, lead = _new_lead(crm, now, broken)
    check_creation(session, now, T.NEWLY_ASSIGNED_LEADS, lead.id, broken, user_id=rep.id)


def test_newly_assigned_lead_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.NEWLY_ASSIGNED_LEADS
    _rep, lead = _new_lead(crm, now)
    run(session, t, now)
    assert expired_by(session, t, lead.id, now + 29 * DAY + 23 * HOUR) is None
    assert expired_by(session, t, lead.id, now + 30 * DAY) == "age_30_days"

    rep, logged = _new_lead(crm, now)
    run(session, t, now)
    # Logged before the action existed: does not count; after: ends it.
    crm.note(rep, leads=[logged], at=now + HOUR, created_at=now + HOUR)
    assert expired_by(session, t, logged.id, now + 2 * HOUR) == "you_logged_activity"

    old_owner, moved = _new_lead(crm, now)
    run(session, t, now)
    new_owner = crm.user()
    assign(session, moved, new_owner.id, at=now + HOUR)
    assert expired_by(session, t, moved.id, now + 2 * HOUR, old_owner.id) == "reassigned"
    # The new owner has a newly assigned lead now.
    assert expired_by(session, t, moved.id, now + 2 * HOUR, new_owner.id) is None


# --- 11. Leads awaiting your reply -------------------------------------------------------------


def _lead_waiting(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Lead]:
    rep = crm.user()
    email = "lee@seller.example" if broken == "other_domain" else "lee@buyer.example"
    contact = crm.contact(None, email=email)
    lead = crm.lead(crm.user() if broken == "assigned_to_you" else rep, contact_id=contact.id)
    sent = now - (15 * DAY if broken == "wrote_to_you_within_14_days" else DAY)
    crm.email(
        None,
        direction=EmailDirection.INCOMING,
        leads=[lead],
        sent_at=sent,
        primary_recipient=rep.email,
    )
    if broken == "not_answered_yet":
        crm.email(rep, leads=[lead], sent_at=sent + HOUR)
    return rep, lead


@pytest.mark.parametrize(
    "broken",
    [None, "assigned_to_you", "wrote_to_you_within_14_days", "not_answered_yet", "other_domain"],
)
def test_lead_awaiting_reply_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, lead = _lead_waiting(crm, now, broken)
    check_creation(session, now, T.LEADS_AWAITING_REPLY, lead.id, broken, user_id=rep.id)


def test_lead_awaiting_reply_expiry(session: Session, crm: CRM, now: datetime) -> None:
    t = T.LEADS_AWAITING_REPLY
    _rep, lead = _lead_waiting(crm, now)
    run(session, t, now)
    assert expired_by(session, t, lead.id, now + 14 * DAY) is None
    assert expired_by(session, t, lead.id, now + 14 * DAY + MINUTE) == (
        "created_more_than_14_days_ago"
    )

    rep, answered = _lead_waiting(crm, now)
    run(session, t, now)
    crm.email(rep, leads=[answered], sent_at=now + HOUR)
    assert expired_by(session, t, answered.id, now + 2 * HOUR) == "you_emailed_after_creation"

    _rep, moved = _lead_waiting(crm, now)
    run(session, t, now)
    assign(session, moved, crm.user().id, at=now + HOUR)
    assert expired_by(session, t, moved.id, now + 2 * HOUR) == "reassigned"


# --- 15. Recently engaged leads ----------------------------------------------------------------


def _engaged_lead(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Lead]:
    rep = crm.user()
    lead = crm.lead(
        crm.user() if broken == "assigned_to_you" else rep,
        stage="disqualified" if broken == "open_stage" else "connected",
    )
    done = now - (8 * DAY if broken == "engaged_within_7_days" else DAY)
    crm.call(rep, leads=[lead], starts_at=done - 10 * MINUTE, ends_at=done)
    return rep, lead


@pytest.mark.parametrize("broken", [None, "assigned_to_you", "open_stage", "engaged_within_7_days"])
def test_recently_engaged_lead_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, lead = _engaged_lead(crm, now, broken)
    check_creation(session, now, T.RECENTLY_ENGAGED_LEADS, lead.id, broken, user_id=rep.id)


def test_recently_engaged_lead_expires_7_days_after_engaging(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.RECENTLY_ENGAGED_LEADS
    _rep, lead = _engaged_lead(crm, now)  # the call ended a day ago
    run(session, t, now)
    assert expired_by(session, t, lead.id, now + 6 * DAY) is None
    assert expired_by(session, t, lead.id, now + 6 * DAY + MINUTE) == (
        "more_than_7_days_since_engaged"
    )


def test_the_leads_contact_engaging_counts(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    contact = crm.contact(None)
    lead = crm.lead(rep, stage="attempting", contact_id=contact.id)
    crm.email(None, direction=EmailDirection.INCOMING, contacts=[contact], sent_at=now - DAY)
    run(session, T.RECENTLY_ENGAGED_LEADS, now)
    check_creation(session, now, T.RECENTLY_ENGAGED_LEADS, lead.id, None, user_id=rep.id)
