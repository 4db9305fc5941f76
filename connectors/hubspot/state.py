"""The sync's own rows: cursors, the day's API usage, the lease, and a status summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.hubspot.account import recorded_portal
from connectors.hubspot.objects import ALL_NAMES
from storage.models import ApiUsage, SyncCursor, SyncLease, WebhookEvent

LEASE = "hubspot"


def cursor(session: Session, name: str) -> SyncCursor:
    state = session.get(SyncCursor, name)
    if state is None:
        state = SyncCursor(object_type=name, cursor_id=0, records=0)
        session.add(state)
        session.flush()
    return state


def save_cursor(session: Session, name: str, **values: Any) -> None:
    state = cursor(session, name)
    for key, value in values.items():
        setattr(state, key, value)


def _usage(session: Session, day: date) -> ApiUsage:
    usage = session.get(ApiUsage, day)
    if usage is None:
        usage = ApiUsage(day=day, requests=0)
        session.add(usage)
        session.flush()
    return usage


def add_requests(
    session: Session,
    now: datetime,
    made: int,
    daily_limit: int | None,
    daily_remaining: int | None,
) -> None:
    usage = _usage(session, now.date())
    usage.requests = (usage.requests or 0) + made
    if daily_limit is not None:
        usage.daily_limit = daily_limit
    if daily_remaining is not None:
        usage.daily_remaining = daily_remaining


def mark_budget_spent(session: Session, now: datetime) -> None:
    _usage(session, now.date()).budget_spent_at = now


def budget_spent_today(session: Session, now: datetime) -> bool:
    usage = session.get(ApiUsage, now.date())
    return usage is not None and usage.budget_spent_at is not None


# The lease --------------------------------------------------------------------------------


def take_lease(session: Session, *, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the sync lease for ``holder``; False while another replica holds it.

    One conditional UPDATE (or the first INSERT) decides, so two replicas racing for it
    cannot both win; the caller commits.
    """
    expires = now + ttl
    taken = session.execute(  # type: ignore[attr-defined]
        update(SyncLease)
        .where(SyncLease.name == LEASE)
        .where((SyncLease.holder == holder) | (SyncLease.expires_at <= now))
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return True
    if session.get(SyncLease, LEASE) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SyncLease(name=LEASE, holder=holder, expires_at=expires))
    except IntegrityError:
        return False
    return True


def prune_applied_events(session: Session, *, older_than: datetime) -> int:
    """Forget webhook events applied before ``older_than``; return how many went.

    HubSpot retries a delivery for about a day, so a few days of applied events still catch
    every duplicate; events not applied yet stay whatever their age.
    """
    result = session.execute(
        delete(WebhookEvent).where(
            WebhookEvent.processed_at.is_not(None), WebhookEvent.processed_at < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release_lease(session: Session, *, holder: str) -> None:
    session.execute(delete(SyncLease).where(SyncLease.name == LEASE, SyncLease.holder == holder))


# Status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeStatus:
    name: str
    cursor_at: datetime | None
    lag: timedelta | None
    records: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    full_in_progress: bool


@dataclass(frozen=True)
class Status:
    types: list[TypeStatus]
    requests_today: int
    daily_limit: int | None
    budget_spent: bool
    pending_events: int
    # Who holds the sync lease and until when (None: nobody, or it has run out).
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    # Events given up after repeated failures (their changes wait for a sync).
    given_up_events: int = 0
    # The portal this store is kept in step with (None: no sync has recorded one yet).
    portal_id: int | None = None


def status(session: Session, now: datetime) -> Status:
    states = {c.object_type: c for c in session.scalars(select(SyncCursor))}
    types = []
    for name in ALL_NAMES:
        c = states.get(name)
        if c is None:
            types.append(TypeStatus(name, None, None, 0, None, None, None, False))
            continue
        types.append(
            TypeStatus(
                name,
                c.cursor_at,
                (now - c.last_success_at) if c.last_success_at else None,
                c.records or 0,
                c.last_run_at,
                c.last_success_at,
                c.last_error,
                c.full_started_at is not None,
            )
        )
    usage = session.get(ApiUsage, now.date())
    pending = len(
        session.scalars(select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None))).all()
    )
    lease = session.get(SyncLease, LEASE)
    held = lease is not None and lease.expires_at > now
    given_up = session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(WebhookEvent.processed_at.is_not(None), WebhookEvent.last_error.is_not(None))
    )
    return Status(
        types,
        usage.requests if usage else 0,
        usage.daily_limit if usage else None,
        bool(usage and usage.budget_spent_at),
        pending,
        lease_holder=lease.holder if held and lease else None,
        lease_expires_at=lease.expires_at if held and lease else None,
        given_up_events=int(given_up or 0),
        portal_id=portal.portal_id if (portal := recorded_portal(session)) else None,
    )
