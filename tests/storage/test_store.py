"""The store keeps UTC, returns aware datetimes, and migrates the same on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from storage.db import current_revision, make_engine, upgrade
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


def test_upgrade_stops_on_emails_that_differ_only_in_case_naming_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0013")
    with engine.begin() as connection:
        for ext, email in (("u1", "dana@x.example"), ("u2", "DANA@x.example")):
            connection.execute(
                text(
                    "INSERT INTO users (external_id, name, email, email_domain, timezone, role,"
                    " deal_visibility, is_active) VALUES (:ext, 'Dana', :email, 'x.example',"
                    " 'UTC', 'rep', 'owned', 1)"
                ),
                {"ext": ext, "email": email},
            )

    with pytest.raises(CommandError, match=re.escape("dana@x.example: users 'u1' and 'u2'")):
        upgrade(engine)
    assert current_revision(engine) == "0013"
    engine.dispose()


def test_a_savepoint_opened_first_is_undone_with_its_transaction(any_engine: Engine) -> None:
    """pysqlite opens no transaction before a SAVEPOINT, so releasing an outermost savepoint
    used to commit it: a unit of work that failed later was left half-written on SQLite."""
    from storage.models import Team

    with Session(any_engine) as session:
        with session.begin_nested():
            session.add(Team(external_id="sp-1", name="Written in a savepoint"))
        session.rollback()
    with Session(any_engine) as session:
        kept = session.scalars(select(Team).where(Team.name == "Written in a savepoint"))
        assert kept.all() == []


def test_work_after_a_released_savepoint_commits_with_it(any_engine: Engine) -> None:
    from storage.models import Team

    with Session(any_engine) as session:
        with session.begin_nested():
            session.add(Team(external_id="sp-inner", name="Inner"))
        session.add(Team(external_id="sp-outer", name="Outer"))
        session.commit()
    with Session(any_engine) as session:
        names = set(session.scalars(select(Team.name).where(Team.name.in_(["Inner", "Outer"]))))
    assert names == {"Inner", "Outer"}
