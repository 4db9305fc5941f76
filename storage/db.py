"""Engines, sessions and schema upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (as most hosts hand them out)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the folder and turn on FKs, WAL and a busy wait."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        event.listen(engine, "handle_error", _keep_connection_on_interrupt)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Bolt listeners and the scheduler write from several threads: wait, don't fail.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _keep_connection_on_interrupt(context: ExceptionContext) -> None:
    """Ctrl-C or SIGTERM inside a driver call: keep the connection, so its transaction is
    rolled back as the exception unwinds (finding F3).

    SQLAlchemy treats such an exit as a lost connection and closes it unrolled-back; with a
    statement still open SQLite keeps it as a zombie holding the write lock, and every
    write after it (the "interrupted" cursor, the lease release) waits out the busy
    timeout, then fails. An in-process SQLite connection is never left mid-protocol.
    """
    if not isinstance(context.original_exception, Exception):
        context.is_disconnect = False


def _begin_before_savepoint(connection: Connection, _name: str | None) -> None:
    """Open the transaction a SAVEPOINT belongs in, when pysqlite has not opened it yet.

    pysqlite begins a transaction only before a data change, not before a SAVEPOINT; SQLite
    then runs the savepoint as a transaction of its own, and its RELEASE commits, so a unit
    of work that fails afterwards stays half-written. With an explicit BEGIN, RELEASE only
    closes the savepoint and the session's commit or rollback decides for everything.
    """
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner statistics of the tables as they are now (``ANALYZE``).

    A store just filled in bulk (a first HubSpot sync) has none, and SQLite then plans the
    guided actions' queries blind: evaluating every rule over the bench organisation at
    scale 0.01 took 195 s without statistics and 1.6 s with them. A full ``ANALYZE`` reads
    every index once (milliseconds at that size); SQLite's sampled one (``analysis_limit``)
    misled the planner as badly as none.
    """
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("storage").joinpath("migrations"))
    )
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic), in one transaction per migration."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
