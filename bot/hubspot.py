"""Wiring the HubSpot connector into salesbot: a client from the settings, syncs under the
lease, and the guided actions brought up to date after every applied change.

The connector writes the store; this module (the ``bot`` layer) is where its results meet
the domain: ``rules`` re-evaluates the guided actions of the records a sync touched.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.crm_changes import apply_to_workspace
from bot.settings import Settings
from bot.worker import BackgroundWorker
from connectors.hubspot import (
    HubSpotError,
    OfficialClient,
    Syncer,
    SyncResult,
    release_lease,
    take_lease,
)
from connectors.hubspot.account import OtherPortal, check_portal
from connectors.hubspot.sync import Progress
from connectors.hubspot.webhooks import BadPayload, apply_pending, signature_is_valid, store_events
from storage.models import User

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from slack_sdk import WebClient

    from handlers.slack.services import Services

logger = logging.getLogger(__name__)

# A replica holds the sync lease this long after its last renewal; a crashed one's lease
# runs out and another replica takes over.
LEASE_TTL = timedelta(minutes=10)


def is_configured(settings: Settings) -> bool:
    return settings.hubspot_token is not None and bool(settings.hubspot_token.get_secret_value())


def client_for(settings: Settings) -> OfficialClient:
    assert settings.hubspot_token is not None
    return OfficialClient(
        token=settings.hubspot_token.get_secret_value(), api_url=settings.hubspot_api_url
    )


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Applied:
    """A sync's result and the users whose workspace it may have changed."""

    result: SyncResult | None
    users: set[int]
    skipped_reason: str | None = None


def sync_and_apply(
    engine: Engine,
    client: OfficialClient,
    *,
    full: bool = False,
    only: Sequence[str] | None = None,
    holder: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_progress: Progress | None = None,
    adopt_portal: bool = False,
) -> Applied:
    """Sync under the lease, then re-evaluate guided actions for what changed.

    Returns ``skipped_reason`` when another replica holds the lease; raises
    ``OtherPortal`` (nothing synced) when the token belongs to another portal than the
    store's, ``UnconfirmedPortal`` when the store holds records of a sync that recorded no
    portal (unless ``adopt_portal``: the user confirmed they are this token's portal's).
    """
    check_portal(engine, client, now=clock(), adopt=adopt_portal)
    holder = holder or replica_name()
    with Session(engine) as session:
        if not take_lease(session, holder=holder, now=clock(), ttl=LEASE_TTL):
            session.rollback()
            return Applied(None, set(), "another replica is syncing")
        session.commit()
    try:
        syncer = Syncer(
            engine, client, clock=clock, on_progress=on_progress, lease=(holder, LEASE_TTL)
        )
        result = syncer.run(full=full, only=only)
        users = apply_to_workspace(engine, result, full=full, now=clock())
    finally:
        with Session(engine) as session:
            release_lease(session, holder=holder)
            session.commit()
    return Applied(result, users)


# In `salesbot serve` ----------------------------------------------------------------------

WEBHOOK_PATH = "/hubspot/webhooks"
_MAX_BODY = 1_048_576


class HubSpotWorker(BackgroundWorker):
    """Applies stored webhook events within seconds and syncs every N minutes, in a thread.

    After each applied change the Home tabs of the users whose records changed are
    published again (``publish`` is given the Slack user ids).
    """

    thread_name = "hubspot-sync"
    failure_message = "the background sync failed; it runs again later"

    def __init__(
        self,
        engine: Engine,
        client: OfficialClient,
        *,
        every: timedelta,
        publish: Callable[[list[str]], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.engine = engine
        self.client = client
        self.every = every
        self.publish = publish
        self.clock = clock
        self.holder = replica_name()
        self._next_sync = clock()
        # Workers that live and die with this one (the write-back's outbox worker).
        self.also_stop: list[Callable[[], None]] = []

    def stop(self) -> None:
        """Stop the worker and give up the sync lease, so another replica syncs at once
        (a sync still running here stops at its next renewal: the lease is lost)."""
        super().stop()
        for stop in self.also_stop:
            stop()
        try:
            with Session(self.engine) as session:
                release_lease(session, holder=self.holder)
                session.commit()
        except SQLAlchemyError as error:
            logger.warning("hubspot: sync lease not released (%s); it runs out by itself", error)

    def step(self) -> None:
        self.apply_webhooks()
        if self.clock() >= self._next_sync:
            self._next_sync = self.clock() + self.every
            self.sync_now()

    def pause(self) -> float:
        # Webhook events wake the worker; otherwise it looks every 5 s at most.
        return max(0.0, min(self.idle_seconds, (self._next_sync - self.clock()).total_seconds()))

    def apply_webhooks(self) -> int:
        """Apply every waiting webhook event; returns how many."""
        total = 0
        while True:
            syncer = Syncer(self.engine, self.client, clock=self.clock)
            count, result = apply_pending(syncer)
            if not count:
                return total
            total += count
            self._apply(result, full=False)
            if result.stopped:
                # Some types failed: their events wait for the next round, not a tight loop.
                logger.warning(
                    "hubspot webhooks: some events wait for a retry (%s)", result.stopped
                )
                return total

    def sync_now(self) -> Applied:
        applied = sync_and_apply(self.engine, self.client, holder=self.holder, clock=self.clock)
        if applied.result is not None:
            self._publish(applied.users)
        return applied

    def _apply(self, result: SyncResult, *, full: bool) -> None:
        users = apply_to_workspace(self.engine, result, full=full, now=self.clock())
        self._publish(users)

    def _publish(self, user_ids: set[int]) -> None:
        if not user_ids:
            return
        with Session(self.engine) as session:
            slack_ids = [
                s
                for s in session.scalars(
                    select(User.slack_user_id).where(User.id.in_(sorted(user_ids)))
                )
                if s
            ]
        if slack_ids:
            self.publish(slack_ids)


def webhook_app(
    settings: Settings, engine: Engine, worker: HubSpotWorker | None
) -> WSGIApplication:
    """``POST /hubspot/webhooks``: 401 unless HubSpot's v3 signature checks out, else 204."""
    secret = settings.hubspot_webhook_secret

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _MAX_BODY:
            return _answer(start_response, "413 Payload Too Large")
        body = environ["wsgi.input"].read(length) if length else b""
        now = datetime.now(UTC)
        if secret is None or not signature_is_valid(
            secret=secret.get_secret_value(),
            method="POST",
            uri=_request_uri(environ),
            body=body,
            timestamp=environ.get("HTTP_X_HUBSPOT_REQUEST_TIMESTAMP"),
            signature=environ.get("HTTP_X_HUBSPOT_SIGNATURE_V3"),
            now=now,
        ):
            return _answer(start_response, "401 Unauthorized")
        try:
            with Session(engine) as session:
                store_events(session, body, now=now)
                session.commit()
        except BadPayload:
            return _answer(start_response, "400 Bad Request")
        if worker is not None:
            worker.wake()
        return _answer(start_response, "204 No Content")

    return application


def _request_uri(environ: WSGIEnvironment) -> str:
    """The URL HubSpot called (and signed), as seen through a proxy that forwards it."""
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_X_FORWARDED_HOST")
        or environ.get("HTTP_HOST")
        or environ.get("SERVER_NAME", "")
    )
    uri = f"{scheme}://{host}{quote(environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))}"
    query = environ.get("QUERY_STRING")
    return f"{uri}?{query}" if query else uri


def _answer(start_response: StartResponse, status: str) -> list[bytes]:
    start_response(status, [("Content-Length", "0")])
    return []


def start_hubspot(
    settings: Settings, engine: Engine, services: Services, slack: WebClient
) -> tuple[HubSpotWorker | None, dict[str, WSGIApplication]]:
    """In ``salesbot serve``: the background worker and the webhook route (none without a
    token; without a webhook secret, no route: the periodic sync alone keeps up)."""
    if not is_configured(settings):
        return None, {}
    client = client_for(settings)
    try:
        # A token of another portal stops `serve` here (OtherPortal), before any write.
        check_portal(engine, client, now=datetime.now(UTC))
    except OtherPortal:
        raise
    except HubSpotError as error:
        # Unreachable for now: every sync checks again before it writes, and the
        # write-back sends nothing until it has confirmed the portal itself.
        logger.warning("hubspot: the portal is not checked yet (%s)", error)
    from handlers.slack.context import Acting
    from handlers.slack.home_tab import publish_home

    def publish(slack_user_ids: list[str]) -> None:
        for slack_user_id in slack_user_ids:
            try:
                publish_home(Acting(services, slack, slack_user_id))
            except Exception:
                logger.exception("hubspot: refreshing the Home tab of %s failed", slack_user_id)

    worker = HubSpotWorker(
        engine,
        client,
        every=timedelta(minutes=settings.hubspot_sync_minutes),
        publish=publish,
    ).start()
    # Every write from a button now goes to HubSpot too (docs/hubspot.md, "Write-back").
    from bot.writeback import start_writeback

    worker.also_stop.append(
        start_writeback(
            settings, engine, services, slack, publish=publish, holder=replica_name()
        ).stop
    )
    if settings.hubspot_association_sweep_minutes:
        # Association changes without a webhook (docs/hubspot.md, "Association changes").
        from bot.hubspot_sweep import AssociationSweeper

        sweeper = AssociationSweeper(
            engine,
            worker.client,
            every=timedelta(minutes=settings.hubspot_association_sweep_minutes),
            holder=worker.holder,
            lease_ttl=LEASE_TTL,
            publish=publish,
        ).start()
        worker.also_stop.append(sweeper.stop)
    routes = {}
    if settings.hubspot_webhook_secret is not None:
        routes[WEBHOOK_PATH] = webhook_app(settings, engine, worker)
    logger.info("hubspot: syncing every %d minutes", settings.hubspot_sync_minutes)
    return worker, routes
