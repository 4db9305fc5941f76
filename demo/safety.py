"""The demo writes only where it may: an empty database, or a reset of its own file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import Activity, Base, Company, Contact, Deal, Lead, Sequence, Team, User

DEMO_DB_FILENAME = "demo.sqlite3"


class DemoRefused(RuntimeError):
    """The demo will not write here (a non-empty database, or a reset outside the demo file)."""


_CRM_TABLES: tuple[type[Base], ...] = (
    Team,
    User,
    Company,
    Contact,
    Lead,
    Deal,
    Activity,
    Sequence,
)


# Safety ------------------------------------------------------------------------------------


def is_demo_database(session: Session) -> bool:
    """Whether the session writes to the embedded demo file (or a throwaway in-memory SQLite)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    return database in ("", ":memory:") or Path(database).name == DEMO_DB_FILENAME


def has_crm_data(session: Session) -> bool:
    """Whether any CRM record exists (pipelines and settings alone do not count)."""
    return any(session.scalar(select(func.count()).select_from(m)) for m in _CRM_TABLES)


def wipe(session: Session) -> None:
    """Delete every row of every table (the caller checked is_demo_database)."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))
