"""Events API retries: each ``event_id`` is applied once.

Slack retries an event it believes was not acknowledged; ``storage.receipts.claim_once``
records each ``event_id``, which also holds across replicas. ``listeners.on_event`` claims
each event in its ack, for every event listener.
"""

from __future__ import annotations

from typing import Any

from handlers.slack.services import Services
from storage.db import unit_of_work
from storage.receipts import claim_once


def first_delivery(services: Services, body: dict[str, Any]) -> bool:
    """Claim the event's ``event_id``; False when it was already applied (a retry)."""
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return True  # nothing to de-duplicate on; Slack always sends one
    with unit_of_work(services.sessions) as session:
        return claim_once(session, f"event:{event_id}"[:255], now=services.clock())
