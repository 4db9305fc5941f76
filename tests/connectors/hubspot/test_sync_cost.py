"""What keeps a full sync's work per record flat as the portal grows (issue #9's benchmark):
the facts derived after each group read only that group's records, not the whole store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, Syncer, sync, writes
from connectors.hubspot.derived import derive_opens, derive_replies
from connectors.hubspot.objects import TASKS
from connectors.hubspot.sequences import link_sequence_tasks
from storage.models import Activity, Contact
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

LAST_OPEN = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def _email(hubspot: HubSpotStandIn, contact: str, sent: datetime, direction: str = "EMAIL") -> str:
    email = hubspot.portal.create(
        "emails",
        {
            "hs_email_subject": f"Sent {sent:%d %b}",
            "hs_email_thread_id": "thread-1",
            "hs_email_direction": direction,
            "hs_email_to_email": "ada@acme.example",
            "hs_email_open_count": 1,
            "hs_timestamp": sent,
        },
    )
    hubspot.portal.associate("emails", email.id, "contacts", contact)
    return str(email.id)


def _opened_at(engine: Engine, external_id: str) -> datetime | None:
    with Session(engine) as session:
        return session.scalar(select(Activity.opened_at).where(Activity.external_id == external_id))


def test_the_latest_email_opened_before_the_contacts_last_open_gets_that_time(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    hubspot.portal.update("contacts", small_portal.ada, {"hs_sales_email_last_opened": LAST_OPEN})
    older = _email(hubspot, small_portal.ada, LAST_OPEN - timedelta(days=3))
    latest = _email(hubspot, small_portal.ada, LAST_OPEN - timedelta(days=1))
    later = _email(hubspot, small_portal.ada, LAST_OPEN + timedelta(hours=2))

    Syncer(sqlite_engine, api).run(full=True)

    assert _opened_at(sqlite_engine, latest) == LAST_OPEN
    # The others keep their send time: the lower bound of an open HubSpot gives no time for.
    assert _opened_at(sqlite_engine, older) == LAST_OPEN - timedelta(days=3)
    assert _opened_at(sqlite_engine, later) == LAST_OPEN + timedelta(hours=2)


@contextmanager
def _plans(engine: Engine) -> Iterator[list[str]]:
    """The query plan of every SELECT run on ``engine`` meanwhile (SQLite)."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    plans: list[str] = []
    try:
        yield plans
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans += [str(row[-1]) for row in rows]


def test_deriving_opens_and_replies_reads_the_groups_emails_not_every_email(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As while a first sync writes its groups: no planner statistics yet (with them, the
    # two-row tables here are rightly scanned).
    monkeypatch.setattr(sync, "refresh_statistics", lambda _engine: None)
    hubspot.portal.update("contacts", small_portal.ada, {"hs_sales_email_last_opened": LAST_OPEN})
    sent = _email(hubspot, small_portal.ada, LAST_OPEN - timedelta(days=1))
    answer = _email(hubspot, small_portal.ada, LAST_OPEN, direction="INCOMING_EMAIL")
    Syncer(sqlite_engine, api).run(full=True)
    with Session(sqlite_engine) as session:
        contacts = list(session.scalars(select(Contact.id)))
        reply = session.scalar(select(Activity).where(Activity.external_id == answer))
        assert reply is not None and reply.in_reply_to_id is not None
        assert reply.in_reply_to_id == session.scalar(
            select(Activity.id).where(Activity.external_id == sent)
        )

    with _plans(sqlite_engine) as plans, Session(sqlite_engine) as session:
        derive_opens(session, contacts)
        derive_replies(session, ["thread-1"])
        session.rollback()

    # Each sync group derives the opens and replies of its own emails: a plan that walks
    # every email of the store (a scan, or the kind index) makes a full sync quadratic.
    on_activities = [p for p in plans if " activities " in f"{p} "]
    assert on_activities
    assert all("PRIMARY KEY" in p or "thread_id" in p for p in on_activities), plans


def test_linking_sequence_tasks_costs_the_same_few_statements_for_many_tasks(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    tasks = []
    for n in range(20):
        task = hubspot.portal.create(
            "tasks",
            {
                "hs_task_subject": f"Sequence step {n}",
                "hs_task_status": "NOT_STARTED",
                "hs_timestamp": LAST_OPEN,
                "hs_task_sequence_step_enrollment_id": f"91000{n % 2}",
            },
        )
        hubspot.portal.associate("tasks", task.id, "contacts", small_portal.ada)
        tasks.append(str(task.id))
    Syncer(sqlite_engine, api).run(full=True)
    objects = api.batch_read("tasks", tasks, properties=TASKS.properties)
    with Session(sqlite_engine) as session:
        ids = writes.row_ids(session, "activities", tasks)
    records = [{"id": t, "contacts": [small_portal.ada]} for t in tasks]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(sqlite_engine, "before_cursor_execute", seen)
    try:
        with Session(sqlite_engine) as session:
            link_sequence_tasks(session, objects, ids, records)
            session.commit()
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", seen)

    with Session(sqlite_engine) as session:
        linked = session.scalars(
            select(Activity.sequence_enrollment_id).where(Activity.external_id.in_(tasks))
        ).all()
    assert len(linked) == 20 and None not in linked
    # A sync group holds up to 1,000 tasks: a statement or two per task was most of its time.
    assert len(statements) < 10, statements


def test_a_full_sync_leaves_the_query_planner_statistics_of_what_it_wrote(
    sqlite_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    # Without them SQLite plans the guided actions' evaluation that follows a first sync
    # blind: minutes instead of a second for the bench organisation at scale 0.01.
    Syncer(sqlite_engine, api).run(full=True)

    with sqlite_engine.connect() as connection:
        analysed = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar()
        tables = (
            set(connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1").scalars())
            if analysed
            else set()
        )
    assert {"activities", "deals", "contacts", "activity_contacts"} <= tables
