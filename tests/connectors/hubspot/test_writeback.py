"""Write-back: every button's write lands in HubSpot, once, in order, without overwriting
a colleague's change (docs/hubspot.md, "Write-back")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.setup import check_properties, ensure_properties
from connectors.hubspot.write_api import ACTOR_PROPERTY, MARKER_PROPERTY, WritingClient
from connectors.hubspot.writeback import CLAIM_TTL, Delivered, OutboxSender
from handlers.render.crm_writes import write_notice_blocks, write_notice_text
from handlers.render.kit import block_problems, fallback_text
from rules.crm_writes.ops import apply_mine, keep_theirs, retry_write
from rules.crm_writes.queries import write_notice
from rules.deals.ops import DealChange, DealDraft, create_deal, update_deal
from rules.meetings.ops import log_call_outcome, log_meeting_outcome
from rules.op_result import OpResult
from rules.tasks.ops import (
    TaskDraft,
    TaskEdit,
    complete_task,
    create_follow_up_task,
    create_task,
    delete_task,
    edit_task,
    reassign_task,
    reschedule_task,
)
from storage.models import (
    Activity,
    ActivityKind,
    Deal,
    OutboxState,
    OutboxWrite,
    PipelineStage,
    User,
)
from tests.connectors.hubspot.conftest import SmallPortal, Store
from tests.connectors.hubspot.crashing_writer import run_until_killed
from tests.support.hubspot import HubSpotStandIn

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


def _sender(store: Store, writer: WritingClient, holder: str = "replica-a") -> OutboxSender:
    return OutboxSender(store.engine, writer, holder=holder, clock=lambda: NOW)


def _deliver(store: Store, writer: WritingClient) -> Delivered:
    return _sender(store, writer).deliver()


def _props(hubspot: HubSpotStandIn, kind: str, record_id: str) -> dict[str, str | None]:
    return dict(hubspot.portal.get(kind, record_id).properties)


def _updates_sent(hubspot: HubSpotStandIn) -> int:
    """Record updates HubSpot was asked for: batch inputs and single PATCHes."""
    return sum(
        len(r.body["inputs"]) if r.endpoint == "objects.batch_update" else 1
        for r in hubspot.requests
        if r.endpoint in ("objects.batch_update", "objects.update")
    )


def _rows(store: Store) -> list[OutboxWrite]:
    with Session(store.engine) as session:
        return list(session.scalars(select(OutboxWrite).order_by(OutboxWrite.id)))


# Each write kind lands ------------------------------------------------------------------


def test_task_writes_land_in_hubspot_in_order(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(lambda s, a: reschedule_task(s, a, store.task, to=date(2026, 3, 20), now=NOW))
    store.act(
        lambda s, a: edit_task(
            s,
            a,
            store.task,
            edit=TaskEdit(subject="Send the new proposal", priority="low", notes="Pricing v2"),
            now=NOW,
        )
    )
    store.act(lambda s, a: reassign_task(s, a, store.task, new_owner_id=store.sam, now=NOW))
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))

    report = _deliver(store, writer)

    task = _props(hubspot, "tasks", small_portal.task)
    assert report.sent == 4 and report.conflicts == report.failed == 0
    assert task["hs_task_status"] == "COMPLETED"
    assert task["hs_timestamp"] is not None and task["hs_timestamp"].startswith("2026-03-20")
    assert task["hs_task_subject"] == "Send the new proposal"
    assert task["hs_task_priority"] == "LOW"
    assert task["hs_task_body"] == "Pricing v2"
    assert task["hubspot_owner_id"] == small_portal.sam
    assert all(r.state is OutboxState.SENT for r in _rows(store))


def test_a_new_task_and_its_follow_up_are_created_once_with_their_links(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    due = NOW + timedelta(days=1)
    store.act(
        lambda s, a: create_follow_up_task(
            s, a, store.task, TaskDraft(subject="Follow up: proposal", due_at=due), now=NOW
        )
    )
    store.act(
        lambda s, a: create_task(
            s, a, TaskDraft(subject="Book the demo", due_at=due, deal_id=store.deal), now=NOW
        )
    )

    _deliver(store, writer)

    created = {
        r.properties["hs_task_subject"]: r
        for r in hubspot.portal.live("tasks")
        if r.id != small_portal.task
    }
    assert set(created) == {"Follow up: proposal", "Book the demo"}
    follow_up = created["Follow up: proposal"]
    assert follow_up.properties["hs_task_status"] == "NOT_STARTED"
    assert follow_up.properties["hubspot_owner_id"] == small_portal.dana
    links = hubspot.portal.associations("tasks", follow_up.id, "deals")
    assert [link.to_id for link in links] == [small_portal.deal]
    assert [
        link.to_id for link in hubspot.portal.associations("tasks", follow_up.id, "contacts")
    ] == [small_portal.ada]
    # The local records now carry HubSpot's ids: the next sync updates, never duplicates.
    with Session(store.engine) as session:
        ids = set(
            session.scalars(select(Activity.external_id).where(Activity.kind == ActivityKind.TASK))
        )
    assert ids == {small_portal.task, *(r.id for r in created.values())}
    Syncer(store.engine, writer).run(only=["tasks"])
    with Session(store.engine) as session:
        assert (
            len(session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).all())
            == 3
        )


def test_deleting_a_task_deletes_it_in_hubspot(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(lambda s, a: delete_task(s, a, store.task, now=NOW))

    _deliver(store, writer)

    assert [r.id for r in hubspot.portal.archived("tasks")] == [small_portal.task]


def test_meeting_and_call_outcomes_land(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    meeting = hubspot.portal.create(
        "meetings",
        {
            "hs_meeting_title": "Discovery",
            "hs_meeting_start_time": NOW - timedelta(hours=2),
            "hs_timestamp": NOW - timedelta(hours=2),
            "hs_meeting_outcome": "SCHEDULED",
            "hubspot_owner_id": small_portal.dana,
        },
    )
    Syncer(store.engine, writer).run(only=["meetings"])
    with Session(store.engine) as session:
        meeting_id = session.scalar(select(Activity.id).where(Activity.external_id == meeting.id))

    store.act(lambda s, a: log_meeting_outcome(s, a, meeting_id, outcome="no_show", now=NOW))
    store.act(
        lambda s, a: log_call_outcome(
            s, a, store.call, disposition="Left voicemail", status="no_answer", now=NOW
        )
    )
    _deliver(store, writer)

    assert _props(hubspot, "meetings", meeting.id)["hs_meeting_outcome"] == "NO_SHOW"
    call = _props(hubspot, "calls", small_portal.call)
    assert call["hs_call_disposition"] == "b2cf5968-551e-4856-9783-52b3da59a7d0"
    assert call["hs_call_status"] == "NO_ANSWER"


def test_deal_update_and_create_land(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    with Session(store.engine) as session:
        won = session.scalar(
            select(PipelineStage.id).where(PipelineStage.external_id == "closedwon")
        )
    store.act(
        lambda s, a: update_deal(
            s,
            a,
            store.deal,
            change=DealChange(stage_id=won, close_date=date(2026, 3, 31), next_step="Kick-off"),
            now=NOW,
        )
    )
    store.act(
        lambda s, a: create_deal(
            s,
            a,
            DealDraft(name="Acme - Expansion", amount="12,000.50", close_date=date(2026, 6, 30)),
            now=NOW,
        )
    )

    _deliver(store, writer)

    deal = _props(hubspot, "deals", small_portal.deal)
    assert deal["dealstage"] == "closedwon"
    assert deal["closedate"] == "2026-03-31T00:00:00.000Z"
    assert deal["hs_next_step"] == "Kick-off"
    [new] = [r for r in hubspot.portal.live("deals") if r.id != small_portal.deal]
    assert new.properties["dealname"] == "Acme - Expansion"
    assert Decimal(new.properties["amount"] or "0") == Decimal("12000.50")
    assert new.properties["dealstage"] == "appointmentscheduled"
    assert new.properties["pipeline"] == "default"
    assert new.properties["hubspot_owner_id"] == small_portal.dana
    assert new.properties[MARKER_PROPERTY]


def test_without_a_portal_no_outbox_row_is_written(store: Store) -> None:
    with Session(store.engine) as session:
        actor = session.get(User, store.dana)
        assert actor is not None
        assert complete_task(session, actor, store.task, now=NOW).changed
        session.commit()

    assert _rows(store) == []


# Failures, retries, crashes, replicas ---------------------------------------------------


def test_429_and_5xx_are_retried_inside_the_limiter(
    store: Store, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    waits: list[float] = []
    limiter = RateLimiter(sleep=waits.append)
    writer = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=limiter)
    hubspot.fail_next(1, status=429, endpoint="objects.batch_update")
    hubspot.fail_next(2, status=503, endpoint="objects.batch_update")
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))

    report = _deliver(store, writer)

    assert report.sent == 1
    assert _props(hubspot, "tasks", small_portal.task)["hs_task_status"] == "COMPLETED"
    assert hubspot.count("objects.batch_update", status=200) == 1
    # The 429 waited one rate-limit interval (no Retry-After); the 503s backed off.
    assert waits == [10.0, 2.0, 4.0]


def test_a_create_answered_5xx_is_looked_up_before_it_is_sent_again(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    hubspot.fail_next(1, status=502, endpoint="objects.create")
    store.act(
        lambda s, a: create_task(
            s, a, TaskDraft(subject="Book the demo", due_at=NOW + timedelta(days=1)), now=NOW
        )
    )

    _deliver(store, writer)

    assert [r.properties["hs_task_subject"] for r in hubspot.portal.live("tasks")].count(
        "Book the demo"
    ) == 1
    assert hubspot.count("objects.search", object_type="tasks") == 1


def _reschedule_next_week(session: Session, actor: User, *, task_id: int) -> OpResult:
    return reschedule_task(session, actor, task_id, to="next_week", now=NOW)


def _complete(session: Session, actor: User, *, task_id: int) -> OpResult:
    return complete_task(session, actor, task_id, now=NOW)


def test_two_replicas_send_each_row_once_in_order(
    store: Store, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    tasks = [
        hubspot.portal.create(
            "tasks",
            {
                "hs_task_subject": f"Call {n}",
                "hs_task_status": "NOT_STARTED",
                "hs_timestamp": NOW + timedelta(days=1),
                "hubspot_owner_id": small_portal.dana,
            },
        ).id
        for n in range(8)
    ]
    api = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    Syncer(store.engine, api).run(only=["tasks"])
    with Session(store.engine) as session:
        local = list(session.scalars(select(Activity.id).where(Activity.external_id.in_(tasks))))
    for task_id in local:
        store.act(partial(_reschedule_next_week, task_id=task_id))
        store.act(partial(_complete, task_id=task_id))
    hubspot.latency_seconds = 0.005

    import threading

    senders = [
        OutboxSender(
            store.engine,
            WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter()),
            holder=name,
            clock=lambda: NOW,
        )
        for name in ("replica-a", "replica-b")
    ]
    reports: list[Delivered] = []
    threads = [
        threading.Thread(target=lambda s=s: reports.append(s.deliver(limit=3))) for s in senders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r.sent for r in reports) == 2 * len(tasks)
    assert _updates_sent(hubspot) == 2 * len(tasks)
    for task in tasks:
        props = _props(hubspot, "tasks", task)
        assert props["hs_task_status"] == "COMPLETED"
        assert (props["hs_timestamp"] or "").startswith("2026-03-18")


# Conflicts and refusals -----------------------------------------------------------------


def test_a_change_made_in_hubspot_since_is_not_overwritten(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    sam = hubspot.portal.owners[small_portal.sam]
    theirs = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
    hubspot.portal.update(
        "tasks", small_portal.task, {"hs_timestamp": theirs}, by_user_id=sam.user_id
    )
    store.act(lambda s, a: reschedule_task(s, a, store.task, to=date(2026, 3, 20), now=NOW))

    report = _deliver(store, writer)

    assert report.conflicts == 1 and report.sent == 0
    assert _props(hubspot, "tasks", small_portal.task)["hs_timestamp"] == "2026-03-25T09:00:00.000Z"
    [row] = _rows(store)
    assert row.state is OutboxState.CONFLICT and row.conflict is not None
    with store.session() as session:
        notice = write_notice(session, row.id, now=NOW)
        assert notice is not None
        assert "Sam Ortiz changed the due date" in fallback_text(write_notice_text(notice))
        task = session.get(Activity, store.task)
        assert task is not None and task.due_at == theirs  # the local copy is HubSpot's again


def test_a_task_deleted_in_hubspot_fails_plainly_and_goes_here_too(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.portal.archive("tasks", small_portal.task)
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))

    report = _deliver(store, writer)

    [row] = _rows(store)
    assert report.failed == 1 and row.state is OutboxState.FAILED
    assert row.last_error == "the record was deleted in HubSpot"
    with Session(store.engine) as session:
        assert session.get(Activity, store.task) is None


def test_a_missing_scope_fails_plainly_and_the_local_copy_returns(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    hubspot.revoke_scope("crm.objects.deals.write")
    store.act(
        lambda s, a: update_deal(s, a, store.deal, change=DealChange(next_step="Kick-off"), now=NOW)
    )

    _deliver(store, writer)

    [row] = _rows(store)
    assert row.state is OutboxState.FAILED
    assert "crm.objects.deals.write" in (row.last_error or "")
    with Session(store.engine) as session:
        deal = session.get(Deal, store.deal)
        assert deal is not None and deal.next_step is None


def test_a_forged_click_writes_nothing_anywhere(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    with store.session() as session:
        sam = session.get(User, store.sam)  # a rep: Dana's task is not his
        assert sam is not None
        assert complete_task(session, sam, store.task, now=NOW).refused
        session.commit()
    hubspot.clear()

    _deliver(store, writer)

    assert _rows(store) == [] and hubspot.count() == 0


def test_killed_after_the_commit_and_after_hubspot_took_the_create_it_is_created_once(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    def crash(point: str) -> None:
        run_until_killed(str(store.engine.url), hubspot.base_url, hubspot.token, point)

    crash("after-commit")  # the task and its row are committed, nothing sent
    assert [r.state for r in _rows(store)] == [OutboxState.PENDING]
    crash("after-create")  # HubSpot has the task; salesbot never recorded its id
    [created] = [
        r
        for r in hubspot.portal.live("tasks")
        if r.properties["hs_task_subject"] == "Send the contract"
    ]
    [row] = _rows(store)
    # A sync reads HubSpot's new task before the write-back could record it: a copy.
    Syncer(store.engine, writer).run(only=["tasks"])
    # The claim of the killed replica runs out, then this one takes over.
    sender = OutboxSender(
        store.engine,
        writer,
        holder="replica-b",
        clock=lambda: NOW + CLAIM_TTL + timedelta(seconds=1),
    )

    report = sender.deliver()

    assert report.sent == 1
    subjects = [r.properties["hs_task_subject"] for r in hubspot.portal.live("tasks")]
    assert subjects.count("Send the contract") == 1
    assert hubspot.count("objects.create") == 1
    with Session(store.engine) as session:
        row_now = session.get(OutboxWrite, row.id)
        assert row_now is not None and row_now.state is OutboxState.SENT
        assert row_now.crm_id == created.id
        assert (
            session.scalar(select(Activity.id).where(Activity.external_id == created.id))
            == row.object_id
        )
        # The sync's copy was folded into the task the user created: one task, not two.
        tasks = session.scalars(select(Activity.subject).where(Activity.kind == ActivityKind.TASK))
        assert list(tasks).count("Send the contract") == 1


# The user's answers ---------------------------------------------------------------------


def test_apply_mine_overwrites_hubspot_and_the_user_hears_it_was_saved(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    sam = hubspot.portal.owners[small_portal.sam]
    hubspot.portal.update(
        "tasks",
        small_portal.task,
        {"hs_timestamp": datetime(2026, 3, 25, 9, 0, tzinfo=UTC)},
        by_user_id=sam.user_id,
    )
    store.act(lambda s, a: reschedule_task(s, a, store.task, to=date(2026, 3, 20), now=NOW))
    _deliver(store, writer)
    [row] = _rows(store)
    blocks = _notice_blocks(store, row.id)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [
        "crm_write_apply_mine",
        "crm_write_keep_theirs",
    ]
    _mark_told(store, row.id)

    store.act(lambda s, a: apply_mine(s, a, row.id, now=NOW))
    report = _deliver(store, writer)

    assert report.sent == 1 and report.notify == [row.id]
    due = _props(hubspot, "tasks", small_portal.task)["hs_timestamp"] or ""
    assert due.startswith("2026-03-20")
    with store.session() as session:
        notice = write_notice(session, row.id, now=NOW)
        assert notice is not None and fallback_text(write_notice_text(notice)).startswith(
            "Saved in the CRM"
        )
        task = session.get(Activity, store.task)
        assert task is not None and task.due_at is not None and task.due_at.day == 20


def test_keep_theirs_drops_the_change_and_a_stranger_cannot_decide(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.portal.update("tasks", small_portal.task, {"hs_task_priority": "LOW"})
    store.act(lambda s, a: edit_task(s, a, store.task, edit=TaskEdit(priority="medium"), now=NOW))
    _deliver(store, writer)
    [row] = _rows(store)
    assert row.state is OutboxState.CONFLICT

    with store.session() as session:
        sam = session.get(User, store.sam)
        assert sam is not None
        assert apply_mine(session, sam, row.id, now=NOW).refused
    store.act(lambda s, a: keep_theirs(s, a, row.id, now=NOW))
    _deliver(store, writer)

    assert _props(hubspot, "tasks", small_portal.task)["hs_task_priority"] == "LOW"
    assert [r.state for r in _rows(store)] == [OutboxState.DISCARDED]


def test_retry_sends_a_failed_change_once_the_scope_is_back(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.revoke_scope("crm.objects.deals.write")
    store.act(
        lambda s, a: update_deal(s, a, store.deal, change=DealChange(next_step="Kick-off"), now=NOW)
    )
    _deliver(store, writer)
    [row] = _rows(store)
    assert [e["action_id"] for e in _notice_blocks(store, row.id)[-1]["elements"]] == [
        "crm_write_retry",
        "crm_write_dismiss",
    ]

    hubspot.scopes.add("crm.objects.deals.write")
    store.act(lambda s, a: retry_write(s, a, row.id, now=NOW))
    _deliver(store, writer)

    assert _props(hubspot, "deals", small_portal.deal)["hs_next_step"] == "Kick-off"
    assert [r.state for r in _rows(store)] == [OutboxState.SENT]


def _notice_blocks(store: Store, row_id: int) -> list[dict[str, Any]]:
    with store.session() as session:
        notice = write_notice(session, row_id, now=NOW)
    assert notice is not None
    blocks = write_notice_blocks(notice)
    assert block_problems(blocks, surface="message") == []
    return blocks


def _mark_told(store: Store, row_id: int) -> None:
    with Session(store.engine) as session:
        row = session.get(OutboxWrite, row_id)
        assert row is not None
        row.notified_at = NOW
        session.commit()


def test_status_shows_the_outbox(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    hubspot.portal.archive("tasks", str(hubspot.portal.live("tasks")[0].id))
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    _deliver(store, writer)
    store.act(
        lambda s, a: update_deal(s, a, store.deal, change=DealChange(next_step="Call"), now=NOW)
    )
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string())

    shown = CliRunner().invoke(app, ["hubspot", "status"])

    assert shown.exit_code == 0, shown.output
    assert "writes to HubSpot: 1 pending" in shown.output
    assert "1 failed" in shown.output
    assert "failed (1): the record was deleted in HubSpot" in shown.output


# Batches ---------------------------------------------------------------------------------


def _more_tasks(store: Store, hubspot: HubSpotStandIn, owner: str, count: int) -> list[int]:
    """``count`` more open tasks in HubSpot, synced; their local ids."""
    ids = [
        hubspot.portal.create(
            "tasks",
            {
                "hs_task_subject": f"Call {n}",
                "hs_task_status": "NOT_STARTED",
                "hs_timestamp": NOW + timedelta(days=1),
                "hubspot_owner_id": owner,
            },
        ).id
        for n in range(count)
    ]
    Syncer(store.engine, WritingClient(token=hubspot.token, api_url=hubspot.base_url)).run(
        only=["tasks"]
    )
    with Session(store.engine) as session:
        return list(session.scalars(select(Activity.id).where(Activity.external_id.in_(ids))))


def test_updates_of_many_records_go_in_one_batch_read_and_one_batch_update(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    tasks = _more_tasks(store, hubspot, small_portal.dana, 30)
    for task_id in tasks:
        store.act(partial(_complete, task_id=task_id))
    hubspot.clear()

    report = _deliver(store, writer)

    assert report.sent == 30
    assert hubspot.count("objects.batch_read", object_type="tasks") == 1
    assert hubspot.count("objects.batch_update", object_type="tasks") == 1
    # And once, in a sender's life, the portal check (the store's portal, confirmed).
    assert hubspot.count("account.details") == 1
    assert hubspot.count() == 3
    completed = [r for r in hubspot.portal.live("tasks") if r.id != small_portal.task]
    assert all(r.properties["hs_task_status"] == "COMPLETED" for r in completed)


def test_a_record_gone_from_hubspot_does_not_hold_up_its_batch(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    first, second = _more_tasks(store, hubspot, small_portal.dana, 2)
    store.act(partial(_complete, task_id=first))
    store.act(partial(_complete, task_id=second))
    with Session(store.engine) as session:
        gone = session.get(Activity, second)
        assert gone is not None and gone.external_id is not None
        gone_id = gone.external_id
    hubspot.portal.archive("tasks", gone_id)

    report = _deliver(store, writer)

    assert report.sent == 1 and report.failed == 1
    states = {r.object_id: (r.state, r.last_error) for r in _rows(store)}
    assert states[first] == (OutboxState.SENT, None)
    assert states[second] == (OutboxState.FAILED, "the record was deleted in HubSpot")


def test_a_value_hubspot_refuses_fails_its_row_alone_and_the_batch_goes_through(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """HubSpot refuses a whole batch update for one invalid value (400): each row is then
    sent alone, so the good ones land and only the bad one fails."""
    other = hubspot.portal.create(
        "deals",
        {
            "dealname": "Acme - Support",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            "hubspot_owner_id": small_portal.dana,
        },
    )
    Syncer(store.engine, writer).run(only=["deals"])
    with Session(store.engine) as session:
        other_id = session.scalar(select(Deal.id).where(Deal.external_id == other.id))
        stages = dict(session.execute(select(PipelineStage.external_id, PipelineStage.id)).all())
    assert other_id is not None
    # An admin removes "Lost" from the pipeline in HubSpot; salesbot still offers it.
    [pipeline] = hubspot.portal.pipelines["deals"]
    pipeline.stages = [s for s in pipeline.stages if s.id != "closedlost"]
    store.act(
        lambda s, a: update_deal(
            s, a, store.deal, change=DealChange(stage_id=stages["closedwon"]), now=NOW
        )
    )
    store.act(
        lambda s, a: update_deal(
            s, a, other_id, change=DealChange(stage_id=stages["closedlost"]), now=NOW
        )
    )

    report = _deliver(store, writer)

    assert report.sent == 1 and report.failed == 1
    assert _props(hubspot, "deals", small_portal.deal)["dealstage"] == "closedwon"
    assert _props(hubspot, "deals", other.id)["dealstage"] == "appointmentscheduled"
    states = {r.object_id: (r.state, r.last_error or "") for r in _rows(store)}
    assert states[store.deal][0] is OutboxState.SENT
    assert states[other_id][0] is OutboxState.FAILED
    assert states[other_id][1].startswith("HubSpot refused the values")


# Who acted, in HubSpot ---------------------------------------------------------------------


def test_each_change_names_who_acted_in_hubspot(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    store.act(
        lambda s, a: create_task(
            s, a, TaskDraft(subject="Book the demo", due_at=NOW + timedelta(days=1)), now=NOW
        )
    )
    sender = OutboxSender(
        store.engine,
        writer,
        holder="replica-a",
        clock=lambda: NOW,
        actor_types=check_properties(writer).actor_types,
    )

    sender.deliver()

    task = hubspot.portal.get("tasks", small_portal.task)
    assert task.properties[ACTOR_PROPERTY] == "Dana Reyes"
    # The history shows her name at the moment of the change, beside the app's change.
    [named] = task.history[ACTOR_PROPERTY]
    [done] = [e for e in task.history["hs_task_status"] if e.value == "COMPLETED"]
    assert named.timestamp == done.timestamp and named.source_type == "INTEGRATION"
    [new] = [r for r in hubspot.portal.live("tasks") if r.id != small_portal.task]
    assert new.properties[ACTOR_PROPERTY] == "Dana Reyes"


def test_without_the_property_changes_still_land_unnamed(
    sqlite_engine: Engine, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """A portal where `salesbot hubspot setup` never ran: updates go through; the check
    says which properties are missing, and nothing names who acted."""
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    found = check_properties(writer)
    with Session(sqlite_engine) as session:
        task_id = session.scalar(
            select(Activity.id).where(Activity.external_id == small_portal.task)
        )
        dana = session.scalar(select(User.id).where(User.external_id == small_portal.dana))
    assert task_id is not None and dana is not None
    store = Store(sqlite_engine, dana=dana, sam=dana, task=task_id, call=task_id, deal=task_id)
    store.act(lambda s, a: complete_task(s, a, task_id, now=NOW))

    OutboxSender(
        sqlite_engine, writer, holder="a", clock=lambda: NOW, actor_types=found.actor_types
    ).deliver()

    assert not found.complete and found.actor_types == frozenset()
    assert "salesbot_id missing on calls, deals, meetings, notes, tasks" in found.describe()
    assert "run `salesbot hubspot setup`" in found.describe()
    task = _props(hubspot, "tasks", small_portal.task)
    assert task["hs_task_status"] == "COMPLETED" and ACTOR_PROPERTY not in task


# salesbot's properties in the portal ---------------------------------------------------------


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from bot.cli import app

    return CliRunner().invoke(app, list(args))


def test_setup_creates_the_properties_once_and_says_which_scope_is_missing(
    hubspot: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESBOT_HUBSPOT_TOKEN", hubspot.token)
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", hubspot.base_url)

    first = _cli("hubspot", "setup")
    again = _cli("hubspot", "setup")

    assert first.exit_code == 0, first.output
    for object_type in ("tasks", "meetings", "calls", "notes", "deals"):
        custom = hubspot.portal.custom_properties[object_type]
        assert set(custom) == {MARKER_PROPERTY, ACTOR_PROPERTY}
        assert {d["groupName"] for d in custom.values()} == {"salesbot"}
        assert "salesbot" in hubspot.portal.property_groups[object_type]
    assert f"created {ACTOR_PROPERTY} on tasks" in first.output
    assert again.exit_code == 0, again.output
    assert "already there on calls, deals, meetings, notes, tasks" in again.output
    assert hubspot.count("properties.create", status=201) == 10

    # The admin takes the schema scopes away once setup has run: running it again (as the
    # docs say is safe) only reads.
    for object_type in ("contacts", "deals"):
        hubspot.revoke_scope(f"crm.schemas.{object_type}.write")
    after_revoking = _cli("hubspot", "setup")
    assert after_revoking.exit_code == 0, after_revoking.output
    assert hubspot.count("properties.create", status=201) == 10

    hubspot.portal.custom_properties["deals"].clear()
    refused = _cli("hubspot", "setup")

    assert refused.exit_code == 1
    assert "needs the scope crm.schemas.deals.write" in " ".join(refused.output.split())


def test_status_says_when_the_properties_are_missing_and_whether_changes_name_who_acted(
    store: Store, hubspot: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string())
    monkeypatch.setenv("SALESBOT_HUBSPOT_TOKEN", hubspot.token)
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", hubspot.base_url)

    ready = " ".join(_cli("hubspot", "status").output.split())
    hubspot.portal.custom_properties["deals"].pop(MARKER_PROPERTY)
    monkeypatch.setenv("SALESBOT_HUBSPOT_AUTHOR_PROPERTY", "false")
    gap = " ".join(_cli("hubspot", "status").output.split())

    assert "salesbot_id, salesbot_acted_by present on calls, deals, meetings, notes, tasks" in ready
    assert f"who acted, in HubSpot: {ACTOR_PROPERTY} names the Slack user on calls" in ready
    assert "salesbot_id missing on deals (new records fail to reach HubSpot)" in gap
    assert "run `salesbot hubspot setup`" in gap
    assert "who acted, in HubSpot: off (SALESBOT_HUBSPOT_AUTHOR_PROPERTY=false)" in gap


def test_the_outbox_worker_checks_the_properties_at_start_and_says_what_is_missing(
    sqlite_engine: Engine,
    writer: WritingClient,
    hubspot: HubSpotStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.writeback import OutboxWorker

    hubspot.portal.property_groups.clear()
    worker = OutboxWorker(
        sqlite_engine,
        OutboxSender(sqlite_engine, writer, holder="a"),
        tell=lambda *_: None,
        publish=lambda _ids: None,
        attribute=True,
    )

    with caplog.at_level("WARNING", logger="bot.writeback"):
        worker.step()

    assert worker.setup is not None and not worker.setup.complete
    assert "salesbot_id missing on calls, deals, meetings, notes, tasks" in caplog.text
    assert worker.sender.actor_types == frozenset()
    ensure_properties(writer)
    assert worker.check_setup().complete
    assert worker.sender.actor_types == {"calls", "deals", "meetings", "notes", "tasks"}


def test_a_change_still_lands_when_the_who_property_was_deleted_since_the_check(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    sender = OutboxSender(
        store.engine,
        writer,
        holder="replica-a",
        clock=lambda: NOW,
        actor_types=check_properties(writer).actor_types,
    )
    hubspot.portal.custom_properties["tasks"].pop(ACTOR_PROPERTY)  # an admin deletes it
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))

    report = sender.deliver()

    assert report.sent == 1 and report.failed == 0
    task = _props(hubspot, "tasks", small_portal.task)
    assert task["hs_task_status"] == "COMPLETED" and ACTOR_PROPERTY not in task
    assert "tasks" not in sender.actor_types and "deals" in sender.actor_types


def test_a_record_deleted_between_the_batch_read_and_update_fails_alone(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """HubSpot answers the batch update 207 (multi-status): the other row is sent."""
    first, second = _more_tasks(store, hubspot, small_portal.dana, 2)
    store.act(partial(_complete, task_id=first))
    store.act(partial(_complete, task_id=second))
    with Session(store.engine) as session:
        gone_id = session.scalar(select(Activity.external_id).where(Activity.id == second))
    assert gone_id is not None
    read_many = writer.read_many

    def read_then_deleted(*args: Any, **kwargs: Any) -> Any:
        found = read_many(*args, **kwargs)
        hubspot.portal.archive("tasks", gone_id)  # a colleague deletes it meanwhile
        return found

    writer.read_many = read_then_deleted  # type: ignore[method-assign]

    report = _deliver(store, writer)

    assert hubspot.count("objects.batch_update", status=207) == 1
    assert report.sent == 1 and report.failed == 1
    states = {r.object_id: (r.state, r.last_error) for r in _rows(store)}
    assert states[first] == (OutboxState.SENT, None)
    assert states[second] == (OutboxState.FAILED, "the record was deleted in HubSpot")
