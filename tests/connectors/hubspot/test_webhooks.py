"""HubSpot's webhooks: only signed, fresh deliveries are kept; their changes reach the store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.hubspot import HubSpotWorker
from connectors.hubspot import OfficialClient, Syncer
from demo.hubspot_portal.webhooks import deliver, signed_delivery
from storage.models import Activity, ActivityKind, TaskStatus, WebhookEvent
from tests.connectors.hubspot.conftest import SmallPortal, receiving_webhooks
from tests.support.hubspot import HubSpotStandIn

SECRET = "client-secret-for-tests"


@pytest.fixture
def receiver(sqlite_engine: Engine, api: OfficialClient) -> Iterator[tuple[str, HubSpotWorker]]:
    with receiving_webhooks(sqlite_engine, api, SECRET) as receiving:
        yield receiving


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)


def test_a_signed_change_is_applied(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
) -> None:
    url, worker = receiver
    Syncer(sqlite_engine, api).run(full=True)
    hubspot.portal.take_events()
    hubspot.portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
    hubspot.portal.archive("calls", small_portal.call)

    [delivery] = deliver(url, hubspot.portal.take_events(), client_secret=SECRET)
    applied = worker.apply_webhooks()

    assert delivery.status == 204 and applied == 2
    with Session(sqlite_engine) as session:
        task = session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()
        assert task.status == TaskStatus.COMPLETED
        assert (
            session.scalars(select(Activity).where(Activity.kind == ActivityKind.CALL)).all() == []
        )


@pytest.mark.parametrize("bad", ["forge", "stale"])
def test_forged_and_stale_deliveries_are_refused(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
    bad: str,
) -> None:
    url, _ = receiver
    delivery = signed_delivery(
        url, hubspot.portal.take_events(), client_secret=SECRET, **{bad: True}
    )

    assert delivery.send() == 401
    assert _events(sqlite_engine) == 0


def test_a_replayed_delivery_changes_nothing(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    receiver: tuple[str, HubSpotWorker],
) -> None:
    url, _ = receiver
    events = hubspot.portal.take_events()
    delivery = signed_delivery(url, events, client_secret=SECRET)
    assert delivery.send() == 204
    kept = _events(sqlite_engine)

    delivery.resend()

    assert kept == len(events) and _events(sqlite_engine) == kept
