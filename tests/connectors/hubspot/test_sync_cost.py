"""What keeps a full sync's work per record flat as the portal grows (issue #9's benchmark):
the facts derived after each group read only that group's records, not the whole store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, Syncer
from connectors.hubspot.derived import derive_opens
from storage.models import Activity, Contact
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

LAST_OPEN = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def _email(hubspot: HubSpotStandIn, contact: str, sent: datetime) -> str:
    email = hubspot.portal.create(
        "emails",
        {
            "hs_email_subject": f"Sent {sent:%d %b}",
            "hs_email_direction": "EMAIL",
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


def test_deriving_open_times_reads_the_contacts_emails_not_every_email(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    hubspot.portal.update("contacts", small_portal.ada, {"hs_sales_email_last_opened": LAST_OPEN})
    _email(hubspot, small_portal.ada, LAST_OPEN - timedelta(days=1))
    Syncer(sqlite_engine, api).run(full=True)
    with Session(sqlite_engine) as session:
        contacts = list(session.scalars(select(Contact.id)))

    with _plans(sqlite_engine) as plans, Session(sqlite_engine) as session:
        derive_opens(session, contacts)
        session.rollback()

    # Each sync group derives the opens of its emails' contacts: a plan that walks every
    # email of the store (a scan, or the kind index) makes a full sync quadratic.
    on_activities = [p for p in plans if " activities " in f"{p} "]
    assert on_activities
    assert all("INTEGER PRIMARY KEY" in p for p in on_activities), plans
