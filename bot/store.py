"""Opening the store the way every command and the server do."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from storage.db import is_up_to_date, make_engine, session_factory, upgrade


@dataclass(frozen=True)
class Store:
    engine: Engine
    sessions: sessionmaker[Session]


class SchemaOutOfDate(RuntimeError):
    pass


def open_store(settings: Settings, *, auto_upgrade: bool | None = None) -> Store:
    """Connect to the database; the embedded SQLite default upgrades itself on first use.

    A server database (PostgreSQL) is never migrated behind the operator's back: run
    ``salesbot db upgrade`` as a release step.
    """
    engine = make_engine(settings.effective_database_url)
    if auto_upgrade is None:
        auto_upgrade = settings.is_embedded
    if not is_up_to_date(engine):
        if not auto_upgrade:
            raise SchemaOutOfDate(
                "the database schema is not up to date: run `salesbot db upgrade` first"
            )
        upgrade(engine)
    return Store(engine=engine, sessions=session_factory(engine))
