"""A salesbot process that dies by SIGKILL at a chosen point of a write-back (for tests).

``python -m tests.connectors.hubspot.crashing_writer DB_URL API_URL TOKEN POINT``:
- ``after-commit``: Dana creates a task (the task and its outbox row commit), then the
  process is killed before anything is sent;
- ``after-create``: the outbox is delivered, and the process is killed the moment HubSpot
  has answered a create, before salesbot records the id;
- ``note-after-create``: Dana adds a note to the deal, then as ``after-create``;
- ``batch-after-create``: Dana creates two tasks, and the process is killed the moment
  HubSpot has answered their batch create, before salesbot records the ids.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.hubspot import RateLimiter
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import OutboxSender
from rules.activity_log.ops import add_note
from rules.tasks.ops import TaskDraft, create_task
from storage.db import make_engine
from storage.models import Deal, User
from storage.outbox import OUTBOX_INFO_KEY

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


def run_until_killed(db_url: str, api_url: str, token: str, point: str) -> None:
    """Run this module in a process of its own and check that it died by SIGKILL at
    ``point`` (not of an error before it)."""
    command = [sys.executable, "-m", __name__, db_url, api_url, token, point]
    finished = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert finished.returncode == -signal.SIGKILL, finished.stderr.decode()[-2000:]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(db_url: str, api_url: str, token: str, point: str) -> None:
    engine = make_engine(db_url)
    if point == "after-commit":
        with Session(engine, info={OUTBOX_INFO_KEY: True}) as session:
            dana = session.scalars(select(User).where(User.name == "Dana Reyes")).one()
            draft = TaskDraft(subject="Send the contract", due_at=NOW + timedelta(days=1))
            assert create_task(session, dana, draft, now=NOW).changed
            session.commit()
        _die()
    if point == "note-after-create":
        with Session(engine, info={OUTBOX_INFO_KEY: True}) as session:
            dana = session.scalars(select(User).where(User.name == "Dana Reyes")).one()
            deal = session.scalars(select(Deal)).first()
            assert deal is not None
            body = "Signed off by legal."
            assert add_note(session, dana, on="deal", record_id=deal.id, body=body, now=NOW).changed
            session.commit()
    if point == "batch-after-create":
        with Session(engine, info={OUTBOX_INFO_KEY: True}) as session:
            dana = session.scalars(select(User).where(User.name == "Dana Reyes")).one()
            for subject in ("Send the contract", "Book the kick-off"):
                draft = TaskDraft(subject=subject, due_at=NOW + timedelta(days=1))
                assert create_task(session, dana, draft, now=NOW).changed
            session.commit()
    writer = WritingClient(token=token, api_url=api_url, limiter=RateLimiter())
    if point == "batch-after-create":
        real_many = writer.create_many

        def batch_then_die(*args: Any, **kwargs: Any) -> Any:
            real_many(*args, **kwargs)
            _die()
            raise AssertionError("unreachable")

        writer.create_many = batch_then_die  # type: ignore[method-assign]
        OutboxSender(engine, writer, holder="doomed", clock=lambda: NOW).deliver()
        return
    real = writer.create_once

    def create_then_die(*args: Any, **kwargs: Any) -> str:
        real(*args, **kwargs)
        _die()
        raise AssertionError("unreachable")

    writer.create_once = create_then_die  # type: ignore[method-assign]
    OutboxSender(engine, writer, holder="doomed", clock=lambda: NOW).deliver()


if __name__ == "__main__":
    main(*sys.argv[1:5])
