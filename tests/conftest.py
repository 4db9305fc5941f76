"""Fixtures: migrated databases (SQLite always, PostgreSQL when it is there) and builders."""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from demo import DemoOrg, build_demo_org
from rules.guided_actions import evaluate
from storage.db import make_engine, upgrade
from storage.models import Base
from tests.builders import CRM
from tests.support.slack_api import SlackStandIn, running_standin

POSTGRES_URL = os.environ.get(
    "SALESBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # a Wednesday


@dataclass(frozen=True)
class DemoTemplate:
    """A SQLite file holding the demo organisation, and what its build returned."""

    path: Path
    org: DemoOrg

    def copy_to(self, path: Path) -> Engine:
        """A fresh copy of the file at ``path``, and an engine on it."""
        shutil.copyfile(self.path, path)
        return make_engine(f"sqlite:///{path}")

    def copy_into(self, engine: Engine) -> DemoOrg:
        """Replace the contents of ``engine``'s (SQLite) database with the demo's."""
        source = sqlite3.connect(self.path)
        target = engine.raw_connection()
        try:
            source.backup(target.driver_connection)  # type: ignore[arg-type]
        finally:
            target.close()
            source.close()
        return self.org


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first (in their order, the others in theirs): with two workers
    a test of minutes then runs beside the many short ones instead of after them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """``salesbot serve`` configures the root logger; keep that from leaking across tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (migrating is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "salesbot.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _demo_template(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> DemoTemplate:
    """The demo organisation at ``FIXED_NOW`` with its guided actions, built once per run
    (the xdist workers share it): evaluating every rule over it takes seconds. Tests get
    copies."""
    # Each worker's base temp is <the run's>/popen-gwN; alone, the session's own.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    path, built = shared / "demo-template.sqlite3", shared / "demo-template.pickle"
    with (shared / "demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the other waits for it
        if not built.exists():
            staging = path.with_suffix(".building")
            shutil.copyfile(_sqlite_template, staging)
            engine = make_engine(f"sqlite:///{staging}")
            with Session(engine) as session:
                org = build_demo_org(session, now=FIXED_NOW)
                evaluate(session, now=FIXED_NOW)  # the guided actions, as the pass makes them
                session.commit()
            engine.dispose()
            staging.replace(path)
            built.write_bytes(pickle.dumps(org))
    return DemoTemplate(path, pickle.loads(built.read_bytes()))


def _postgres_admin_url() -> str:
    return POSTGRES_URL


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    """A fresh, migrated database for this test session, dropped at the end."""
    import psycopg

    admin_url = _postgres_admin_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {admin_url} ({error.__class__.__name__}); "
            "start it or set SALESBOT_TEST_POSTGRES_URL"
        )
    name = f"salesbot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# Which tables hold rows, in one round trip (a test writes to a few of them).
_NON_EMPTY = text(
    " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"
        for t in Base.metadata.sorted_tables
    )
)
_RESTART_SEQUENCES = text(
    "SELECT setval(oid, 1, false) FROM pg_class "
    "WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
)


@pytest.fixture
def postgres_engine(_postgres_database: str) -> Iterator[Engine]:
    """The session's database, emptied, its ids starting at 1 again.

    Like ``TRUNCATE ... RESTART IDENTITY`` of every table, ~50 times faster: a TRUNCATE
    of all 41 tables took ~1 s per test; deleting the rows of the few that hold any takes
    milliseconds.
    """
    engine = make_engine(_postgres_database)
    with engine.begin() as connection:
        holding = set(connection.scalars(_NON_EMPTY))
        for table in reversed(Base.metadata.sorted_tables):  # children first
            if table.name in holding:
                connection.execute(table.delete())
        connection.execute(_RESTART_SEQUENCES)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def session(sqlite_engine: Engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def crm(session: Session, now: datetime) -> CRM:
    """Builders for CRM records on SQLite, with sensible defaults relative to ``now``."""
    return CRM(session, now)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A stand-in Slack Web API that records every call."""
    with running_standin() as standin:
        yield standin
