"""Wiring the HubSpot connector into salesbot: a client from the settings, syncs under the
lease, and the guided actions brought up to date after every applied change.

The connector writes the store; this module (the ``bot`` layer) is where its results meet
the domain: ``rules`` re-evaluates the guided actions of the records a sync touched.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.settings import Settings
from connectors.hubspot import (
    OfficialClient,
    Syncer,
    SyncResult,
    release_lease,
    take_lease,
    touched_user_ids,
)
from connectors.hubspot.sync import Progress
from rules.actions import evaluate
from rules.write_hooks import after_write

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
) -> Applied:
    """Sync under the lease, then re-evaluate guided actions for what changed.

    Returns ``skipped_reason`` when another replica holds the lease.
    """
    holder = holder or replica_name()
    with Session(engine) as session:
        if not take_lease(session, holder=holder, now=clock(), ttl=LEASE_TTL):
            session.rollback()
            return Applied(None, set(), "another replica is syncing")
        session.commit()
    try:
        result = Syncer(engine, client, clock=clock, on_progress=on_progress).run(
            full=full, only=only
        )
        users = apply_to_workspace(engine, result, full=full, now=clock())
    finally:
        with Session(engine) as session:
            release_lease(session, holder=holder)
            session.commit()
    return Applied(result, users)


def apply_to_workspace(
    engine: Engine, result: SyncResult, *, full: bool, now: datetime
) -> set[int]:
    """Guided actions see the sync's changes; returns the users whose view may differ."""
    users = touched_user_ids(engine, result.touched)
    with Session(engine) as session:
        if full or result.owners_changed:
            evaluate(session, now=now)
        elif result.touched:
            after_write(session, now=now, refs=result.touched)
        session.commit()
    return users
