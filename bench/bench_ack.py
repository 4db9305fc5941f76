"""Ack latency of signed interactions on the HTTP endpoint, against a bare Bolt floor.

Both apps are served the same way (waitress, same thread count, Bolt's WSGI adapter) in a
separate process with a stand-in Slack Web API, and driven over loopback by ``concurrency``
client threads sending ``total`` signed ``block_actions`` requests. The floor is a bare
Bolt app with one trivial listener; salesbot's requests are Home-tab navigation clicks by
the demo organisation's users in turn, through every view; the real work (identity, queries,
rendering, ``views.publish`` to the stand-in) runs after the ack, in the same process.

    python -m bench ack [--total 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SECRET = "bench-signing-secret"
USER = "UBENCH"
FLOOR_ACTION = "bench_noop"
# The demo organisation's active users (12 reps, 3 managers, 1 super admin) take turns.
DEMO_USERS = 16


@dataclass(frozen=True)
class Result:
    name: str
    latencies_ms: list[float]
    elapsed_s: float
    failures: int
    work_done: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index]

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s


# The server process --------------------------------------------------------------------


def _standin(ready: Any, stop: Any) -> None:
    """Slack's Web API stand-in, in its own process: Slack's work is not ours to measure."""
    from tests.support.slack_api import SlackStandIn

    slack = SlackStandIn().start()
    ready.put(slack.api_url)
    stop.wait()
    ready.put(len(slack.calls_to("views.publish")))
    slack.stop()


def _serve(
    kind: str,
    api_url: str,
    threads: int,
    workers: int,
    processes: int,
    ready: Any,
    stop: Any,
) -> None:
    import logging

    # waitress warns "Task queue depth is N" whenever 50 clients outrun 16 threads.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    from slack_bolt import App
    from slack_sdk import WebClient
    from waitress.server import BaseWSGIServer, create_server

    from bot.server import build_wsgi, stop_http_server

    pool = None
    if kind == "floor":
        app = App(
            client=WebClient(token="xoxb-bench", base_url=api_url),
            signing_secret=SECRET,
            token_verification_enabled=False,
        )

        @app.action(FLOOR_ACTION)
        def noop(ack: Callable[[], None]) -> None:
            ack()

        server = create_server(
            build_wsgi(app, lambda: True, signing_secret=SECRET),
            host="127.0.0.1",
            port=0,
            threads=threads,
        )
    else:
        from bot.app import create_app, work_pool
        from bot.server import make_http_server
        from bot.settings import load_settings
        from handlers.slack.render_pool import render_pool
        from handlers.slack.services import Services
        from storage.db import make_engine, session_factory, upgrade

        folder = tempfile.mkdtemp(prefix="bench-ack-")
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        now = _seed(engine)
        settings = load_settings(
            slack_signing_secret=SECRET,
            slack_bot_token="xoxb-bench",
            slack_api_url=api_url,
            slack_mode="http",
            http_threads=threads,
            worker_threads=workers,
            render_processes=processes,
        )
        services = Services(sessions=session_factory(engine), settings=settings, clock=lambda: now)
        if kind == "acks":
            # Diagnostic: the same app and listeners, the work after the ack left out.
            import handlers.home

            handlers.home._navigate = lambda *_args, **_kwargs: None
        app = create_app(services)
        pool = render_pool(services)
        if pool is not None:
            pool.warm_up()
        server = make_http_server(app, services, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert isinstance(server, BaseWSGIServer)  # one host and port: a single-socket server
    ready.put(int(server.getsockname()[1]))  # the port 0 picked
    stop.wait()
    if kind != "floor":
        work_pool(app).wait_idle(120)
    ready.put("idle")
    stop_http_server(server)
    if pool is not None:
        pool.shutdown()


def _seed(engine: Any) -> datetime:
    """The demo organisation; every active user gets a Slack id and clicks."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    now = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
    with Session(engine) as session:
        from demo import build_demo_org
        from storage.models import User

        build_demo_org(session, now=now)
        users = session.scalars(select(User).where(User.is_active).order_by(User.id)).all()
        for number, user in enumerate(users):
            user.slack_user_id = _slack_id(number)
        session.commit()
    return now


def _slack_id(number: int) -> str:
    return f"{USER}{number:03d}"


# The client ----------------------------------------------------------------------------


def _bodies(kind: str, total: int, users: int = DEMO_USERS) -> list[str]:
    import json
    from urllib.parse import urlencode

    from handlers.render.navigation import View, ViewState
    from handlers.slack import ids

    views = list(View)
    bodies = []
    for n in range(total):
        if kind == "floor":
            action: dict[str, Any] = {"action_id": FLOOR_ACTION, "value": "x"}
        else:
            view = views[n % len(views)]
            action = {
                "action_id": f"{ids.HOME_NAV}:{view.value}",
                "value": ViewState(view=view).encode(),
            }
        payload = {
            "type": "block_actions",
            "user": {"id": _slack_id(n % users)},
            "team": {"id": "T0STANDIN"},
            "api_app_id": "A0BENCH",
            "trigger_id": "1.2.3",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home", "private_metadata": ""},
            "actions": [{**action, "type": "button", "block_id": "b"}],
        }
        bodies.append(urlencode({"payload": json.dumps(payload)}))
    return bodies


def _drive(port: int, bodies: list[str], concurrency: int) -> tuple[list[float], float, int]:
    from tests.support.signing import signed_headers

    local = threading.local()
    failures = [0]
    lock = threading.Lock()

    def send(body: str) -> float:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30
            )
        headers = signed_headers(SECRET, body)
        started = time.perf_counter()
        connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        took = (time.perf_counter() - started) * 1000
        if response.status != 200:
            with lock:
                failures[0] += 1
        return took

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, bodies[:concurrency]))  # warm up every connection
        started = time.perf_counter()
        latencies = list(pool.map(send, bodies))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, failures[0]


def run(
    kind: str, *, total: int, concurrency: int, threads: int, workers: int, processes: int = 0
) -> Result:
    context = mp.get_context("spawn")
    slack_ready, slack_stop = context.Queue(), context.Event()
    slack = context.Process(target=_standin, args=(slack_ready, slack_stop))
    ready, stop = context.Queue(), context.Event()
    slack.start()
    server = None
    try:
        api_url = slack_ready.get(timeout=60)
        server = context.Process(
            target=_serve, args=(kind, api_url, threads, workers, processes, ready, stop)
        )
        server.start()
        port = ready.get(timeout=120)
        latencies, elapsed, failures = _drive(port, _bodies(kind, total), concurrency)
        stop.set()
        ready.get(timeout=180)  # the work after the acks has finished
        slack_stop.set()
        work_done = slack_ready.get(timeout=30)
    finally:
        stop.set()
        slack_stop.set()
        for process in (server, slack):
            if process is not None:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
    if kind == "floor":
        name = "bare Bolt (floor)"
    elif kind == "acks":
        name = "salesbot, acks only (work stubbed)"
    elif processes:
        name = f"salesbot, rendering in {processes} processes"
    else:
        name = "salesbot, rendering in threads"
    return Result(name, latencies, elapsed, failures, work_done)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ack", description=__doc__)
    parser.add_argument("--total", type=int, default=2000, help="requests per run")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads (both apps)")
    parser.add_argument(
        "--workers", type=int, default=16, help="salesbot's threads for work after the ack"
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="salesbot's render processes (the second row)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each app, alternated (medians quoted)"
    )
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 110))
    console.print(
        f"[bold]ack latency[/bold]: {args.total} signed block_actions per run, "
        f"{args.concurrency} at a time, waitress with {args.threads} threads, "
        f"{args.rounds} alternated runs per app (medians across runs)"
    )
    configs = {"floor": 0, "acks": 0, "threads": 0, "processes": args.processes}
    runs: dict[str, list[Result]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for config, processes in configs.items():
            runs[config].append(
                run(
                    config if config in ("floor", "acks") else "salesbot",
                    total=args.total,
                    concurrency=args.concurrency,
                    threads=args.threads,
                    workers=args.workers,
                    processes=processes,
                )
            )
    table = Table(
        "app", "p50 ms", "p95 ms", "p99 ms", "req/s", "non-200", "p99 / floor", "work after the ack"
    )
    summary: dict[str, dict[str, float]] = {}
    for kind, results in runs.items():
        summary[kind] = {
            "p50": _median([r.pct(50) for r in results]),
            "p95": _median([r.pct(95) for r in results]),
            "p99": _median([r.pct(99) for r in results]),
            "rps": _median([r.throughput for r in results]),
            "failures": sum(r.failures for r in results),
            "work": _median([float(r.work_done) for r in results]),
        }
    floor = summary["floor"]
    for kind, numbers in summary.items():
        table.add_row(
            runs[kind][0].name,
            f"{numbers['p50']:.1f}",
            f"{numbers['p95']:.1f}",
            f"{numbers['p99']:.1f}",
            f"{numbers['rps']:.0f}",
            f"{numbers['failures']:.0f}",
            f"{numbers['p99'] / floor['p99']:.2f}x",
            "nothing"
            if kind in ("floor", "acks")
            else f"{numbers['work']:.0f} Home tabs published per run",
        )
    console.print(table)
    for config in ("threads", "processes"):
        per_run = ", ".join(
            f"{r.pct(99):.0f}/{f.pct(99):.0f}"
            for r, f in zip(runs[config], runs["floor"], strict=True)
        )
        console.print(f"p99 per round, {runs[config][0].name} / floor, ms: {per_run}")
    ours = summary["processes"]["p99"]
    verdict = ours <= 1.5 * floor["p99"] and ours < 300
    console.print(
        f"aim (rendering in {args.processes} processes): p99 within 1.5x of the floor and "
        "under 300 ms: " + ("[green]met[/green]" if verdict else "[red]not met[/red]")
    )


if __name__ == "__main__":
    main()
