"""Risks derived from CRM data alone, each pointing at where it comes from."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from insights.risks import Risk, RiskKind, crm_risks
from storage.models import DealVisibility, EmailDirection, User
from tests.builders import CRM


def _kinds(session: Session, deal_id: int, viewer: User, now: datetime) -> dict[RiskKind, Risk]:
    return {r.kind: r for r in crm_risks(session, deal_id=deal_id, viewer=viewer, now=now)}


def test_a_healthy_deal_has_no_risks(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    deal = crm.deal(rep, contacts=[crm.contact(rep)])
    crm.meeting(rep, deals=[deal], starts_at=now + timedelta(days=2))
    crm.deal_score(deal, 60, now - timedelta(days=5))
    crm.deal_score(deal, 58, now - timedelta(days=1))
    assert crm_risks(session, deal_id=deal.id, viewer=rep, now=now) == []


def test_each_risk_and_its_source(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    deal = crm.deal(
        rep,
        close_date=(now - timedelta(days=3)).date(),
        stage_changed_at=now - timedelta(days=45),
    )
    crm.deal_score(deal, 80, now - timedelta(days=20))
    crm.deal_score(deal, 62, now - timedelta(days=2))
    opened = crm.email(
        rep,
        subject="Proposal",
        sent_at=now - timedelta(days=10),
        opened_at=now - timedelta(days=9),
        deals=[deal],
    )

    risks = _kinds(session, deal.id, rep, now)

    assert set(risks) == {
        RiskKind.CLOSE_DATE_PASSED,
        RiskKind.DECLINING_SCORE,
        RiskKind.NO_FOLLOW_UP,
        RiskKind.BUYER_UNRESPONSIVE,
        RiskKind.STALLED,
        RiskKind.NO_CONTACT,
    }
    assert risks[RiskKind.BUYER_UNRESPONSIVE].activity_id == opened.id
    assert (
        "80" in risks[RiskKind.DECLINING_SCORE].text
        and "62" in risks[RiskKind.DECLINING_SCORE].text
    )
    assert risks[RiskKind.CLOSE_DATE_PASSED].field == "close_date"
    assert "3 days" in risks[RiskKind.CLOSE_DATE_PASSED].text


def test_close_date_near_and_reply_clears_unresponsive(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep, close_date=(now + timedelta(days=4)).date(), contacts=[crm.contact(rep)])
    crm.task(rep, deals=[deal], due_at=now + timedelta(days=1))
    crm.email(
        rep, sent_at=now - timedelta(days=10), opened_at=now - timedelta(days=9), deals=[deal]
    )
    crm.email(rep, direction=EmailDirection.INCOMING, sent_at=now - timedelta(days=8), deals=[deal])

    risks = _kinds(session, deal.id, rep, now)

    assert set(risks) == {RiskKind.CLOSE_DATE_NEAR}
    assert "in 4 days" in risks[RiskKind.CLOSE_DATE_NEAR].text


def test_closed_deal_has_no_risks(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    deal = crm.deal(rep, stage="closedwon", close_date=(now - timedelta(days=30)).date())
    assert crm_risks(session, deal_id=deal.id, viewer=rep, now=now) == []


def test_risks_use_only_what_the_viewer_may_see(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    owner = crm.user(team_id=team.id)
    manager = crm.user(team_id=team.id, deal_visibility=DealVisibility.TEAM)
    deal = crm.deal(owner, contacts=[crm.contact(owner)])
    crm.meeting(manager, deals=[deal], starts_at=now + timedelta(days=1))
    # The manager's meeting is a follow-up for the manager, not for the owner who cannot see it.
    assert RiskKind.NO_FOLLOW_UP not in _kinds(session, deal.id, manager, now)
    assert RiskKind.NO_FOLLOW_UP in _kinds(session, deal.id, owner, now)
    # A user who may not see the deal gets nothing at all.
    assert crm_risks(session, deal_id=deal.id, viewer=crm.user(), now=now) == []
