"""The store keeps UTC, returns aware datetimes, and migrates the same on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.models import Activity, Assignment, Base, Contact, OwnedObject
from tests.builders import CRM


def test_datetimes_come_back_aware_and_in_utc(any_engine: Engine, now: datetime) -> None:
    berlin = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 11, 9, 0, tzinfo=berlin)
    with Session(any_engine) as session:
        crm = CRM(session, now)
        owner = crm.user()
        task_id = crm.task(owner, due_at=local).id
        session.commit()
    with Session(any_engine) as session:
        task = session.get(Activity, task_id)
        assert task is not None and task.due_at is not None
        assert task.due_at.tzinfo is not None
        assert task.due_at == local
        assert task.due_at.utcoffset() == timedelta(0)
        # Comparisons with an aware "now" work in SQL too.
        found = session.scalars(
            select(Activity.id).where(Activity.due_at < local + timedelta(seconds=1))
        )
        assert list(found) == [task_id]


def test_naive_datetime_is_refused(session: Session, crm: CRM) -> None:
    owner = crm.user()
    with pytest.raises(Exception, match="naive datetime"):
        crm.task(owner, due_at=datetime(2026, 1, 1, 9, 0))


def test_reassignment_keeps_history(any_engine: Engine, now: datetime) -> None:
    from storage.ownership import assign

    with Session(any_engine) as session:
        crm = CRM(session, now)
        alice, bob = crm.user(name="Alice"), crm.user(name="Bob")
        contact = crm.contact(alice, assigned_at=now - timedelta(days=3))
        assert assign(session, contact, bob.id, at=now) is True
        assert assign(session, contact, bob.id, at=now) is False  # no change, no history row
        session.commit()
        history = session.scalars(
            select(Assignment.owner_id)
            .where(
                Assignment.object_type == OwnedObject.CONTACT, Assignment.object_id == contact.id
            )
            .order_by(Assignment.assigned_at)
        ).all()
        assert history == [alice.id, bob.id]
        refreshed = session.get(Contact, contact.id)
        assert refreshed is not None and refreshed.owner_assigned_at == now.astimezone(UTC)


# SQLite cannot reflect expression indexes (lower(email), coalesce(item_id, 0)), so only
# PostgreSQL compares those; the warnings saying so are expected.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_the_models(any_engine: Engine) -> None:
    """A model change without a migration fails here, on both databases."""
    with any_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
