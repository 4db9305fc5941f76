"""Nudges: a rep who opted in hears about a high-value action once, within their budget."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rules.digests.nudges import NudgeKind, NudgePrefs, claim_nudges, save_nudge_prefs
from rules.guided_actions import ActionType, evaluate, record_feedback
from storage.models import (
    DeliveryStatus,
    DigestDelivery,
    DigestKind,
    GuidedAction,
    User,
)
from tests.builders import CRM

ALL_KINDS = tuple(k.value for k in NudgeKind)


def _rep(crm: CRM, session: Session, now: datetime, **prefs: object) -> User:
    rep = crm.user(slack_user_id=f"U{crm._next('slack')}", timezone="Europe/Berlin")
    values = {"kinds": ALL_KINDS, "quiet_start": time(22, 0), "quiet_end": time(7, 0)} | prefs
    save_nudge_prefs(session, user_id=rep.id, prefs=NudgePrefs(**values), now=now)  # type: ignore[arg-type]
    return rep


def _buyer_replies(crm: CRM, rep: User, at: datetime) -> None:
    contact = crm.contact(rep)
    crm.email(rep, sent_at=at - timedelta(days=2), replied_at=at, contacts=[contact])


def test_a_buyer_reply_is_nudged_once_and_only_to_who_opted_in(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = _rep(crm, session, now)
    quiet_rep = crm.user(slack_user_id="Uquiet")  # never opted in
    _buyer_replies(crm, rep, now - timedelta(minutes=5))
    _buyer_replies(crm, quiet_rep, now - timedelta(minutes=5))
    evaluate(session, now=now)

    [nudge] = claim_nudges(session, now=now)
    assert nudge.user_id == rep.id
    assert [line.kind for line in nudge.lines] == [NudgeKind.BUYER_REPLIED]
    assert "replied to your email" in nudge.lines[0].title
    assert claim_nudges(session, now=now + timedelta(minutes=1)) == []


def test_two_replicas_send_each_action_once(sqlite_engine: Engine, now: datetime) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, now)
        _buyer_replies(crm, _rep(crm, session, now), now - timedelta(minutes=5))
        evaluate(session, now=now)
        session.commit()
    with Session(sqlite_engine) as first, Session(sqlite_engine) as second:
        sent_by_first = claim_nudges(first, now=now)
        first.commit()
        sent_by_second = claim_nudges(second, now=now)
        second.commit()
    assert len(sent_by_first) == 1 and sent_by_second == []


def test_actions_that_arise_together_come_in_one_dm_and_count_once(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = _rep(crm, session, now, max_per_day=1)
    _buyer_replies(crm, rep, now - timedelta(minutes=5))
    crm.deal(rep)  # 20 days old, no contact: "add a contact", a deal risk
    evaluate(session, now=now)
    [nudge] = claim_nudges(session, now=now)
    assert {line.kind for line in nudge.lines} == {NudgeKind.BUYER_REPLIED, NudgeKind.DEAL_RISK}

    later = now + timedelta(hours=1)
    _buyer_replies(crm, rep, later)
    evaluate(session, now=later)
    assert claim_nudges(session, now=later) == []  # one DM a day was the budget


@pytest.mark.parametrize(
    ("moment", "weekends", "nudged"),
    [
        (datetime(2026, 3, 11, 22, 30, tzinfo=UTC), False, False),  # 23:30 in Berlin: quiet
        (datetime(2026, 3, 11, 5, 30, tzinfo=UTC), False, False),  # 06:30 in Berlin: quiet
        (datetime(2026, 3, 14, 12, 0, tzinfo=UTC), False, False),  # a Saturday
        (datetime(2026, 3, 14, 12, 0, tzinfo=UTC), True, True),  # a Saturday, chosen
        (datetime(2026, 3, 11, 7, 30, tzinfo=UTC), False, True),  # 08:30 in Berlin
    ],
)
def test_quiet_hours_and_weekends_are_the_reps_own(
    session: Session, crm: CRM, moment: datetime, weekends: bool, nudged: bool
) -> None:
    rep = _rep(crm, session, moment, weekends=weekends)
    _buyer_replies(crm, rep, moment - timedelta(minutes=5))
    evaluate(session, now=moment)
    assert bool(claim_nudges(session, now=moment)) is nudged


def test_nothing_already_in_a_digest_sent_within_the_hour(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = _rep(crm, session, now)
    _buyer_replies(crm, rep, now - timedelta(minutes=30))
    evaluate(session, now=now - timedelta(minutes=20))
    session.add(
        DigestDelivery(
            kind=DigestKind.REP,
            recipient_id=rep.id,
            local_date=now.date(),
            due_at=now - timedelta(minutes=10),
            status=DeliveryStatus.SENT,
            claimed_at=now - timedelta(minutes=10),
            claimed_by="test",
            finished_at=now - timedelta(minutes=10),
        )
    )
    session.flush()
    assert claim_nudges(session, now=now) == []
    assert claim_nudges(session, now=now + timedelta(hours=2)) == []  # and never later


def test_a_meeting_is_nudged_30_minutes_before_it_starts(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = _rep(crm, session, now, kinds=(NudgeKind.MEETING_SOON.value,))
    crm.meeting(rep, starts_at=now + timedelta(hours=2), subject="Pricing call")
    evaluate(session, now=now)
    assert claim_nudges(session, now=now) == []
    soon = now + timedelta(hours=1, minutes=31)
    [nudge] = claim_nudges(session, now=soon)
    assert "Pricing call" in nudge.lines[0].title


def test_a_kind_the_rep_said_no_to_stops_nudging(session: Session, crm: CRM, now: datetime) -> None:
    rep = _rep(crm, session, now)
    for minutes in (60, 50):
        _buyer_replies(crm, rep, now - timedelta(minutes=minutes))
    evaluate(session, now=now)
    for action in session.query(GuidedAction).filter_by(action_type=ActionType.EMAIL_REPLIES):
        record_feedback(session, action_id=action.id, user_id=rep.id, helpful=False, now=now)
    _buyer_replies(crm, rep, now)
    evaluate(session, now=now + timedelta(minutes=1))
    assert claim_nudges(session, now=now + timedelta(minutes=1)) == []
