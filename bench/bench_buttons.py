"""Buttons that write: the cost of one write, and a click's ack and time to effect.

Two measurements on a file SQLite database seeded with ``--tasks`` open tasks for each of
``--reps`` reps:

* **domain**: the median time of each write operation (complete a task, reschedule it,
  log a call outcome, update a deal), committed, one at a time; this includes the guided
  actions' re-evaluation of the touched records.
* **endpoint**: ``--clicks`` signed "Complete" clicks on distinct tasks sent to the real HTTP
  endpoint (waitress, in-process) ``--concurrency`` at a time: ack latency as Slack sees it,
  and the time until the message update (``chat.update``) reaches the stand-in Slack; then
  ``--paced`` clicks one at a time, each waiting for its update (a lone click's latency).

    python -m bench buttons [--clicks 400] [--concurrency 20] [--reps 20] [--tasks 30] [--paced 30]
"""

from __future__ import annotations

import argparse
import http.client
import logging
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


def _seed(
    session: Any, reps: int, tasks: int
) -> tuple[list[Any], list[list[int]], list[int], list[int]]:
    from tests.builders import CRM

    crm = CRM(session, NOW)
    users, task_ids, call_ids, deal_ids = [], [], [], []
    for r in range(reps):
        rep = crm.user(name=f"Rep {r}", slack_user_id=f"UREP{r}")
        users.append(rep)
        contact = crm.contact(rep)
        deal = crm.deal(rep, contacts=[contact])
        deal_ids.append(deal.id)
        task_ids.append(
            [
                crm.task(rep, subject=f"Task {r}-{n}", due_at=NOW + timedelta(hours=n - 10)).id
                for n in range(tasks)
            ]
        )
        call_ids.append(crm.call(rep, contacts=[contact], deals=[deal]).id)
    session.commit()
    return users, task_ids, call_ids, deal_ids


def _timed(operation: Any, samples: int) -> list[float]:
    times = []
    for n in range(samples):
        started = time.perf_counter()
        operation(n)
        times.append((time.perf_counter() - started) * 1000)
    return times


def domain(reps: int, tasks: int) -> list[tuple[str, list[float]]]:
    from rules.deals.ops import DealChange, update_deal
    from rules.meetings.ops import log_call_outcome
    from rules.tasks.ops import complete_task, reschedule_task
    from storage.db import make_engine, session_factory, unit_of_work, upgrade
    from storage.models import User

    folder = tempfile.mkdtemp(prefix="bench-buttons-")
    engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with unit_of_work(sessions) as session:
        users, task_ids, call_ids, deal_ids = _seed(session, reps, tasks)
    user_ids = [u.id for u in users]
    samples = min(reps * tasks // 2, 300)

    def as_rep(n: int, work: Any) -> None:
        with unit_of_work(sessions) as session:
            actor = session.get(User, user_ids[n % reps])
            work(session, actor, n)

    results = [
        (
            "complete task",
            _timed(
                lambda n: as_rep(
                    n,
                    lambda s, a, n: complete_task(
                        s, a, task_ids[n % reps][n // reps % tasks], now=NOW
                    ),
                ),
                samples,
            ),
        ),
        (
            "reschedule task",
            _timed(
                lambda n: as_rep(
                    n,
                    lambda s, a, n: reschedule_task(
                        s,
                        a,
                        task_ids[n % reps][tasks - 1 - n // reps % tasks],
                        to=("tomorrow", "next_week")[n % 2],
                        now=NOW,
                    ),
                ),
                samples,
            ),
        ),
        (
            "log call outcome",
            _timed(
                lambda n: as_rep(
                    n,
                    lambda s, a, n: log_call_outcome(
                        s, a, call_ids[n % reps], disposition=f"Label {n}", now=NOW
                    ),
                ),
                samples,
            ),
        ),
        (
            "update deal next step",
            _timed(
                lambda n: as_rep(
                    n,
                    lambda s, a, n: update_deal(
                        s, a, deal_ids[n % reps], change=DealChange(next_step=f"Step {n}"), now=NOW
                    ),
                ),
                samples,
            ),
        ),
    ]
    engine.dispose()
    return results


def endpoint(
    clicks: int, concurrency: int, reps: int, tasks: int, paced: int
) -> tuple[list[float], list[float], list[float], int]:
    import json
    from urllib.parse import urlencode

    from handlers.slack import ids
    from storage.db import make_engine, session_factory, unit_of_work, upgrade
    from tests.support.app import SIGNING_SECRET, start_app
    from tests.support.signing import signed_headers
    from tests.support.slack_api import running_standin

    folder = tempfile.mkdtemp(prefix="bench-buttons-")
    engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        _users, task_ids, _calls, _deals = _seed(session, reps, tasks)
    total = clicks + paced
    if total > reps * tasks:
        raise SystemExit(f"need {total} distinct tasks: raise --reps or --tasks")
    targets = [(f"UREP{n % reps}", task_ids[n % reps][n // reps % tasks]) for n in range(total)]
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    failures = [0]
    lock = threading.Lock()

    with running_standin() as slack, start_app(engine, slack, clock=lambda: NOW) as app:
        port = int(app.url.rsplit(":", 1)[1])
        local = threading.local()

        def click(n: int) -> None:
            user, task_id = targets[n]
            key = f"click{n}"
            payload = {
                "type": "block_actions",
                "user": {"id": user},
                "team": {"id": slack.team_id},
                "api_app_id": "A0BENCH",
                "trigger_id": "1.2.3",
                "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
                "channel": {"id": "D1"},
                "message": {"ts": "1.1", "blocks": []},
                "response_url": slack.response_url(key),
                "actions": [
                    {
                        "action_id": ids.TASK_COMPLETE,
                        "block_id": f"task:{task_id}",
                        "type": "button",
                        "value": str(task_id),
                    }
                ],
            }
            body = urlencode({"payload": json.dumps(payload)})
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = http.client.HTTPConnection(
                    "127.0.0.1", port, timeout=30
                )
            headers = signed_headers(SIGNING_SECRET, body)
            started = time.monotonic()
            connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                sent_at[key] = started
                acks.append((time.monotonic() - started) * 1000)
                if response.status != 200:
                    failures[0] += 1

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(click, range(clicks)))
        app.settle(120)
        burst_acks = list(acks)
        # Then one click at a time, each waiting for its effect: the latency of a lone click.
        for n in range(clicks, total):
            click(n)
            app.settle(30)
        # Each task has its own subject, and the update's text names it.
        key_of = {
            f"Done: 'Task {n % reps}-{n // reps % tasks}' completed.": n for n in range(total)
        }
        arrivals = {
            key_of[call.params["text"]]: call.at
            for call in slack.calls_to("chat.update")
            if call.params.get("text") in key_of
        }
        burst = [
            (arrivals[n] - sent_at[f"click{n}"]) * 1000 for n in range(clicks) if n in arrivals
        ]
        lone = [
            (arrivals[n] - sent_at[f"click{n}"]) * 1000
            for n in range(clicks, total)
            if n in arrivals
        ]
    engine.dispose()
    return burst_acks, burst, lone, failures[0]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench buttons", description=__doc__)
    parser.add_argument("--clicks", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--paced", type=int, default=30, help="clicks sent one at a time")
    args = parser.parse_args(argv)
    # waitress warns "Task queue depth is N" whenever the clients outrun its threads.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    console = Console(width=max(Console().width, 100))

    table = Table("write (SQLite, committed)", "median ms", "p95 ms", "samples")
    for name, times in domain(args.reps, args.tasks):
        table.add_row(
            name, f"{statistics.median(times):.2f}", f"{_pct(times, 95):.2f}", str(len(times))
        )
    console.print(table)

    acks, burst, lone, failures = endpoint(
        args.clicks, args.concurrency, args.reps, args.tasks, args.paced
    )
    table = Table("complete-task clicks", "p50 ms", "p95 ms", "p99 ms", "count")
    for label, values in (
        (f"burst: ack (HTTP answer), {args.concurrency} at a time", acks),
        ("burst: click -> message updated", burst),
        ("one at a time: click -> message updated", lone),
    ):
        if values:
            table.add_row(
                label,
                f"{_pct(values, 50):.1f}",
                f"{_pct(values, 95):.1f}",
                f"{_pct(values, 99):.1f}",
                str(len(values)),
            )
    console.print(
        f"{args.clicks} signed clicks in a burst, then {args.paced} one at a time; "
        f"{failures} non-200 answers"
    )
    console.print(table)
    if burst and lone:
        console.print(
            "burst p50 effect / lone p50 effect: "
            f"{_pct(burst, 50) / max(_pct(lone, 50), 1e-9):.1f}x (the burst's effects wait "
            "for the writes before them: SQLite takes one at a time)"
        )
