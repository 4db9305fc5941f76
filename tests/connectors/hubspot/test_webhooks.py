"""HubSpot's webhooks: only signed, fresh deliveries are kept; their changes reach the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.hubspot import WEBHOOK_PATH, HubSpotWorker, webhook_app
from bot.settings import load_settings
from connectors.hubspot import OfficialClient, Syncer
from demo.hubspot_portal.webhooks import deliver, signed_delivery
from storage.models import Activity, ActivityKind, TaskStatus, WebhookEvent
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

SECRET = "client-secret-for-tests"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver(sqlite_engine: Engine, api: OfficialClient) -> Iterator[tuple[str, HubSpotWorker]]:
    """salesbot's webhook endpoint on a local port, with a worker that is not started."""
    settings = load_settings(hubspot_webhook_secret=SecretStr(SECRET))
    worker = HubSpotWorker(sqlite_engine, api, every=timedelta(minutes=5), publish=lambda _: None)
    server: WSGIServer = make_server(
        "127.0.0.1", 0, webhook_app(settings, sqlite_engine, worker), handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}", worker
    server.shutdown()
    server.server_close()


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
