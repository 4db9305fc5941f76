"""HubSpot webhooks: check the v3 signature, keep the events, apply them in batches.

The endpoint only verifies and stores (one INSERT per new event; a redelivered event is
dropped), so HubSpot gets its answer in milliseconds. A worker then reads the changed
records' current state in batches and writes them like a sync does. Because it always reads
the current state, duplicate and out-of-order events are harmless: a "deleted" record that
HubSpot still returns (restored since) is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
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
_MILLISECOND = timedelta(milliseconds=1)
# The last millisecond of the year 9999, the latest a datetime holds.
_LAST_MS = 253_402_300_799_999
_BIGINT_MAX = 2**63 - 1
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
# Tries before an event is given up (kept with its error; the periodic sync is the net).
GIVE_UP_AFTER = 5


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
    """HubSpot's v3 signature over method + URI + body + timestamp, no older than 5 minutes.

    Anyone can send these headers: a timestamp that is not a plain number of milliseconds
    (Unicode digits such as "²", hundreds of digits) is refused like a bad signature.
    """
    if not signature or not timestamp:
        return False
    sent_ms = _milliseconds(timestamp)
    if sent_ms is None or abs(now.timestamp() * 1000 - sent_ms) > MAX_AGE / _MILLISECOND:
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
    """Keep the events of one delivery; returns how many were new. The caller commits.

    An event that cannot be kept (no usable id, an impossible time) is skipped and logged:
    HubSpot re-sends a refused delivery unchanged, so failing it would also hold back the
    good events that came with it.
    """
    try:
        events = json.loads(body)
    except ValueError:
        raise BadPayload("not JSON") from None
    if not isinstance(events, list):
        raise BadPayload("expected a JSON array of events")
    fresh = 0
    for event in events:
        row = _row(event, now) if isinstance(event, dict) else None
        if row is None:
            continue
        if session.scalar(select(WebhookEvent.id).where(WebhookEvent.dedupe_key == row.dedupe_key)):
            continue
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # the same event arrived on another thread at the same moment
        fresh += 1
    return fresh


def _row(event: dict[str, Any], now: datetime) -> WebhookEvent | None:
    """The row for one event, or None (logged) when it cannot be kept."""
    event_id = _event_id(event.get("eventId"))
    object_id = _object_id(event.get("objectId"))
    occurred = event.get("occurredAt")
    occurred_ms = None if occurred is None else _milliseconds(occurred)
    if event_id is None or object_id is None or (occurred is not None and occurred_ms is None):
        logger.warning(
            "hubspot webhooks: skipped an event with an unusable id or time: %s of object %s"
            " (eventId %s, occurredAt %s)",
            _clip(event.get("subscriptionType")),
            _clip(event.get("objectId")),
            _clip(event.get("eventId")),
            _clip(occurred),
        )
        return None
    # PostgreSQL stores no NUL character and no lone surrogate; nothing applied reads the
    # values that may hold one.
    payload = _storable(event)
    return WebhookEvent(
        event_id=event_id,
        dedupe_key=_dedupe_key(payload),
        subscription_type=str(payload.get("subscriptionType") or "")[:80],
        object_type=(_object_type(payload) or "unknown")[:40],
        object_id=object_id,
        occurred_at=now if occurred_ms is None else _moment(occurred_ms),
        received_at=now,
        payload=payload,
        attempts=0,
    )


def _milliseconds(value: object) -> int | None:
    """Epoch milliseconds, when a date-time can hold them."""
    return _whole_number(value, _LAST_MS)


def _moment(milliseconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + milliseconds * _MILLISECOND


def _event_id(value: object) -> int | None:
    """HubSpot's eventId, when it fits the column (a 64-bit integer)."""
    return _whole_number(value, _BIGINT_MAX)


def _whole_number(value: object, maximum: int) -> int | None:
    """0..``maximum`` from a JSON number or a string of ASCII digits ("²" is a digit to
    ``str.isdigit``, not to ``int``); None for anything else."""
    digits = len(str(maximum))
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= digits:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= maximum else None


def _object_id(value: object) -> str | None:
    """A record id as HubSpot writes it (digits); "" when the event names none."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, int | str) else ""
    return text if text.isascii() and text.isdigit() and len(text) <= 64 else None


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _dedupe_key(payload: dict[str, Any]) -> str:
    """The event as sent, less what changes between HubSpot's attempts: equal for a
    redelivery, different for any other event (eventId alone is not unique)."""
    sent = {k: v for k, v in payload.items() if k != "attemptNumber"}
    canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _clip(value: object) -> str:
    """A value from a request, safe for one log line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class _Plan:
    fetch: dict[str, set[str]]
    delete: dict[str, set[str]]
    merges: list[tuple[str, str, list[str]]]
    # The object types each event needs (by row id): an event fails only with those.
    needs: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))


def _plan(events: list[WebhookEvent]) -> _Plan:
    plan = _Plan(defaultdict(set), defaultdict(set), [])
    for event in events:
        kind = event.object_type
        if kind not in BY_NAME:
            continue
        subscription = event.subscription_type.split(".")[-1]
        payload = event.payload
        if subscription == "merge":
            listed = payload.get("mergedObjectIds")
            merged = [i for i in map(_object_id, listed if isinstance(listed, list) else []) if i]
            survivor = _object_id(payload.get("primaryObjectId")) or event.object_id
            if survivor:
                plan.merges.append((kind, survivor, merged))
                plan.fetch[kind].add(survivor)
                plan.needs[event.id].add(kind)
        elif subscription == "associationChange":
            for side in ("from", "to"):
                side_type = TYPE_IDS.get(str(payload.get(f"{side}ObjectTypeId")))
                side_id = _object_id(payload.get(f"{side}ObjectId"))
                if side_type in BY_NAME and side_id:
                    plan.fetch[side_type].add(side_id)
                    plan.needs[event.id].add(side_type)
        elif event.object_id:
            wanted = plan.delete if subscription == "deletion" else plan.fetch
            wanted[kind].add(event.object_id)
            plan.needs[event.id].add(kind)
    return plan


def apply_pending(syncer: Syncer, *, limit: int = BATCH) -> tuple[int, SyncResult]:
    """Apply up to ``limit`` stored events; returns how many and what the writes touched.

    Object types are applied one by one: when one fails (a missing scope, an outage), only
    its events are tried again later (``result.stopped`` says why); after five tries they
    are given up, kept with their error (``status`` counts them).
    """
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
    failed = _apply(syncer, plan)
    with Session(engine) as session:
        for event in events:
            row = session.get(WebhookEvent, event.id)
            if row is None:
                continue
            errors = sorted({failed[k] for k in plan.needs.get(event.id, set()) if k in failed})
            row.attempts += 1
            row.last_error = "; ".join(errors) or None
            # Give up on an event after a few tries: the periodic sync is the safety net.
            if not errors or row.attempts >= GIVE_UP_AFTER:
                row.processed_at = syncer.clock()
        session.commit()
    syncer.record_requests()
    syncer.log_problems()
    if failed:
        syncer.result.stopped = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items()))
    return len(events), syncer.result


def _apply(syncer: Syncer, plan: _Plan) -> dict[str, str]:
    """Apply ``plan`` one object type at a time; returns the types that failed, and why."""
    failed: dict[str, str] = {}

    def step(kind: str, work: Callable[[], None]) -> None:
        if kind in failed:
            return
        try:
            work()
        except Exception as failure:
            failed[kind] = f"{type(failure).__name__}: {failure}"
            logger.exception("hubspot webhooks: applying the %s events failed", kind)

    for kind, ids in plan.delete.items():
        step(kind, partial(_delete, syncer, plan, kind, ids))
    for kind_type in OBJECT_TYPES:
        wanted = plan.fetch.get(kind_type.name)
        if wanted:
            step(kind_type.name, partial(_fetch_and_write, syncer, kind_type, sorted(wanted)))
    for kind, survivor, merged in plan.merges:
        step(kind, partial(_merge, syncer, kind, survivor, merged))
    return failed


def _delete(syncer: Syncer, plan: _Plan, kind: str, ids: set[str]) -> None:
    # A record HubSpot still returns was restored since: keep it.
    still = {o.id for o in syncer.api.batch_read(kind, sorted(ids), properties=("hs_object_id",))}
    syncer.delete(BY_NAME[kind], sorted(ids - still))
    plan.fetch[kind] |= still


def _merge(syncer: Syncer, kind: str, survivor: str, merged: list[str]) -> None:
    with Session(syncer.engine) as session:
        syncer.result.touched += writes.merge_records(
            session, BY_NAME[kind].section, survivor, merged, now=syncer.clock()
        )
        session.commit()


def _fetch_and_write(syncer: Syncer, kind: ObjectType, ids: list[str]) -> None:
    syncer.write(kind, syncer.read(kind, ids))
