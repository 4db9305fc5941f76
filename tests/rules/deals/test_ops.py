"""Updating and creating deals from Slack."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.deals.ops import DealChange, DealDraft, create_deal, update_deal
from rules.op_result import OpStatus
from storage.models import Deal, DealVisibility, Pipeline, PipelineObject, PipelineStage, Role
from tests.builders import CRM


def test_update_stage_close_date_and_next_step(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    deal = crm.deal(rep, name="Acme renewal")
    sent = crm.stage("contractsent")

    result = update_deal(
        session,
        rep,
        str(deal.id),
        change=DealChange(stage_id=str(sent.id), close_date=date(2026, 4, 2), next_step="Sign"),
        now=now,
    )

    assert result.message == (
        "Done: 'Acme renewal' updated (stage Contract sent, close date Thu 2 Apr, next step)."
    )
    assert (deal.stage_id, deal.stage_changed_at, deal.closed_at) == (sent.id, now, None)
    assert (deal.next_step, deal.next_step_updated_at) == ("Sign", now)
    same = update_deal(session, rep, deal.id, change=DealChange(next_step=" Sign "), now=now)
    assert same.status is OpStatus.ALREADY


def test_entering_a_closed_stage_sets_closed_at_and_reopening_clears_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep)
    won, open_stage = crm.stage("closedwon"), crm.stage("qualifiedtobuy")
    update_deal(session, rep, deal.id, change=DealChange(stage_id=won.id), now=now)
    assert deal.closed_at == now
    later = now + timedelta(days=1)
    update_deal(session, rep, deal.id, change=DealChange(stage_id=open_stage.id), now=later)
    assert deal.closed_at is None and deal.stage_changed_at == later


def test_a_stage_of_another_pipeline_is_refused(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    deal = crm.deal(rep)
    other = Pipeline(external_id="partners", object_type=PipelineObject.DEAL, label="Partners")
    session.add(other)
    session.flush()
    foreign = PipelineStage(pipeline_id=other.id, external_id="x", label="X", display_order=0)
    session.add(foreign)
    session.flush()
    lead_stage = crm.stage("new", PipelineObject.LEAD)
    stage_before = deal.stage_id

    for stage_id in (foreign.id, lead_stage.id, "junk", 999999):
        result = update_deal(session, rep, deal.id, change=DealChange(stage_id=stage_id), now=now)
        assert result.status is OpStatus.INVALID
    assert deal.stage_id == stage_before


def test_deal_permissions(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    ana = crm.user(team_id=team.id)
    peer = crm.user(team_id=team.id, deal_visibility=DealVisibility.TEAM)
    manager = crm.user(team_id=team.id, role=Role.MANAGER, deal_visibility=DealVisibility.TEAM)
    deal = crm.deal(peer, name="Peer deal")
    change = DealChange(next_step="Mine now")

    # Not visible: the same answer as a deal that does not exist.
    assert update_deal(session, ana, deal.id, change=change, now=now).status is (OpStatus.NOT_FOUND)
    seen = crm.deal(ana, name="Ana deal")
    refused = update_deal(session, peer, seen.id, change=change, now=now)
    assert refused.status is OpStatus.FORBIDDEN  # sees it, but may not change it
    assert update_deal(session, ana, None, change=change, now=now).status is OpStatus.INVALID
    assert seen.next_step is None and deal.next_step is None
    assert update_deal(session, manager, deal.id, change=change, now=now).changed


def test_create_deal(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    count = session.scalar(select(func.count()).select_from(Deal))

    result = create_deal(session, rep, DealDraft(name="Globex", amount="12,000.50"), now=now)

    deal = session.get(Deal, result.record_id)
    assert deal is not None and result.message == (
        "Done: deal 'Globex' created in Appointment scheduled."
    )
    assert (deal.owner_id, deal.amount, deal.created_at) == (rep.id, Decimal("12000.50"), now)
    for bad in (DealDraft(name=" "), DealDraft(name="x", amount="lots"), DealDraft("x", "zz")):
        assert create_deal(session, rep, bad, now=now).status is OpStatus.INVALID
    assert session.scalar(select(func.count()).select_from(Deal)) == (count or 0) + 1
