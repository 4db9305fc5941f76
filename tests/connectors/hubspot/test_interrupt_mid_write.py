"""Ctrl-C or SIGTERM while the sync writes a group (finding F3): the group's write is
rolled back at once, the cursor says "interrupted" where the last group was committed,
the lease is given back, and the next sync writes every record exactly once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.hubspot import sync_and_apply
from connectors.hubspot import OfficialClient
from connectors.hubspot.sync import GROUP, INTERRUPTED
from storage.models import Company, SyncCursor, SyncLease
from tests.support.hubspot import HubSpotStandIn

RECORDS = GROUP + GROUP // 2
# From the interrupt to the sync's end: a few small writes. Without the fix each of them
# waits out SQLite's busy timeout (10 s) first.
PROMPT_SECONDS = 8


def test_ctrl_c_inside_a_groups_write_rolls_it_back_and_gives_the_lease_back(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    api: OfficialClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes")
    for n in range(RECORDS):
        hubspot.portal.create("companies", {"name": f"Company {n}", "hubspot_owner_id": dana.id})
    hubspot.limits.enabled = False
    sync_and_apply(sqlite_engine, api, only=["owners"])

    # Ctrl-C lands in the driver call inserting the second group's companies, as a
    # terminal's SIGINT does: after SQLite took the write lock, before the commit.
    dialect = sqlite_engine.dialect
    real = dialect.do_executemany
    inserts = 0
    interrupted_at = 0.0

    def interrupted(cursor: Any, statement: str, parameters: Sequence[Any], context: Any) -> None:
        nonlocal inserts, interrupted_at
        real(cursor, statement, parameters, context)
        if statement.startswith(("INSERT INTO companies", 'INSERT INTO "companies"')):
            inserts += 1
            if inserts == 2:
                interrupted_at = time.monotonic()
                raise KeyboardInterrupt

    monkeypatch.setattr(dialect, "do_executemany", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sync_and_apply(sqlite_engine, api, only=["companies"])
    assert 0 < time.monotonic() - interrupted_at < PROMPT_SECONDS
    monkeypatch.undo()

    with Session(sqlite_engine) as session:
        cursor = session.get(SyncCursor, "companies")
        assert cursor is not None and cursor.last_error == INTERRUPTED
        # The first group's page token: the second group is read again next time.
        assert cursor.full_after is not None
        assert session.scalar(select(func.count()).select_from(Company)) == GROUP
        assert session.scalars(select(SyncLease)).all() == []

    applied = sync_and_apply(sqlite_engine, api, only=["companies"])
    assert applied.result is not None and applied.result.stopped is None
    with Session(sqlite_engine) as session:
        names = session.scalars(select(Company.name)).all()
        assert sorted(names) == sorted(f"Company {n}" for n in range(RECORDS))
        cursor = session.get(SyncCursor, "companies")
        assert cursor is not None and cursor.last_error is None
