"""Ctrl-C during ``salesbot hubspot sync`` while it waits out HubSpot's 429s (probe finding
F10): it says it was interrupted (not that HubSpot kept refusing), exits 130 without a
traceback at once, and the next sync resumes from the cursor."""

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

from storage.models import Company, SyncCursor, SyncLease
from tests.support.hubspot import HubSpotStandIn

RECORDS = 2_500
# Without the fix the fetchers wait out all their retries first (8 tries, 10 s apart).
PROMPT_SECONDS = 30


def _cursor(engine: Engine) -> SyncCursor | None:
    with Session(engine) as session:
        return session.get(SyncCursor, "companies")


@pytest.mark.slow
def test_ctrl_c_while_waiting_out_429s_says_interrupted_and_keeps_the_cursor(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, tmp_path: Path
) -> None:
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes")
    for n in range(RECORDS):
        hubspot.portal.create("companies", {"name": f"Company {n}", "hubspot_owner_id": dana.id})
    hubspot.limits.enabled = False
    hubspot.latency_seconds = 0.05
    env = {
        **os.environ,
        "DATABASE_URL": str(sqlite_engine.url),
        "SALESBOT_HUBSPOT_TOKEN": hubspot.token,
        "SALESBOT_HUBSPOT_API_URL": hubspot.base_url,
        "SALESBOT_DATA_DIR": str(tmp_path),
        "PYTHONFAULTHANDLER": "1",
    }
    command = [sys.executable, "-m", "bot", "hubspot", "sync", "--object"]
    subprocess.run([*command, "owners"], env=env, check=True, capture_output=True, timeout=60)
    sync = subprocess.Popen(
        [*command, "companies"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.monotonic() + 60
    # Once the first group is written (its page token saved), HubSpot answers only 429s.
    while (c := _cursor(sqlite_engine)) is None or c.full_after is None:
        assert time.monotonic() < deadline and sync.poll() is None
        time.sleep(0.02)
    hubspot.fail_next(100_000, status=429)
    while hubspot.count(status=429) == 0:
        assert time.monotonic() < deadline and sync.poll() is None
        time.sleep(0.02)
    sync.send_signal(signal.SIGINT)
    try:
        _out, err = sync.communicate(timeout=PROMPT_SECONDS)
    except subprocess.TimeoutExpired:
        # Still running: its threads' stacks (faulthandler, on SIGABRT) say where it hangs.
        sync.send_signal(signal.SIGABRT)
        _out, err = sync.communicate(timeout=30)
        raise AssertionError(f"no exit {PROMPT_SECONDS} s after Ctrl-C:\n{err}") from None

    said = " ".join(err.split())
    assert sync.returncode == 130, err
    assert "interrupted" in said and "resumes where this one stopped" in said
    assert "kept refusing" not in said and "Traceback" not in err
    cursor = _cursor(sqlite_engine)
    assert cursor is not None and cursor.full_after is not None
    assert cursor.last_error == "interrupted; the next sync resumes from here"
    with Session(sqlite_engine) as session:
        assert session.scalars(select(SyncLease)).first() is None
        stored = session.scalar(select(func.count()).select_from(Company)) or 0
    assert 0 < stored < RECORDS

    # The next sync goes on from the saved page token, not from the first page.
    hubspot.clear_faults()
    hubspot.latency_seconds = 0.0
    hubspot.clear()
    again = subprocess.run(
        [*command, "companies"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert hubspot.count("objects.list", object_type="companies") <= (RECORDS - stored) // 50 + 2
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Company)) == RECORDS


def as_from_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it. A suite started in the background (``make test &``,
    some CI runners) ignores SIGINT, children inherit that, and Python then keeps ignoring
    it, as a program started with ``nohup`` should."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
