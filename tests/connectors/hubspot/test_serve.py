"""In `salesbot serve`: HubSpot's webhooks reach the HTTP server, the worker applies them
and the owner's Home tab is published again."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.hubspot import WEBHOOK_PATH, HubSpotWorker
from demo.hubspot_portal.webhooks import signed_delivery
from storage.models import Activity, ActivityKind, SyncCursor, TaskStatus, User
from tests.connectors.hubspot.conftest import SmallPortal, serving_with_hubspot
from tests.support.hubspot import HubSpotStandIn

SECRET = "client-secret-for-serve"
DANA = "U0DANA0001"


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _synced(engine: Engine) -> bool:
    with Session(engine) as session:
        notes = session.get(SyncCursor, "notes")
        return notes is not None and notes.last_success_at is not None


def test_a_webhook_change_reaches_the_home_tab(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    with serving_with_hubspot(sqlite_engine, hubspot, hubspot_webhook_secret=SECRET) as (
        running,
        slack,
    ):
        _wait_for(lambda: _synced(sqlite_engine))
        with Session(sqlite_engine) as session:
            session.execute(
                update(User).where(User.external_id == small_portal.dana).values(slack_user_id=DANA)
            )
            session.commit()
        hubspot.portal.take_events()
        hubspot.portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
        url = running.url + WEBHOOK_PATH
        forged = signed_delivery(url, hubspot.portal.events, client_secret=SECRET, forge=True)
        assert forged.send() == 401
        [delivery] = hubspot.deliver_webhooks(url, client_secret=SECRET)
        assert delivery.status == 204

        # The start-up sync may publish Dana's tab too: wait for the webhook's change as well.
        _wait_for(
            lambda: (
                _task_status(sqlite_engine) == TaskStatus.COMPLETED
                and any(c.params.get("user_id") == DANA for c in slack.calls_to("views.publish"))
            )
        )
    assert _task_status(sqlite_engine) == TaskStatus.COMPLETED


def _task_status(engine: Engine) -> TaskStatus | None:
    with Session(engine) as session:
        task = session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()
        return task.status


def test_stopping_the_worker_releases_its_sync_lease(
    sqlite_engine: Engine, hubspot: HubSpotStandIn
) -> None:
    """A replica shutting down lets another one sync at once, not after the lease's TTL."""
    from bot.hubspot import LEASE_TTL
    from connectors.hubspot import OfficialClient, take_lease

    client = OfficialClient(token=hubspot.token, api_url=hubspot.base_url)
    worker = HubSpotWorker(sqlite_engine, client, every=LEASE_TTL, publish=lambda _ids: None)
    now = datetime.now(UTC)
    with Session(sqlite_engine) as session:
        assert take_lease(session, holder=worker.holder, now=now, ttl=LEASE_TTL)
        session.commit()
    worker.stop()
    with Session(sqlite_engine) as session:
        assert take_lease(session, holder="other-replica", now=now, ttl=LEASE_TTL)
