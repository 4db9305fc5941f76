"""HubSpot's webhook endpoint under odd input: odd headers are refused like a bad signature,
one malformed event costs only itself, and applying a change keeps what the sync derived
from property history (when a deal entered its stage, when its next step changed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.hubspot import HubSpotWorker
from connectors.hubspot import OfficialClient, Syncer, status
from connectors.hubspot.webhooks import GIVE_UP_AFTER
from demo.hubspot_portal.webhooks import sign_v3, signed_delivery
from storage.models import Activity, ActivityKind, Deal, TaskStatus, WebhookEvent
from tests.connectors.hubspot.conftest import SmallPortal, receiving_webhooks
from tests.support.hubspot import HubSpotStandIn

SECRET = "client-secret-for-edges"
NEXT_STEP_SET = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def receiver(any_engine: Engine, api: OfficialClient) -> Iterator[tuple[str, HubSpotWorker]]:
    with receiving_webhooks(any_engine, api, SECRET) as receiving:
        yield receiving


def _kept(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)


def _task(engine: Engine) -> Activity:
    with Session(engine) as session:
        return session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()


def _warnings(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and all(w in r.getMessage() for w in words)
    ]


# Headers anyone can send ------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    ["²³", "9" * 400],
    ids=["unicode-digits", "400-digits"],
)
def test_an_odd_timestamp_header_is_refused_like_a_bad_signature(
    sqlite_engine: Engine, api: OfficialClient, stamp: str
) -> None:
    with receiving_webhooks(sqlite_engine, api, SECRET) as (url, _):
        delivery = signed_delivery(url, [], client_secret=SECRET)
        delivery.headers["X-HubSpot-Request-Timestamp"] = stamp

        assert delivery.send() == 401


def test_a_correctly_signed_but_impossible_timestamp_is_refused(
    sqlite_engine: Engine, api: OfficialClient
) -> None:
    """Signed with the secret over a timestamp of 400 digits: still 401, not a crash."""
    with receiving_webhooks(sqlite_engine, api, SECRET) as (url, _):
        delivery = signed_delivery(url, [], client_secret=SECRET)
        stamp = "9" * 400
        delivery.headers["X-HubSpot-Request-Timestamp"] = stamp
        delivery.headers["X-HubSpot-Signature-v3"] = sign_v3(
            SECRET, "POST", url, delivery.body, int(stamp)
        )

        assert delivery.send() == 401


# One bad event in a signed delivery -------------------------------------------------------

MALFORMED: dict[str, dict[str, Any]] = {
    "huge-occurredAt": {"occurredAt": 10**20},
    "unicode-eventId": {"eventId": "²"},
    "eventId-beyond-64-bits": {"eventId": 10**30},
    "objectId-not-a-number": {"objectId": "12abc"},
    "objectId-with-NUL": {"objectId": "10\x0001"},
}


@pytest.mark.parametrize("bad", list(MALFORMED))
def test_one_malformed_event_is_skipped_and_the_others_are_applied(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
    caplog: pytest.LogCaptureFixture,
    bad: str,
) -> None:
    url, worker = receiver
    Syncer(any_engine, api).run(full=True)
    hubspot.portal.take_events()
    hubspot.portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
    [good] = hubspot.portal.take_events()
    malformed = {**good, "eventId": good["eventId"] + 1000, **MALFORMED[bad]}

    with caplog.at_level(logging.WARNING):
        delivery = signed_delivery(url, [malformed, good], client_secret=SECRET)
        assert delivery.send() == 204
        worker.apply_webhooks()

    assert _kept(any_engine) == 1
    assert _task(any_engine).status == TaskStatus.COMPLETED
    [logged] = _warnings(caplog, "skipped")
    assert "object.propertyChange" in logged and repr(malformed["objectId"]) in logged


def test_a_nul_character_in_a_changed_value_costs_nothing(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
) -> None:
    """HubSpot sends the new value in the event: a NUL in it must not cost the change."""
    url, worker = receiver
    Syncer(any_engine, api).run(full=True)
    hubspot.portal.take_events()
    hubspot.portal.update(
        "tasks",
        small_portal.task,
        {"hs_task_subject": "Send the\x00proposal", "hs_task_status": "COMPLETED"},
    )

    [delivery] = hubspot.deliver_webhooks(url, client_secret=SECRET)
    worker.apply_webhooks()

    assert delivery.status == 204 and _kept(any_engine) == 2
    task = _task(any_engine)
    assert task.status == TaskStatus.COMPLETED and task.subject == "Send theproposal"


def test_bad_values_applied_by_webhook_are_stored_clipped_and_logged_once(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, worker = receiver
    Syncer(any_engine, api).run(full=True)
    hubspot.portal.take_events()
    hubspot.portal.update("tasks", small_portal.task, {"hs_task_subject": "Call " + "x" * 606})
    hubspot.portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})

    with caplog.at_level(logging.WARNING):
        hubspot.deliver_webhooks(url, client_secret=SECRET)
        worker.apply_webhooks()

    task = _task(any_engine)
    assert task.subject == "Call " + "x" * 494 + "…" and task.status == TaskStatus.COMPLETED
    assert _warnings(caplog, f"tasks {small_portal.task}: subject:", "611") != []
    assert len(_warnings(caplog, f"tasks {small_portal.task}: subject:")) == 1


# What the sync derives from property history ----------------------------------------------


def _deal_times(engine: Engine) -> tuple[datetime | None, datetime | None, datetime | None]:
    with Session(engine) as session:
        deal = session.scalars(select(Deal)).one()
        return deal.stage_changed_at, deal.next_step_updated_at, deal.closed_at


def test_a_webhook_keeps_the_deals_stage_and_next_step_times_and_moves_them_on_change(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
) -> None:
    url, worker = receiver
    portal = hubspot.portal
    portal.update("deals", small_portal.deal, {"hs_next_step": "Send pricing"}, at=NEXT_STEP_SET)
    Syncer(any_engine, api).run(full=True)
    entered, next_step_at, _ = _deal_times(any_engine)
    assert entered is not None and next_step_at == NEXT_STEP_SET
    portal.take_events()

    # An edit of another field, and a new contact on the deal (its modified date stays).
    portal.update("deals", small_portal.deal, {"amount": 15000})
    grace = portal.create("contacts", {"firstname": "Grace", "lastname": "Hopper"})
    hubspot.deliver_webhooks(url, client_secret=SECRET)
    worker.apply_webhooks()
    portal.associate("deals", small_portal.deal, "contacts", grace.id)
    hubspot.deliver_webhooks(url, client_secret=SECRET)
    worker.apply_webhooks()

    assert _deal_times(any_engine) == (entered, NEXT_STEP_SET, None)

    won_at = portal.now() + timedelta(minutes=1)
    portal.update("deals", small_portal.deal, {"dealstage": "closedwon"}, at=won_at)
    hubspot.deliver_webhooks(url, client_secret=SECRET)
    worker.apply_webhooks()

    assert _deal_times(any_engine) == (won_at, NEXT_STEP_SET, won_at)


# Which events are the same -----------------------------------------------------------------


def test_an_event_id_seen_before_on_another_event_is_kept_and_a_retry_is_not(
    any_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
) -> None:
    """HubSpot's eventId is not unique (another portal or app, a re-created app numbering
    from 1 again): only the same event sent again is a duplicate."""
    url, worker = receiver
    Syncer(any_engine, api).run(full=True)
    portal = hubspot.portal
    portal.take_events()
    portal.update("tasks", small_portal.task, {"hs_task_subject": "Send the proposal v2"})
    [first] = portal.take_events()
    assert signed_delivery(url, [first], client_secret=SECRET).send() == 204
    worker.apply_webhooks()

    portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
    [second] = portal.take_events()
    same_id = {**second, "eventId": first["eventId"]}
    retried = {**first, "attemptNumber": 1}
    assert signed_delivery(url, [same_id, retried], client_secret=SECRET).send() == 204
    worker.apply_webhooks()

    assert _kept(any_engine) == 2
    task = _task(any_engine)
    assert task.status == TaskStatus.COMPLETED and task.subject == "Send the proposal v2"


# When applying fails ------------------------------------------------------------------------


def test_a_type_that_cannot_be_read_holds_back_only_its_own_events(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    """Reading the deals fails: the task's change still lands at once; the deal's waits,
    is given up after five tries (``status`` counts it), and the next sync brings it."""
    Syncer(sqlite_engine, api).run(full=True)
    portal = hubspot.portal
    portal.take_events()
    portal.update("deals", small_portal.deal, {"amount": 15000})
    portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
    with receiving_webhooks(sqlite_engine, api, SECRET) as (url, worker):
        hubspot.deliver_webhooks(url, client_secret=SECRET)
        for _ in range(GIVE_UP_AFTER):
            # Deals are read before tasks: the one read failing (400: not retried) is theirs.
            hubspot.fail_next(1, status=400, endpoint="objects.batch_read")
            worker.apply_webhooks()
            assert _task(sqlite_engine).status == TaskStatus.COMPLETED

    with Session(sqlite_engine) as session:
        current = status(session, datetime.now(UTC))
        assert current.pending_events == 0 and current.given_up_events == 1
    Syncer(sqlite_engine, api).run()
    with Session(sqlite_engine) as session:
        assert session.scalars(select(Deal.amount)).one() == 15000
