"""The sync reads object types ahead, several at once: records still land after the records
they link to, and a sync killed with pages read but not written loses and doubles nothing."""

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
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    Assignment,
    Company,
    Contact,
    OwnedObject,
    SyncCursor,
)
from tests.support.hubspot import HubSpotStandIn


def _count(engine: Engine, model: type[object], *where: object) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return session.scalar(query) or 0


def test_tasks_read_before_their_contacts_are_written_keep_their_links(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn
) -> None:
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes")
    # 15 pages of contacts, one page of tasks: the tasks are read long before the last
    # contacts are written.
    contacts = [
        hubspot.portal.create("contacts", {"email": f"c{n}@acme.example"}) for n in range(1_500)
    ]
    for n, contact in enumerate(contacts[-100:]):
        task = hubspot.portal.create(
            "tasks", {"hs_task_subject": f"Call {n}", "hubspot_owner_id": dana.id}
        )
        hubspot.portal.associate("tasks", task.id, "contacts", contact.id)
    hubspot.latency_seconds = 0.01

    result = Syncer(sqlite_engine, api).run(full=True)

    assert result.stopped is None and result.problems == []
    assert _count(sqlite_engine, Contact) == 1_500
    assert _count(sqlite_engine, Activity) == 100
    assert _count(sqlite_engine, ActivityContact) == 100


TASKS = 300
COMPANIES = 5_000


def _stored(engine: Engine) -> tuple[int, int]:
    return _count(engine, Company), _count(engine, Activity)


def _companies_resume_from(engine: Engine) -> str | None:
    with Session(engine) as session:
        cursor = session.get(SyncCursor, "companies")
        return cursor.full_after if cursor else None


@pytest.mark.slow
def test_a_sync_killed_with_pages_read_but_not_written_resumes_without_loss_or_doubles(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, tmp_path: Path
) -> None:
    dana = hubspot.portal.add_owner("dana@northwind.example", "Dana", "Reyes")
    companies = [
        hubspot.portal.create("companies", {"name": f"Company {n}", "hubspot_owner_id": dana.id})
        for n in range(COMPANIES)
    ]
    for n in range(TASKS):
        task = hubspot.portal.create(
            "tasks", {"hs_task_subject": f"Call {n}", "hubspot_owner_id": dana.id}
        )
        hubspot.portal.associate("tasks", task.id, "companies", companies[n].id)
    hubspot.limits.enabled = False
    hubspot.latency_seconds = 0.03
    env = {
        **os.environ,
        "DATABASE_URL": str(sqlite_engine.url),
        "SALESBOT_HUBSPOT_TOKEN": hubspot.token,
        "SALESBOT_HUBSPOT_API_URL": hubspot.base_url,
        "SALESBOT_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "bot", "hubspot", "sync", "--object"]
    subprocess.run([*command, "owners"], env=env, check=True, capture_output=True, timeout=60)
    sync = subprocess.Popen(
        [*command, "companies", "--object", "tasks"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    # Killed once the tasks and their associations are read, while companies are written
    # (the first group's page token saved).
    while time.monotonic() < deadline and not (
        hubspot.count("associations.batch_read", object_type="tasks") > 0
        and _companies_resume_from(sqlite_engine) is not None
    ):
        time.sleep(0.02)
    sync.send_signal(signal.SIGKILL)
    sync.wait(timeout=10)
    companies_stored, tasks_stored = _stored(sqlite_engine)
    assert hubspot.count("objects.list", object_type="tasks") > 0
    assert 0 < companies_stored < COMPANIES and tasks_stored == 0

    hubspot.latency_seconds = 0.0
    hubspot.clear()
    api = OfficialClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    result = Syncer(sqlite_engine, api).run(only=["companies", "tasks"])

    assert result.stopped is None
    # Companies went on from their saved page token (100 a page), not from the first page.
    assert hubspot.count("objects.list", object_type="companies") <= (
        (COMPANIES - companies_stored) // 100 + 2
    )
    assert _stored(sqlite_engine) == (COMPANIES, TASKS)
    assert _count(sqlite_engine, ActivityCompany) == TASKS
    # One owner-history entry per company: the groups read again were not recorded twice.
    assert _count(sqlite_engine, Assignment, Assignment.object_type == OwnedObject.COMPANY) == (
        COMPANIES
    )


# Ctrl-C taken by a fetcher thread ---------------------------------------------------------

_CTRL_C_IN_A_FETCHER = """
import signal, sys, threading, time
from connectors.hubspot.ahead import Ahead, Source

signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it

started = threading.Event()

def endless():
    started.set()
    while True:  # a fetcher waiting on HubSpot (it looks for a stop between waits)
        time.sleep(0.05)
        ahead.check()
        if False:
            yield None

def ctrl_c_into_the_fetcher():
    started.wait()
    [fetcher] = [t for t in threading.enumerate() if t.name.startswith("hubspot-fetch")]
    time.sleep(0.3)  # the writer is waiting for its first group by now
    signal.pthread_kill(fetcher.ident, signal.SIGINT)

threading.Thread(target=ctrl_c_into_the_fetcher, daemon=True).start()
ahead = Ahead([Source("companies", 0, endless)], fetchers=1)
try:
    with ahead:
        for _ in ahead.stage_items(0):
            pass
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(130)
"""


def test_ctrl_c_delivered_to_a_fetcher_thread_still_stops_the_writer() -> None:
    # The kernel may hand a process's SIGINT to any thread; Python runs its handler in the
    # main thread only when that thread wakes, so the writer must never wait unbounded.
    assert _run_with_deadline(_CTRL_C_IN_A_FETCHER, seconds=10) == "interrupted"


def _run_with_deadline(script: str, *, seconds: float) -> str:
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, _err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return f"still waiting {seconds} s after Ctrl-C"
    return out.strip()
