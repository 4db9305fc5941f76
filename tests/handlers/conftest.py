"""Fixtures for driving the real app: a stand-in Slack, the app on a loopback port."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from demo import DemoOrg, build_demo_org
from rules.guided_actions import evaluate
from storage.db import make_engine
from tests.support.app import RunningApp, start_app
from tests.support.slack_api import SlackStandIn, running_standin
from tests.support.socket_mode import running_socket_standin

TRANSPORTS = ["http", "socket"]


@pytest.fixture(scope="module")
def demo(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, DemoOrg]]:
    """The demo organisation with its guided actions, built once per test module."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    from tests.conftest import FIXED_NOW

    with Session(engine) as session:
        org = build_demo_org(session, now=FIXED_NOW)
        evaluate(session, now=FIXED_NOW)  # the guided actions, as the scheduled pass makes them
        session.commit()
    yield engine, org
    engine.dispose()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A stand-in Slack Web API that records every call."""
    with running_standin() as standin:
        yield standin


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> str:
    """How requests reach the app: ``http`` (default) or ``socket`` (Socket Mode).

    Run a test both ways with
    ``@pytest.mark.parametrize("transport", TRANSPORTS, indirect=True)``.
    """
    return str(getattr(request, "param", "http"))


@pytest.fixture
def running_app(
    sqlite_engine: Engine, slack: SlackStandIn, now: datetime, transport: str
) -> Iterator[RunningApp]:
    """The app on the test's SQLite database, its clock pinned to ``now``, served over HTTP
    or connected over Socket Mode (``transport``).

    Seed with the ``crm`` fixture and ``session.commit()`` before sending requests: the
    app reads through its own connections.
    """
    with contextlib.ExitStack() as stack:
        socket = (
            stack.enter_context(running_socket_standin(slack)) if transport == "socket" else None
        )
        yield stack.enter_context(start_app(sqlite_engine, slack, clock=lambda: now, socket=socket))


@pytest.fixture
def demo_org(sqlite_engine: Engine, now: datetime) -> DemoOrg:
    """The demo organisation in the test's database (Dana is ``rep_slack_user_id``)."""
    with Session(sqlite_engine) as session:
        org = build_demo_org(session, now=now)
        evaluate(session, now=now)  # the guided actions, as the scheduled pass makes them
        session.commit()
    return org
