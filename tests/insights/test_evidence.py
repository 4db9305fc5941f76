"""What evidence a viewer gets: the last 100 visible activities, follow-ups, scores."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from insights.evidence import EVIDENCE_LIMIT, gather_evidence
from storage.models import DealVisibility, MeetingOutcome, TaskStatus, User
from tests.builders import CRM


def test_last_hundred_visible_activities_newest_first(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        crm = CRM(session, now)
        team = crm.team()
        rep = crm.user(team_id=team.id)
        peer = crm.user(team_id=team.id)
        deal = crm.deal(rep)
        mine = [
            crm.note(rep, f"note {i}", deals=[deal], at=now - timedelta(hours=i))
            for i in range(EVIDENCE_LIMIT + 20)
        ]
        crm.email(peer, deals=[deal], sent_at=now - timedelta(minutes=5))
        crm.task(rep, deals=[deal], due_at=now - timedelta(hours=1))  # tasks are not evidence
        session.commit()

        evidence = gather_evidence(session, deal_id=deal.id, viewer=rep, now=now)

        assert evidence is not None
        assert [a.id for a in evidence.activities] == [n.id for n in mine[:EVIDENCE_LIMIT]]


def test_follow_ups_are_future_open_tasks_and_scheduled_meetings(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep)
    task = crm.task(rep, deals=[deal], due_at=now + timedelta(days=2))
    crm.task(rep, deals=[deal], due_at=now + timedelta(days=1), status=TaskStatus.COMPLETED)
    meeting = crm.meeting(rep, deals=[deal], starts_at=now + timedelta(days=1))
    crm.meeting(
        rep, deals=[deal], starts_at=now + timedelta(days=3), outcome=MeetingOutcome.CANCELED
    )
    past = crm.meeting(rep, deals=[deal], starts_at=now - timedelta(days=1))

    evidence = gather_evidence(session, deal_id=deal.id, viewer=rep, now=now)

    assert evidence is not None
    assert [a.id for a in evidence.follow_ups] == [meeting.id, task.id]
    assert [a.id for a in evidence.activities] == [past.id]
    assert evidence.citable_ids == {task.id, meeting.id, past.id}


def test_deal_facts_and_score_history(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user(name="Rita")
    company = crm.company(name="Acme")
    buyer = crm.contact(rep, first_name="Bo", last_name="Buyer")
    deal = crm.deal(rep, name="Acme renewal", company_id=company.id, contacts=[buyer])
    crm.deal_score(deal, 70, now - timedelta(days=10))
    crm.deal_score(deal, 55, now - timedelta(days=1))

    evidence = gather_evidence(session, deal_id=deal.id, viewer=rep, now=now)

    assert evidence is not None
    assert (evidence.deal.name, evidence.deal.owner_name, evidence.deal.company) == (
        "Acme renewal",
        "Rita",
        "Acme",
    )
    assert evidence.deal.contacts == ("Bo Buyer",)
    assert [s.score for s in evidence.scores] == [70, 55]


def test_invisible_deal_gives_no_evidence(session: Session, crm: CRM, now: datetime) -> None:
    owner = crm.user()
    stranger = crm.user(deal_visibility=DealVisibility.TEAM)  # no team: owned only
    deal = crm.deal(owner)
    assert gather_evidence(session, deal_id=deal.id, viewer=stranger, now=now) is None
    assert gather_evidence(session, deal_id=deal.id + 999, viewer=owner, now=now) is None


def test_fingerprint_changes_with_visible_evidence_only(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    rep = crm.user(team_id=team.id)
    lead = crm.user(team_id=team.id, deal_visibility=DealVisibility.TEAM)
    deal = crm.deal(rep)
    crm.note(rep, "first", deals=[deal])

    def fingerprint(user: User) -> str:
        evidence = gather_evidence(session, deal_id=deal.id, viewer=user, now=now)
        assert evidence is not None
        return evidence.fingerprint()

    rep_before, lead_before = fingerprint(rep), fingerprint(lead)
    assert rep_before == lead_before  # same view, same fingerprint
    crm.note(lead, "lead's own note", deals=[deal])
    assert fingerprint(rep) == rep_before
    assert fingerprint(lead) != lead_before
    note = crm.note(rep, "second", deals=[deal])
    assert fingerprint(rep) != rep_before
    note.body = "second, edited"
    session.flush()
    assert fingerprint(rep) != rep_before
