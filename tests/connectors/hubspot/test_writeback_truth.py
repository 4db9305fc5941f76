"""What a user is told about a write HubSpot did not take as it was (issue #10, "the user
sees the truth"): a new task linked to a deal deleted in HubSpot is saved without that link
and says so; a failure can be dismissed from the Home tab, by its own user only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.setup import ensure_properties
from connectors.hubspot.write_api import MARKER_PROPERTY, WritingClient
from connectors.hubspot.writeback import Delivered, OutboxSender
from handlers.i18n import use_language
from handlers.render.crm_writes import write_notice_blocks, write_notice_text
from handlers.render.kit import fallback_text
from handlers.slack import ids
from rules.crm_writes.ops import dismiss_write, retry_write
from rules.crm_writes.queries import NoticeKind, unsaved_notices, write_notice
from rules.deals.ops import DealChange, update_deal
from rules.op_result import OpResult, OpStatus
from rules.tasks.ops import TaskDraft, complete_task, create_task
from storage.changes import last_change
from storage.models import (
    Activity,
    Deal,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
    WriteReason,
)
from storage.outbox import OUTBOX_INFO_KEY, summary
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


class Store:
    def __init__(self, engine: Engine, portal: SmallPortal) -> None:
        self.engine = engine
        with Session(engine) as session:
            self.dana = self._id(session, User, portal.dana)
            self.sam = self._id(session, User, portal.sam)
            self.task = self._id(session, Activity, portal.task)
            self.deal = self._id(session, Deal, portal.deal)

    @staticmethod
    def _id(session: Session, model: type[User | Activity | Deal], external_id: str) -> int:
        found = session.scalar(select(model.id).where(model.external_id == external_id))
        assert found is not None
        return found

    def act(self, user_id: int, write: Callable[[Session, User], OpResult]) -> OpResult:
        """A click by ``user_id``: the write and its outbox row commit together."""
        with Session(self.engine, info={OUTBOX_INFO_KEY: "HubSpot"}) as session:
            actor = session.get(User, user_id)
            assert actor is not None
            result = write(session, actor)
            if result.changed:
                session.commit()
            return result

    def row(self) -> OutboxWrite:
        with Session(self.engine) as session:
            return session.scalars(select(OutboxWrite).order_by(OutboxWrite.id.desc())).first()  # type: ignore[return-value]


@pytest.fixture
def writer(hubspot: HubSpotStandIn) -> WritingClient:
    client = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    client.search_settle_seconds = 0
    return client


@pytest.fixture
def store(sqlite_engine: Engine, writer: WritingClient, small_portal: SmallPortal) -> Store:
    ensure_properties(writer)
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    return Store(sqlite_engine, small_portal)


def _deliver(store: Store, writer: WritingClient) -> Delivered:
    return OutboxSender(store.engine, writer, holder="test", clock=lambda: NOW).deliver()


def _notice_text(store: Store, row_id: int, language: str = "en") -> str:
    with Session(store.engine, info={OUTBOX_INFO_KEY: "HubSpot"}) as session:
        notice = write_notice(session, row_id, now=NOW)
        assert notice is not None
        with use_language(language):
            return fallback_text(write_notice_text(notice))  # as Slack gets it


# A new task linked to a deal deleted in HubSpot (F19) -----------------------------------


def test_a_task_linked_to_a_deal_deleted_in_hubspot_is_created_without_that_link(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.portal.archive("deals", small_portal.deal)  # salesbot has not heard yet
    store.act(
        store.dana,
        lambda s, a: create_task(
            s,
            a,
            TaskDraft(subject="Book the demo", due_at=NOW + timedelta(days=1), deal_id=store.deal),
            now=NOW,
        ),
    )

    report = _deliver(store, writer)

    row = store.row()
    assert report.sent == 1 and report.failed == 0
    assert row.state is OutboxState.SENT and row.reason_code == WriteReason.LINKS_GONE
    [created] = [
        r for r in hubspot.portal.live("tasks") if r.properties.get(MARKER_PROPERTY) == row.marker
    ]
    assert created.properties["hs_task_subject"] == "Book the demo"
    assert hubspot.portal.associations("tasks", created.id, "deals") == []
    # Its other links stay: the deal's contact came along in salesbot, and exists.
    with Session(store.engine) as session:
        task = session.get(Activity, row.object_id)
        assert task is not None and task.external_id == created.id
        # The deal is gone here too, as a sync would have removed it (with a tombstone).
        assert session.get(Deal, store.deal) is None
        tombstone = last_change(session, object_type=OwnedObject.DEAL, object_id=store.deal)
        assert tombstone is not None
    # The user is told, plainly and in their language.
    assert row.id in report.notify
    assert _notice_text(store, row.id) == (
        "Saved in HubSpot: “Book the demo”, but it is not linked to 'Acme - Platform': "
        "that record no longer exists in HubSpot."
    )
    german = _notice_text(store, row.id, "de")
    assert german.startswith("In HubSpot gespeichert: „Book the demo“, aber es ist nicht mit")
    # Sent once: another pass creates nothing more.
    _deliver(store, writer)
    assert len([r for r in hubspot.portal.live("tasks") if r.id != small_portal.task]) == 1


def test_every_task_linked_to_a_deleted_deal_says_so_not_only_the_first(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.portal.archive("deals", small_portal.deal)
    subjects = ["Book the demo", "Send the contract", "Call the CFO"]
    for subject in subjects:
        store.act(store.dana, _new_task_on_the_deal(store, subject))

    report = _deliver(store, writer)

    with Session(store.engine) as session:
        rows = list(session.scalars(select(OutboxWrite).order_by(OutboxWrite.id)))
        assert session.get(Deal, store.deal) is None  # gone here too, once the pass is over
    assert [r.state for r in rows] == [OutboxState.SENT] * 3
    assert [r.reason_code for r in rows] == [WriteReason.LINKS_GONE] * 3
    assert sorted(report.notify) == [r.id for r in rows]
    for row, subject in zip(rows, subjects, strict=True):
        assert _notice_text(store, row.id).startswith(
            f"Saved in HubSpot: “{subject}”, but it is not linked to 'Acme - Platform'"
        )
    made = [r for r in hubspot.portal.live("tasks") if r.id != small_portal.task]
    assert sorted(str(r.properties["hs_task_subject"]) for r in made) == sorted(subjects)


def _new_task_on_the_deal(store: Store, subject: str) -> Callable[[Session, User], OpResult]:
    def write(session: Session, actor: User) -> OpResult:
        draft = TaskDraft(subject=subject, due_at=NOW + timedelta(days=1), deal_id=store.deal)
        return create_task(session, actor, draft, now=NOW)

    return write


# Dismissing a failure from the Home tab (F8) ---------------------------------------------


def _failed_for_good(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, task: str
) -> int:
    hubspot.portal.archive("tasks", task)
    store.act(store.dana, lambda s, a: complete_task(s, a, store.task, now=NOW))
    _deliver(store, writer)
    row = store.row()
    assert row.state is OutboxState.FAILED and row.reason_code == WriteReason.DELETED
    return row.id


def _home_notices(store: Store, user_id: int) -> list[int]:
    with Session(store.engine, info={OUTBOX_INFO_KEY: "HubSpot"}) as session:
        return [n.row_id for n in unsaved_notices(session, user_id, now=NOW)]


def test_a_deleted_record_notice_offers_dismiss_and_no_retry(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    row_id = _failed_for_good(store, writer, hubspot, small_portal.task)
    with Session(store.engine, info={OUTBOX_INFO_KEY: "HubSpot"}) as session:
        [notice] = unsaved_notices(session, store.dana, now=NOW)
        assert notice.kind is NoticeKind.FAILED and not notice.can_retry
        blocks = write_notice_blocks(notice)
    assert "the record was deleted in HubSpot" in str(blocks)
    buttons = [(e["action_id"], e["value"]) for e in blocks[-1]["elements"]]
    assert buttons == [(ids.CRM_WRITE_DISMISS, str(row_id))]


def test_dismiss_takes_the_notice_off_its_users_home_tab_only_for_that_user(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    row_id = _failed_for_good(store, writer, hubspot, small_portal.task)

    # Sam may not dismiss Dana's notice, nor can a forged id reach anything.
    refused = store.act(store.sam, lambda s, a: dismiss_write(s, a, str(row_id), now=NOW))
    assert refused.status is OpStatus.FORBIDDEN
    assert store.act(store.sam, lambda s, a: dismiss_write(s, a, "x", now=NOW)).refused
    assert _home_notices(store, store.dana) == [row_id]

    done = store.act(store.dana, lambda s, a: dismiss_write(s, a, str(row_id), now=NOW))
    assert done.status is OpStatus.DONE
    assert _home_notices(store, store.dana) == []
    again = store.act(store.dana, lambda s, a: dismiss_write(s, a, str(row_id), now=NOW))
    assert again.status is OpStatus.ALREADY
    # Still a failure for `salesbot hubspot status`: dismissing hides, it does not undo.
    with Session(store.engine) as session:
        assert summary(session).failed == 1


def test_a_dismissed_failure_that_fails_again_after_retry_shows_again(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    hubspot.revoke_scope("crm.objects.deals.write")
    store.act(
        store.dana,
        lambda s, a: update_deal(
            s, a, store.deal, change=DealChange(next_step="Kick-off"), now=NOW
        ),
    )
    _deliver(store, writer)
    row_id = store.row().id
    store.act(store.dana, lambda s, a: dismiss_write(s, a, str(row_id), now=NOW))
    assert _home_notices(store, store.dana) == []

    store.act(store.dana, lambda s, a: retry_write(s, a, str(row_id), now=NOW))
    _deliver(store, writer)

    assert store.row().state is OutboxState.FAILED
    assert _home_notices(store, store.dana) == [row_id]
