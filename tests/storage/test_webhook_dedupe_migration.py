"""The upgrade that stops recognising webhook redeliveries by eventId alone keeps the
events already stored, still to be applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.db import make_engine, upgrade
from storage.models import WebhookEvent

_INSERT = text(
    "INSERT INTO sync_webhook_events (event_id, subscription_type, object_type, object_id,"
    " occurred_at, received_at, payload, processed_at, attempts)"
    " VALUES (:event_id, 'object.propertyChange', 'tasks', '7', '2026-11-30 09:00:00',"
    " '2026-11-30 09:00:00', '{}', NULL, 0)"
)


def test_events_stored_before_the_upgrade_stay_pending_and_an_event_id_may_repeat(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(_INSERT, {"event_id": 1})
        connection.execute(_INSERT, {"event_id": 2})

    upgrade(engine)

    moment = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    with Session(engine) as session:
        session.add(
            WebhookEvent(
                event_id=1,
                dedupe_key="another event numbered 1",
                subscription_type="object.creation",
                object_type="tasks",
                object_id="8",
                occurred_at=moment,
                received_at=moment,
                payload={},
                attempts=0,
            )
        )
        session.commit()
        pending = session.scalars(
            select(WebhookEvent.event_id).where(WebhookEvent.processed_at.is_(None))
        ).all()
        assert sorted(pending) == [1, 1, 2]
    engine.dispose()
