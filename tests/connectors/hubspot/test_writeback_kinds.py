"""Write-back of the kinds added last: task reopen, a deal's amount, notes, call notes and
logged calls (docs/hubspot.md, "What each button changes in HubSpot")."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.hubspot import Syncer
from connectors.hubspot.write_api import MARKER_PROPERTY, WritingClient
from connectors.hubspot.writeback import CLAIM_TTL, Delivered, OutboxSender
from handlers.render.crm_writes import write_notice_text
from handlers.render.kit import fallback_text
from rules.activity_log.ops import CallLog, add_note, log_call
from rules.crm_writes.queries import write_notice
from rules.deals.ops import DealChange, update_deal
from rules.meetings.ops import log_call_outcome
from rules.tasks.ops import complete_task, reopen_task
from storage.models import Activity, ActivityKind, Deal, OutboxState, OutboxWrite
from tests.connectors.hubspot.conftest import SmallPortal, Store
from tests.connectors.hubspot.crashing_writer import run_until_killed
from tests.support.hubspot import HubSpotStandIn

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
HOSTILE = "<script>alert('hi')</script> & <b>bold</b>\nsecond line"


def _deliver(store: Store, writer: WritingClient) -> Delivered:
    return OutboxSender(store.engine, writer, holder="replica-a", clock=lambda: NOW).deliver()


def _props(hubspot: HubSpotStandIn, kind: str, record_id: str) -> dict[str, str | None]:
    return dict(hubspot.portal.get(kind, record_id).properties)


def _rows(store: Store) -> list[OutboxWrite]:
    with Session(store.engine) as session:
        return list(session.scalars(select(OutboxWrite).order_by(OutboxWrite.id)))


def _linked(hubspot: HubSpotStandIn, kind: str, record_id: str, to: str) -> list[str]:
    return [link.to_id for link in hubspot.portal.associations(kind, record_id, to)]


# Task reopen ----------------------------------------------------------------------------


def test_complete_then_reopen_ends_open_in_hubspot(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    store.act(lambda s, a: reopen_task(s, a, store.task, now=NOW + timedelta(seconds=5)))

    report = _deliver(store, writer)

    assert report.sent == 2 and report.conflicts == report.failed == 0
    assert _props(hubspot, "tasks", small_portal.task)["hs_task_status"] == "NOT_STARTED"
    updates = [
        r for r in hubspot.requests if r.endpoint in ("objects.batch_update", "objects.update")
    ]
    assert len(updates) == 2  # in order: complete, then reopen


def test_a_forged_reopen_writes_nothing_anywhere(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    _deliver(store, writer)
    hubspot.clear()

    # Sam (a rep) sends a click naming Dana's task.
    assert store.act(lambda s, a: reopen_task(s, a, store.task, now=NOW), as_sam=True).refused
    _deliver(store, writer)

    assert len(_rows(store)) == 1 and hubspot.count() == 0
    assert _props(hubspot, "tasks", small_portal.task)["hs_task_status"] == "COMPLETED"


# A deal's amount ------------------------------------------------------------------------


def test_a_new_amount_lands_in_hubspot(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(
        lambda s, a: update_deal(s, a, store.deal, change=DealChange(amount="185.000"), now=NOW)
    )

    assert _deliver(store, writer).sent == 1

    assert Decimal(_props(hubspot, "deals", small_portal.deal)["amount"] or "") == 185000


def test_an_amount_changed_in_hubspot_since_is_not_overwritten(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    sam = hubspot.portal.owners[small_portal.sam]
    hubspot.portal.update("deals", small_portal.deal, {"amount": "15000"}, by_user_id=sam.user_id)
    store.act(
        lambda s, a: update_deal(s, a, store.deal, change=DealChange(amount="20,000"), now=NOW)
    )

    report = _deliver(store, writer)

    assert report.conflicts == 1 and report.sent == 0
    assert _props(hubspot, "deals", small_portal.deal)["amount"] == "15000"
    [row] = _rows(store)
    with Session(store.engine) as session:
        notice = write_notice(session, row.id, now=NOW)
        assert notice is not None
        assert "Sam Ortiz changed the amount" in fallback_text(write_notice_text(notice))
        deal = session.get(Deal, store.deal)
        assert deal is not None and deal.amount == Decimal("15000")  # HubSpot's again


# Notes ----------------------------------------------------------------------------------


def test_a_note_lands_once_with_its_links_and_hostile_text_stays_text(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    result = store.act(
        lambda s, a: add_note(s, a, on="deal", record_id=store.deal, body=HOSTILE, now=NOW)
    )

    assert _deliver(store, writer).sent == 1

    [note] = hubspot.portal.live("notes")
    body = note.properties["hs_note_body"] or ""
    assert "<script" not in body and "<b>" not in body
    assert html.unescape(body.replace("<br>", "\n")) == HOSTILE
    assert note.properties["hs_timestamp"] == "2026-03-11T15:30:00.000Z"
    assert note.properties["hubspot_owner_id"] == small_portal.dana
    assert note.properties[MARKER_PROPERTY]
    assert _linked(hubspot, "notes", note.id, "deals") == [small_portal.deal]
    assert _linked(hubspot, "notes", note.id, "contacts") == [small_portal.ada]
    assert _linked(hubspot, "notes", note.id, "companies") == [small_portal.acme]
    # The next sync reads the same note back: one note here, with the text as typed.
    Syncer(store.engine, writer).run(only=["notes"])
    with Session(store.engine) as session:
        [here] = session.scalars(select(Activity).where(Activity.kind == ActivityKind.NOTE))
        assert (here.id, here.external_id) == (result.record_id, note.id)
        assert here.body == HOSTILE


def test_a_forged_note_writes_nothing_anywhere(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    hubspot.clear()

    refused = store.act(
        lambda s, a: add_note(s, a, on="deal", record_id=store.deal, body="mine", now=NOW),
        as_sam=True,
    )
    _deliver(store, writer)

    assert refused.refused and _rows(store) == [] and hubspot.count() == 0


def test_killed_after_hubspot_took_the_note_it_is_created_once(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    run_until_killed(str(store.engine.url), hubspot.base_url, hubspot.token, "note-after-create")
    [created] = hubspot.portal.live("notes")
    # The claim of the killed replica runs out, then this one takes over.
    later = NOW + CLAIM_TTL + timedelta(seconds=1)

    report = OutboxSender(store.engine, writer, holder="replica-b", clock=lambda: later).deliver()

    assert report.sent == 1
    assert [n.id for n in hubspot.portal.live("notes")] == [created.id]
    assert hubspot.count("objects.create") == 1
    [row] = _rows(store)
    assert row.state is OutboxState.SENT and row.crm_id == created.id


# Calls ----------------------------------------------------------------------------------


def test_a_call_outcome_with_notes_lands_with_the_notes(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(
        lambda s, a: log_call_outcome(
            s, a, store.call, disposition="Connected", notes=HOSTILE, now=NOW
        )
    )

    assert _deliver(store, writer).sent == 1

    call = _props(hubspot, "calls", small_portal.call)
    assert call["hs_call_disposition"] == "f240bbac-87c9-4f6e-bf70-924b57d47db7"
    assert html.unescape((call["hs_call_body"] or "").replace("<br>", "\n")) == HOSTILE


def test_a_call_logged_on_a_deal_is_created_in_hubspot_with_its_notes(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    call = CallLog(disposition="Left voicemail", status="no_answer", notes="Try again Friday")
    store.act(lambda s, a: log_call(s, a, store.deal, call=call, now=NOW))

    assert _deliver(store, writer).sent == 1

    [new] = [r for r in hubspot.portal.live("calls") if r.id != small_portal.call]
    assert new.properties["hs_call_body"] == "Try again Friday"
    assert new.properties["hs_call_disposition"] == "b2cf5968-551e-4856-9783-52b3da59a7d0"
    assert new.properties["hs_call_status"] == "NO_ANSWER"
    assert new.properties["hs_call_title"] == "Call about Acme - Platform"
    assert new.properties["hs_timestamp"] == "2026-03-11T15:30:00.000Z"
    assert new.properties["hubspot_owner_id"] == small_portal.dana
    assert _linked(hubspot, "calls", new.id, "deals") == [small_portal.deal]
    assert _linked(hubspot, "calls", new.id, "contacts") == [small_portal.ada]
