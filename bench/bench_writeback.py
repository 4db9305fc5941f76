"""Write-back through the stand-in, limited like a real portal (190 requests / 10 s).

    python -m bench writeback                      # 1,000 queued writes, 3 runs
    python -m bench writeback --writes 200 --runs 1   # smaller, while iterating
    python -m bench writeback --per-ten-seconds 10    # a portal whose limit binds

A portal with one owner and its tasks is synced into a fresh SQLite store. Then writes are
queued the way buttons queue them (each task rescheduled, renamed, re-prioritised and
completed, in that order; some tasks created), and the outbox is delivered. Reported (the
median of ``--runs`` runs, each on a fresh portal and store): wall time against the floor,
CPU time, requests against the fewest the rules allow, 429s, lost writes (a row not sent, or
a task whose final state in HubSpot is not the last write's) and duplicates (more record
updates than update rows, more tasks than created). Then, with the outbox idle and its
worker running, single clicks are timed from the commit to the moment the stand-in holds
the change.

The request floor: updates go 100 to a batch (one batch read for the conflict check, one
batch update), and a record's writes go out one batch after the other (in order), so each
round of T tasks needs 2 x ceil(T / 100) requests; creates go 100 to a ``batch/create``:
ceil(C / 100). The time floor is what the portal's rolling window allows: N requests at
L per 10 s cannot finish before (ceil(N / L) - 1) x 10 s (the first L go at once). At 190
per 10 s the 25 requests of 1,000 writes fit in one window: the floor is 0 s and the wall
time is salesbot's own work (and the in-process stand-in's), so the table shows CPU time
beside it. ``--per-ten-seconds 10`` makes the limit bind. The portal's properties are
created first (``salesbot hubspot setup``), so each change also names who acted, in the
same request.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.writeback import OutboxWorker
from connectors.hubspot import RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.setup import check_properties, ensure_properties
from connectors.hubspot.write_api import BATCH_SIZE, WritingClient
from connectors.hubspot.writeback import OutboxSender
from rules.tasks.ops import (
    TaskDraft,
    TaskEdit,
    complete_task,
    create_task,
    edit_task,
    reschedule_task,
)
from storage.db import make_engine, upgrade
from storage.models import Activity, OutboxState, OutboxWrite, User
from storage.outbox import enable_outbox
from tests.support.hubspot import HubSpotStandIn, RateLimits

PER_TEN_SECONDS = 190
WRITES_PER_TASK = 4  # reschedule, rename, re-prioritise, complete
CREATE_SHARE = 0.04
LATENCY_ROUNDS = 15


def _portal(standin: HubSpotStandIn, tasks: int, now: datetime) -> None:
    portal = standin.portal
    team = portal.add_team("Berlin")
    owner = portal.add_owner("dana@northwind.example", "Dana", "Reyes", teams=[team])
    for n in range(tasks):
        portal.create(
            "tasks",
            {
                "hs_task_subject": f"Call {n}",
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_timestamp": now + timedelta(days=1),
                "hubspot_owner_id": owner.id,
            },
        )


def _queue(sessions: sessionmaker[Session], *, tasks: int, creates: int, now: datetime) -> None:
    with sessions() as session:
        actor = session.scalars(select(User)).one()
        ids = list(session.scalars(select(Activity.id).order_by(Activity.id)))[:tasks]
        for task_id in ids:
            results = [
                reschedule_task(session, actor, task_id, to=date(2030, 1, 7), now=now),
                edit_task(
                    session, actor, task_id, edit=TaskEdit(subject=f"Renamed {task_id}"), now=now
                ),
                edit_task(session, actor, task_id, edit=TaskEdit(priority="low"), now=now),
                complete_task(session, actor, task_id, now=now),
            ]
            assert all(r.changed for r in results), [r.message for r in results]
        for n in range(creates):
            draft = TaskDraft(subject=f"New task {n}", due_at=now + timedelta(days=2))
            assert create_task(session, actor, draft, now=now).changed
        session.commit()


def _check(
    standin: HubSpotStandIn, sessions: sessionmaker[Session], creates: int
) -> tuple[int, int]:
    """(lost, duplicated) writes."""
    with sessions() as session:
        rows = list(session.scalars(select(OutboxWrite)))
    lost = sum(1 for r in rows if r.state is not OutboxState.SENT)
    updates = sum(1 for r in rows if r.operation.value == "update")
    live = standin.portal.live("tasks")
    renamed = [r for r in live if (r.properties.get("hs_task_subject") or "").startswith("Renamed")]
    lost += sum(
        1
        for r in renamed
        if r.properties.get("hs_task_status") != "COMPLETED"
        or r.properties.get("hs_task_priority") != "LOW"
        or not (r.properties.get("hs_timestamp") or "").startswith("2030-01-07")
    )
    created = [
        r for r in live if (r.properties.get("hs_task_subject") or "").startswith("New task")
    ]
    updated = sum(
        len(r.body["inputs"]) if r.endpoint == "objects.batch_update" else 1
        for r in standin.requests
        if r.endpoint in ("objects.batch_update", "objects.update") and r.status in (200, 207)
    )
    duplicated = max(0, updated - updates)
    duplicated += max(0, len(created) - creates)
    lost += max(0, creates - len(created))
    return lost, duplicated


def _latency(
    standin: HubSpotStandIn, engine: Any, writer: WritingClient, now: datetime
) -> list[float]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    sender = OutboxSender(engine, writer, holder="bench")
    worker = OutboxWorker(
        engine, sender, tell=lambda *_: None, publish=lambda _: None, attribute=True
    ).start()
    enable_outbox(sessions, crm_name="HubSpot", wake=worker.wake)
    seconds: list[float] = []
    try:
        with sessions() as session:
            actor = session.scalars(select(User)).one()
            open_tasks = list(
                session.scalars(
                    select(Activity).where(Activity.status != "completed").limit(LATENCY_ROUNDS)
                )
            )
            targets = [(t.id, t.external_id) for t in open_tasks]
        for task_id, external_id in targets:
            with sessions() as session:
                fresh = session.get(User, actor.id)
                assert fresh is not None
                assert complete_task(session, fresh, task_id, now=now).changed
                started = time.perf_counter()
                session.commit()
            deadline = started + 30
            while time.perf_counter() < deadline:
                if (
                    standin.portal.get("tasks", external_id).properties.get("hs_task_status")
                    == "COMPLETED"
                ):
                    break
                time.sleep(0.001)
            seconds.append(time.perf_counter() - started)
    finally:
        worker.stop()
    return seconds


def window_floor(requests: int, per_ten_seconds: int) -> float:
    """The least time ``requests`` take under a rolling limit of ``per_ten_seconds``: the
    first window's worth go at once, each further one waits for a window to pass."""
    return (-(-requests // per_ten_seconds) - 1) * 10.0


def run(writes: int, per_ten_seconds: int, console: Console) -> dict[str, Any]:
    now = datetime.now(UTC)
    creates = max(1, round(writes * CREATE_SHARE))
    tasks = max(1, (writes - creates) // WRITES_PER_TASK)
    creates = writes - tasks * WRITES_PER_TASK
    with tempfile.TemporaryDirectory(prefix="bench-writeback-") as folder:
        standin = HubSpotStandIn(limits=RateLimits(per_ten_seconds=per_ten_seconds))
        _portal(standin, tasks + LATENCY_ROUNDS, now)
        standin.start()
        try:
            engine = make_engine(f"sqlite:///{Path(folder) / 'store.sqlite3'}")
            upgrade(engine)
            writer = WritingClient(
                token=standin.token, api_url=standin.base_url, limiter=RateLimiter()
            )
            ensure_properties(writer)
            actor_types = check_properties(writer).actor_types
            check_portal(engine, writer, now=now)  # as `salesbot hubspot sync`
            Syncer(engine, writer).run(full=True)
            sessions = sessionmaker(engine, expire_on_commit=False)
            enable_outbox(sessions, crm_name="HubSpot")
            _queue(sessions, tasks=tasks, creates=creates, now=now)
            console.print(f"{writes:,} writes queued ({tasks:,} tasks x 4, {creates} creates)")
            # Let the sync's requests leave the rolling window: the delivery starts fresh.
            time.sleep(10.5)
            standin.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            sender = OutboxSender(engine, writer, holder="bench", actor_types=actor_types)
            report = sender.deliver()
            seconds = time.perf_counter() - started
            # The stand-in answers from this process: CPU time is salesbot's and its.
            cpu_seconds = time.process_time() - cpu_started
            requests = standin.count()
            refused = standin.count(status=429)
            lost, duplicated = _check(standin, sessions, creates)
            # A task's 4 writes go in 4 successive batches (order per record): each round
            # of `tasks` rows takes ceil(tasks / 100) batch reads and as many batch
            # updates. Creates go 100 to a batch. And one portal check, before the first.
            needed = WRITES_PER_TASK * 2 * -(-tasks // BATCH_SIZE) + -(-creates // BATCH_SIZE) + 1
            allowed = per_ten_seconds - max(1, round(per_ten_seconds * 0.05))
            latency = _latency(standin, engine, writer, now)
            engine.dispose()
        finally:
            standin.stop()
    return {
        "writes": writes,
        "sent": report.sent,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "requests": requests,
        "needed": needed,
        "refused": refused,
        "floor_seconds": window_floor(needed, per_ten_seconds),
        "margin_floor_seconds": window_floor(needed, allowed),
        "lost": lost,
        "duplicated": duplicated,
        "latency_ms": [s * 1000 for s in latency],
    }


def _ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.2f}x" if floor > 0 else "n/a: all fit in one window"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench writeback", description=__doc__)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--per-ten-seconds", type=int, default=PER_TEN_SECONDS)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    console = Console()
    results = [run(args.writes, args.per_ten_seconds, console) for _ in range(args.runs)]
    first = results[0]

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in results))

    seconds, cpu = median("seconds"), median("cpu_seconds")
    floor, needed = first["floor_seconds"], first["needed"]
    requests = max(r["requests"] for r in results)
    table = Table("what", "measured", "floor", "ratio")
    table.add_row(
        f"deliver {args.writes:,} queued writes, wall (s; median of {len(results)})",
        f"{seconds:.2f}",
        f"{floor:.1f}",
        _ratio(seconds, floor),
    )
    table.add_row(
        "  CPU: salesbot and the in-process stand-in (s)",
        f"{cpu:.2f}",
        "",
        f"wall / CPU {seconds / cpu:.2f}x",
    )
    table.add_row("requests", f"{requests:,}", f"{needed:,}", f"{requests / needed:.2f}x")
    table.add_row("429 answers", f"{max(r['refused'] for r in results):,}", "0", "")
    table.add_row(
        "lost / duplicated writes",
        f"{sum(r['lost'] for r in results)} / {sum(r['duplicated'] for r in results)}",
        "0 / 0",
        "",
    )
    latency = [ms for r in results for ms in r["latency_ms"]]
    table.add_row(
        f"click to HubSpot, idle outbox (median of {len(latency)}, ms)",
        f"{statistics.median(latency):.0f}",
        "",
        "",
    )
    console.print(table)
    each = ", ".join(f"{r['seconds']:.2f} / {r['cpu_seconds']:.2f}" for r in results)
    console.print(f"runs (wall / CPU, s): {each}")
    console.print(
        f"floor: {needed:,} requests at {args.per_ten_seconds} per rolling 10 s; the limiter "
        f"keeps a 5 % margin ({first['margin_floor_seconds']:.1f} s with it)"
    )


if __name__ == "__main__":
    main()
