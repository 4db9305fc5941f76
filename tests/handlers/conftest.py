"""Fixtures for driving the real app: a stand-in Slack, the app on a loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from demo import DemoOrg
from tests.conftest import DemoTemplate
from tests.support.app import RunningApp, start_app
from tests.support.slack_api import SlackStandIn
from tests.support.socket_mode import running_socket_standin

TRANSPORTS = ["http", "socket"]


@pytest.fixture(scope="module")
def demo(
    _demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, DemoOrg]]:
    """The demo organisation with its guided actions, one copy per test module."""
    engine = _demo_template.copy_to(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    yield engine, _demo_template.org
    engine.dispose()


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
def demo_org(sqlite_engine: Engine, _demo_template: DemoTemplate) -> DemoOrg:
    """The demo organisation with its guided actions, as the scheduled pass makes them, in
    the test's database (Dana is ``rep_slack_user_id``; built at ``FIXED_NOW``, the ``now``
    of every test)."""
    return _demo_template.copy_into(sqlite_engine)
