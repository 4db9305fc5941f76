"""A sync killed with SIGKILL resumes where it stopped: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, RateLimiter, Syncer
from storage.models import Assignment, Company, SyncCursor, SyncLease
from tests.support.hubspot import HubSpotStandIn

RECORDS = 2_500


def _progress(engine: Engine) -> tuple[int, str | None]:
    with Session(engine) as session:
        cursor = session.get(SyncCursor, "companies")
        count = session.scalar(select(func.count()).select_from(Company)) or 0
        return count, cursor.full_after if cursor else None


@pytest.mark.slow
def test_a_killed_sync_resumes_from_its_cursor(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, tmp_path: Path
) -> None:
    team = hubspot.portal.add_team("Berlin")
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes", teams=[team])
    for n in range(RECORDS):
        hubspot.portal.create("companies", {"name": f"Company {n}", "hubspot_owner_id": dana.id})
    hubspot.limits.enabled = False
    hubspot.latency_seconds = 0.03
    env = {
        **os.environ,
        "DATABASE_URL": str(sqlite_engine.url),
        "SALESBOT_HUBSPOT_TOKEN": hubspot.token,
        "SALESBOT_HUBSPOT_API_URL": hubspot.base_url,
        "SALESBOT_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "bot", "hubspot", "sync", "--object", "owners"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    sync = subprocess.Popen(
        [*command[:-1], "companies"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    # Killed once the first group is written and its page token saved.
    while _progress(sqlite_engine)[1] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    sync.send_signal(signal.SIGKILL)
    sync.wait(timeout=10)
    stored, resume_from = _progress(sqlite_engine)
    assert 0 < stored < RECORDS and resume_from is not None

    hubspot.latency_seconds = 0.0
    hubspot.clear()
    api = OfficialClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    result = Syncer(sqlite_engine, api).run(only=["companies"])

    assert result.stopped is None
    # It went on from the saved page token, not from the first page (50 records a page).
    pages = hubspot.count("objects.list", object_type="companies")
    assert pages <= (RECORDS - stored) // 50 + 2
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Company)) == RECORDS
        # One owner-history entry per company: the re-read group was not recorded twice.
        assert session.scalar(select(func.count()).select_from(Assignment)) == RECORDS


@pytest.mark.slow
def test_a_sync_stopped_with_sigterm_gives_its_lease_back(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, tmp_path: Path
) -> None:
    """``timeout`` and ``docker stop`` send SIGTERM: the next sync must not wait ten minutes."""
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes")
    for n in range(400):
        hubspot.portal.create("companies", {"name": f"Company {n}", "hubspot_owner_id": dana.id})
    hubspot.limits.enabled = False
    hubspot.latency_seconds = 0.2
    env = {
        **os.environ,
        "DATABASE_URL": str(sqlite_engine.url),
        "SALESBOT_HUBSPOT_TOKEN": hubspot.token,
        "SALESBOT_HUBSPOT_API_URL": hubspot.base_url,
        "SALESBOT_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "bot", "hubspot", "sync", "--object", "companies"]
    sync = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _lease_holder(sqlite_engine) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _lease_holder(sqlite_engine) is not None
    sync.send_signal(signal.SIGTERM)
    _, stderr = sync.communicate(timeout=30)

    assert sync.returncode != 0
    assert b"Traceback" not in stderr
    assert _lease_holder(sqlite_engine) is None
    hubspot.latency_seconds = 0.0
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "another replica" not in again.stderr


def _lease_holder(engine: Engine) -> str | None:
    with Session(engine) as session:
        lease = session.scalars(select(SyncLease)).first()
        return lease.holder if lease else None
