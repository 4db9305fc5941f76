"""Bad data from HubSpot (issue #9 item 8): a record is stored with what can be stored and
the problem is logged once; and every way a record is read again (incremental sync, the
write-back's refresh) keeps what the sync derived from property history."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import OutboxSender
from rules.deals.ops import DealChange, update_deal
from storage.models import Activity, Company, Deal, OutboxState, OutboxWrite, User
from storage.outbox import OUTBOX_INFO_KEY
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

NEXT_STEP_SET = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)


def _activity(engine: Engine, external_id: str) -> Activity:
    with Session(engine) as session:
        found = session.scalar(select(Activity).where(Activity.external_id == external_id))
        assert found is not None
        return found


def test_long_text_is_clipped_and_nul_characters_removed_not_the_whole_field(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    portal = hubspot.portal
    due: dict[str, str | datetime] = {
        "hs_timestamp": portal.now(),
        "hubspot_owner_id": small_portal.dana,
    }
    long_task = portal.create(
        "tasks",
        {"hs_task_subject": "Call " + "x" * 606, "hs_task_body": "Agenda\x00: price", **due},
    )
    nul_task = portal.create("tasks", {"hs_task_subject": "NUL only a\x00b", **due})
    note = portal.create("notes", {"hs_note_body": "<p>Budget\x00 approved</p>", **due})
    portal.update("deals", small_portal.deal, {"hs_next_step": "Send\x00 pricing"})
    odd = portal.create(
        "companies", {"name": "Initech " + "n" * 392, "domain": "ini\x00tech.example"}
    )

    with caplog.at_level(logging.WARNING):
        result = Syncer(any_engine, api).run(full=True)

    clipped = _activity(any_engine, long_task.id)
    assert clipped.subject == "Call " + "x" * 494 + "…" and clipped.body == "Agenda: price"
    assert _activity(any_engine, nul_task.id).subject == "NUL only ab"
    assert _activity(any_engine, note.id).body == "Budget approved"
    with Session(any_engine) as session:
        deal = session.scalars(select(Deal)).one()
        assert deal.next_step == "Send pricing"
        company = session.scalar(select(Company).where(Company.external_id == odd.id))
        # A name is clipped; a domain with a NUL in it is no domain: left out.
        assert company is not None and company.name == "Initech " + "n" * 291 + "…"
        assert company.domain is None
    problem = f"tasks {long_task.id}: subject: longer than 500 characters (611): clipped"
    assert problem in result.problems
    assert f"tasks {nul_task.id}: subject: NUL characters removed" in result.problems
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged.count(f"hubspot: {problem}") == 1


# Reading a deal again keeps (and moves) the times derived from its history ----------------


def _deal_times(engine: Engine) -> tuple[datetime | None, datetime | None]:
    with Session(engine) as session:
        deal = session.scalars(select(Deal)).one()
        return deal.stage_changed_at, deal.next_step_updated_at


def test_an_incremental_sync_keeps_the_deals_stage_and_next_step_times(
    any_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """The incremental sync already read deals with history: it must stay so (the guard for
    the webhook fix, which now reads the same way)."""
    portal = hubspot.portal
    portal.update("deals", small_portal.deal, {"hs_next_step": "Send pricing"}, at=NEXT_STEP_SET)
    Syncer(any_engine, api).run(full=True)
    entered, _ = _deal_times(any_engine)
    assert entered is not None

    portal.update("deals", small_portal.deal, {"amount": 15000})
    Syncer(any_engine, api, archived_sweep_every=timedelta(0)).run()
    assert _deal_times(any_engine) == (entered, NEXT_STEP_SET)

    moved = portal.now() + timedelta(minutes=1)
    portal.update("deals", small_portal.deal, {"dealstage": "closedwon"}, at=moved)
    Syncer(any_engine, api, archived_sweep_every=timedelta(0)).run()
    assert _deal_times(any_engine) == (moved, NEXT_STEP_SET)


def test_a_refused_write_back_restores_the_deal_with_its_stage_and_next_step_times(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """A deal change HubSpot refuses brings the local copy back to HubSpot's: all of it."""
    writer = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    portal = hubspot.portal
    portal.update("deals", small_portal.deal, {"hs_next_step": "Send pricing"}, at=NEXT_STEP_SET)
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    entered, _ = _deal_times(sqlite_engine)
    assert entered is not None
    hubspot.revoke_scope("crm.objects.deals.write")
    now = datetime.now(UTC)
    with Session(sqlite_engine, info={OUTBOX_INFO_KEY: True}) as session:
        dana = session.scalar(select(User).where(User.external_id == small_portal.dana))
        deal = session.scalars(select(Deal)).one()
        assert dana is not None
        change = DealChange(next_step="Kick-off")
        assert update_deal(session, dana, deal.id, change=change, now=now).changed
        session.commit()

    OutboxSender(sqlite_engine, writer, holder="replica-a", clock=lambda: now).deliver()

    with Session(sqlite_engine) as session:
        assert session.scalars(select(OutboxWrite.state)).one() is OutboxState.FAILED
        assert session.scalars(select(Deal.next_step)).one() == "Send pricing"
    assert _deal_times(sqlite_engine) == (entered, NEXT_STEP_SET)
