"""State of a sync with an outside CRM: cursors, API usage, a webhook inbox, a lease.

Written by a connector (``connectors/hubspot``); nothing in the domain reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class SyncCursor(Base):
    """Where the sync of one object type stands.

    The incremental cursor is a (modified time, object id) pair: a bulk update gives
    thousands of records one modified time, so the id says how far into that time a
    crashed or budget-stopped pass got.
    """

    __tablename__ = "sync_cursors"

    object_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Records modified at or after this time are read by the next incremental pass.
    cursor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Within the pass at ``cursor_at``: ids up to this one are done.
    cursor_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the pass that is under way started (the next cursor_at, less a margin).
    pass_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A full listing under way: the page token to resume it from.
    full_after: Mapped[str | None] = mapped_column(String(200))
    full_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When archived (deleted) records were last listed and removed from the store.
    archived_swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiUsage(Base):
    """Requests made to the CRM's API on one (UTC) day, and what its headers said."""

    __tablename__ = "sync_api_usage"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    daily_remaining: Mapped[int | None] = mapped_column(Integer)
    # Set when the day's budget ran out: syncs stop until the next day.
    budget_spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(Base):
    """One webhook event as received, kept until a worker has applied it."""

    __tablename__ = "sync_webhook_events"
    __table_args__ = (Index("ix_sync_webhook_events_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # HubSpot's event id: not unique on its own (another portal or app, a re-created app).
    event_id: Mapped[int] = mapped_column(BigInteger)
    # A hash of the event as sent, less its attempt number: a redelivered event has the same
    # one and is dropped; any other event, whatever its id, is kept.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_type: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncLease(Base):
    """Who may sync now: one replica at a time holds the lease until it expires."""

    __tablename__ = "sync_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncPortal(Base):
    """The one CRM account (HubSpot: portal) this store is kept in step with.

    Recorded at the first sync; a sync against another account is refused, so two CRMs'
    records never mix in one store.
    """

    __tablename__ = "sync_portal"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    portal_id: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
