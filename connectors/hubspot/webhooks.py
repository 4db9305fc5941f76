"""HubSpot webhooks: check the v3 signature, keep the events, apply them in batches.

The endpoint only verifies and stores (one INSERT per new event; a redelivered event id is
dropped), so HubSpot gets its answer in milliseconds. A worker then reads the changed
records' current state in batches and writes them like a sync does. Because it always reads
the current state, duplicate and out-of-order events are harmless: a "deleted" record that
HubSpot still returns (restored since) is kept.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot.utils.signature import Signature
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.hubspot import writes
from connectors.hubspot.objects import BY_NAME, OBJECT_TYPES, ObjectType
from connectors.hubspot.sync import Syncer, SyncResult
from storage.models import WebhookEvent

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=5)
# HubSpot's objectTypeId values for the types the sync reads.
TYPE_IDS = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-27": "tasks",
    "0-46": "notes",
    "0-47": "meetings",
    "0-48": "calls",
    "0-49": "emails",
    "0-136": "leads",
}
_SINGULAR = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "task": "tasks",
    "note": "notes",
    "meeting": "meetings",
    "call": "calls",
    "email": "emails",
    "lead": "leads",
}
BATCH = 500


def signature_is_valid(
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
) -> bool:
    """HubSpot's v3 signature over method + URI + body + timestamp, no older than 5 minutes."""
    if not signature or not timestamp or not timestamp.isdigit():
        return False
    sent = datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC)
    if abs(now - sent) > MAX_AGE:
        return False
    expected = Signature.get_signature(
        secret, body.decode("utf-8", "replace"), "v3", uri, method.upper(), timestamp
    )
    return hmac.compare_digest(expected.encode(), signature.encode())


class BadPayload(ValueError):
    """The body is not a list of HubSpot events."""


def _object_type(event: Mapping[str, Any]) -> str | None:
    type_id = event.get("objectTypeId")
    if type_id is not None:
        return TYPE_IDS.get(str(type_id))
    subscription = str(event.get("subscriptionType") or "")
    return _SINGULAR.get(subscription.split(".")[0])


def store_events(session: Session, body: bytes, *, now: datetime) -> int:
    """Keep the events of one delivery; returns how many were new. The caller commits."""
    try:
        events = json.loads(body)
    except ValueError:
        raise BadPayload("not JSON") from None
    if not isinstance(events, list):
        raise BadPayload("expected a JSON array of events")
    fresh = 0
    for event in events:
        if not isinstance(event, dict) or not str(event.get("eventId", "")).isdigit():
            continue
        event_id = int(event["eventId"])
        if session.scalar(select(WebhookEvent.id).where(WebhookEvent.event_id == event_id)):
            continue
        occurred = event.get("occurredAt")
        row = WebhookEvent(
            event_id=event_id,
            subscription_type=str(event.get("subscriptionType") or "")[:80],
            object_type=(_object_type(event) or "unknown")[:40],
            object_id=str(event.get("objectId") or "")[:64],
            occurred_at=datetime.fromtimestamp(int(occurred) / 1000, tz=UTC)
            if isinstance(occurred, int)
            else now,
            received_at=now,
            payload=event,
            attempts=0,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # the same event arrived on another thread at the same moment
        fresh += 1
    return fresh


@dataclass
class _Plan:
    fetch: dict[str, set[str]]
    delete: dict[str, set[str]]
    merges: list[tuple[str, str, list[str]]]


def _plan(events: list[WebhookEvent]) -> _Plan:
    plan = _Plan(defaultdict(set), defaultdict(set), [])
    for event in events:
        kind = event.object_type
        if kind not in BY_NAME:
            continue
        subscription = event.subscription_type.split(".")[-1]
        payload = event.payload
        if subscription == "deletion":
            plan.delete[kind].add(event.object_id)
        elif subscription == "merge":
            merged = [str(i) for i in payload.get("mergedObjectIds") or []]
            survivor = str(payload.get("primaryObjectId") or event.object_id)
            plan.merges.append((kind, survivor, merged))
            plan.fetch[kind].add(survivor)
        elif subscription == "associationChange":
            for side in ("from", "to"):
                side_type = TYPE_IDS.get(str(payload.get(f"{side}ObjectTypeId")))
                side_id = payload.get(f"{side}ObjectId")
                if side_type in BY_NAME and side_id is not None:
                    plan.fetch[side_type].add(str(side_id))
        else:
            plan.fetch[kind].add(event.object_id)
    return plan


def apply_pending(syncer: Syncer, *, limit: int = BATCH) -> tuple[int, SyncResult]:
    """Apply up to ``limit`` stored events; returns how many and what the writes touched."""
    engine: Engine = syncer.engine
    with Session(engine) as session:
        events = list(
            session.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.processed_at.is_(None))
                .order_by(WebhookEvent.id)
                .limit(limit)
            )
        )
        session.expunge_all()
    if not events:
        return 0, syncer.result
    plan = _plan(events)
    error: str | None = None
    try:
        _apply(syncer, plan)
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
        logger.exception("hubspot webhooks: applying %d events failed", len(events))
    with Session(engine) as session:
        for event in events:
            row = session.get(WebhookEvent, event.id)
            if row is None:
                continue
            row.attempts += 1
            row.last_error = error
            # Give up on an event after a few tries: the periodic sync is the safety net.
            if error is None or row.attempts >= 5:
                row.processed_at = syncer.clock()
        session.commit()
    syncer.record_requests()
    if error is not None:
        raise RuntimeError(error)
    return len(events), syncer.result


def _apply(syncer: Syncer, plan: _Plan) -> None:
    for kind, ids in plan.delete.items():
        # A record HubSpot still returns was restored since: keep it.
        still = {
            o.id for o in syncer.api.batch_read(kind, sorted(ids), properties=("hs_object_id",))
        }
        syncer.delete(BY_NAME[kind], sorted(ids - still))
        plan.fetch[kind] |= still
    for kind_type in OBJECT_TYPES:
        wanted = plan.fetch.get(kind_type.name)
        if wanted:
            _fetch_and_write(syncer, kind_type, sorted(wanted))
    for kind, survivor, merged in plan.merges:
        with Session(syncer.engine) as session:
            syncer.result.touched += writes.merge_records(
                session, BY_NAME[kind].section, survivor, merged, now=syncer.clock()
            )
            session.commit()


def _fetch_and_write(syncer: Syncer, kind: ObjectType, ids: list[str]) -> None:
    objects = syncer.api.batch_read(kind.name, ids, properties=kind.properties)
    syncer.write(kind, objects)
