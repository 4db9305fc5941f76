"""A small portal in the HubSpot stand-in, and a connector client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.hubspot import WEBHOOK_PATH, HubSpotWorker, webhook_app
from bot.settings import load_settings
from connectors.hubspot import OfficialClient, RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.setup import ensure_properties
from connectors.hubspot.write_api import WritingClient
from demo.hubspot_portal.portal import PipelineDef, Stage
from demo.hubspot_portal.webhooks import receiving
from rules.op_result import OpResult
from storage.models import Activity, Deal, Role, User
from storage.outbox import OUTBOX_INFO_KEY
from tests.support.app import RunningApp, start_app
from tests.support.hubspot import HubSpotStandIn, Portal, running_hubspot
from tests.support.slack_api import SlackStandIn, running_standin


@dataclass
class SmallPortal:
    """Ids of the records ``small_portal`` made."""

    dana: str
    sam: str
    acme: str
    ada: str
    deal: str
    task: str
    call: str


def fill_small_portal(portal: Portal) -> SmallPortal:
    """Two owners, deal and lead pipelines, a company, a contact, a deal, a task, a call."""
    team = portal.add_team("Berlin")
    dana = portal.add_owner("dana@northwind.example", "Dana", "Reyes", teams=[team])
    sam = portal.add_owner("sam@northwind.example", "Sam", "Ortiz", teams=[team])
    portal.set_pipelines(
        "deals",
        [
            PipelineDef(
                "default",
                "Sales",
                0,
                [
                    Stage("appointmentscheduled", "Appointment", 0, False, 0.2),
                    Stage("closedwon", "Won", 1, True, 1.0),
                    Stage("closedlost", "Lost", 2, True, 0.0),
                ],
            )
        ],
    )
    portal.set_pipelines(
        "leads",
        [
            PipelineDef(
                "lead-pipeline",
                "Leads",
                0,
                [
                    Stage("new", "New", 0, False, None),
                    Stage("qualified", "Qualified", 1, True, 1.0),
                    Stage("unqualified", "Disqualified", 2, True, 0.0),
                ],
            )
        ],
    )
    created = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    acme = portal.create(
        "companies",
        {
            "name": "Acme",
            "domain": "acme.example",
            "hubspot_owner_id": dana.id,
            "createdate": created,
        },
    )
    ada = portal.create(
        "contacts",
        {
            "firstname": "Ada",
            "lastname": "Lovelace",
            "email": "ada@acme.example",
            "lifecyclestage": "lead",
            "hubspot_owner_id": dana.id,
            "associatedcompanyid": acme.id,
            "createdate": created,
        },
    )
    portal.associate("contacts", ada.id, "companies", acme.id, primary=True)
    deal = portal.create(
        "deals",
        {
            "dealname": "Acme - Platform",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            "amount": 12000,
            "closedate": created + timedelta(days=30),
            "hubspot_owner_id": dana.id,
            "createdate": created,
        },
    )
    portal.associate("deals", deal.id, "contacts", ada.id)
    portal.associate("deals", deal.id, "companies", acme.id, primary=True)
    task = portal.create(
        "tasks",
        {
            "hs_task_subject": "Send the proposal",
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "EMAIL",
            "hs_timestamp": created + timedelta(days=2),
            "hubspot_owner_id": dana.id,
        },
    )
    portal.associate("tasks", task.id, "deals", deal.id)
    portal.associate("tasks", task.id, "contacts", ada.id)
    call = portal.create(
        "calls",
        {
            "hs_call_title": "Intro call",
            "hs_call_status": "COMPLETED",
            "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
            "hs_call_duration": 125000,
            "hs_timestamp": created + timedelta(days=1),
            "hubspot_owner_id": dana.id,
        },
    )
    portal.associate("calls", call.id, "contacts", ada.id)
    return SmallPortal(dana.id, sam.id, acme.id, ada.id, deal.id, task.id, call.id)


# HubSpot allows 5 searches a second and the client paces its searches to match: a sync's
# searches waited seconds in every test. Here the limit is raised on both sides (the
# stand-in's own tests check the search limit; test_limits.py the client's windows).
SEARCHES_PER_SECOND = 100


@pytest.fixture
def hubspot() -> Iterator[HubSpotStandIn]:
    with running_hubspot() as standin:
        standin.limits.search_per_second = SEARCHES_PER_SECOND
        yield standin


@pytest.fixture
def small_portal(hubspot: HubSpotStandIn) -> SmallPortal:
    return fill_small_portal(hubspot.portal)


@pytest.fixture
def api(hubspot: HubSpotStandIn) -> OfficialClient:
    """The connector's client, with a limiter of its own (no sharing between tests)."""
    limiter = RateLimiter(search_per_second=SEARCHES_PER_SECOND)
    return OfficialClient(token=hubspot.token, api_url=hubspot.base_url, limiter=limiter)


@pytest.fixture
def writer(hubspot: HubSpotStandIn) -> WritingClient:
    """The write-back's client (no settling pause: the stand-in's search is never stale)."""
    limiter = RateLimiter(search_per_second=SEARCHES_PER_SECOND)
    client = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=limiter)
    client.search_settle_seconds = 0
    return client


@dataclass
class Store:
    """A store synced from the small portal, and the ids the write-back tests act on.
    Dana manages the team and owns the deal, task and call; Sam is a rep."""

    engine: Engine
    dana: int
    sam: int
    task: int
    call: int
    deal: int

    def session(self) -> Session:
        """A unit of work with the outbox on, as ``salesbot serve`` makes them."""
        return Session(self.engine, info={OUTBOX_INFO_KEY: True}, expire_on_commit=False)

    def act(self, write: Callable[[Session, User], OpResult], *, as_sam: bool = False) -> OpResult:
        """A click: the write and its outbox row commit together. Dana's clicks must change
        something; Sam's may be refused (then nothing is committed)."""
        with self.session() as session:
            actor = session.get(User, self.sam if as_sam else self.dana)
            assert actor is not None
            result = write(session, actor)
            assert as_sam or result.changed, result.message
            if result.changed:
                session.commit()
        return result


@pytest.fixture
def store(sqlite_engine: Engine, writer: WritingClient, small_portal: SmallPortal) -> Store:
    ensure_properties(writer)  # `salesbot hubspot setup`
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `salesbot hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    with Session(sqlite_engine) as session:

        def local(model: type[User] | type[Activity] | type[Deal], external_id: str) -> int:
            found = session.scalar(select(model.id).where(model.external_id == external_id))
            assert found is not None
            return found

        # Dana manages the team (a salesbot setting): she may give Sam a task.
        manager = session.get(User, local(User, small_portal.dana))
        assert manager is not None
        manager.role = Role.MANAGER
        session.commit()
        return Store(
            sqlite_engine,
            dana=local(User, small_portal.dana),
            sam=local(User, small_portal.sam),
            task=local(Activity, small_portal.task),
            call=local(Activity, small_portal.call),
            deal=local(Deal, small_portal.deal),
        )


@contextmanager
def receiving_webhooks(
    engine: Engine, api: OfficialClient, secret: str
) -> Iterator[tuple[str, HubSpotWorker]]:
    """salesbot's webhook endpoint (signed with ``secret``) on a local port, with a worker
    that is not started: yields the URL to deliver to and the worker that applies them."""
    settings = load_settings(hubspot_webhook_secret=SecretStr(secret))
    worker = HubSpotWorker(engine, api, every=timedelta(minutes=5), publish=lambda _: None)
    with receiving(webhook_app(settings, engine, worker), WEBHOOK_PATH) as url:
        yield url, worker


@contextmanager
def serving_with_hubspot(
    engine: Engine, hubspot: HubSpotStandIn, **settings: Any
) -> Iterator[tuple[RunningApp, SlackStandIn]]:
    """The app as ``salesbot serve`` runs it with a token: ``start_hubspot`` wires the
    HubSpot worker (and its routes, the write-back); the workers stop at the end."""
    from bot.hubspot import start_hubspot

    workers: list[HubSpotWorker] = []

    def routes(app: Any, services: Any) -> dict[str, Any]:
        worker, extra = start_hubspot(services.settings, engine, services, app.client)
        assert worker is not None
        workers.append(worker)
        return extra

    with (
        running_standin() as slack,
        start_app(
            engine,
            slack,
            clock=lambda: datetime.now(UTC),
            routes=routes,
            hubspot_token=hubspot.token,
            hubspot_api_url=hubspot.base_url,
            **settings,
        ) as running,
    ):
        try:
            yield running, slack
        finally:
            for worker in workers:
                worker.stop()
