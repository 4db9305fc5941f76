"""Ack latency of signed interactions on the HTTP endpoint, against a bare Bolt floor.

Both apps are served the same way (waitress, same thread count, Bolt's WSGI adapter) in a
separate process with a stand-in Slack Web API, and driven over loopback by ``concurrency``
client threads sending ``total`` signed ``block_actions`` requests. The floor is a bare
Bolt app with one trivial listener; salesbot's requests are Home-tab navigation clicks,
whose real work (queries, rendering, ``views.publish``) runs after the ack.

    python -m bench ack [--total 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
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


def _serve(kind: str, threads: int, ready: Any, stop: Any) -> None:
    import logging

    # waitress warns "Task queue depth is N" whenever 50 clients outrun 16 threads.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    from slack_bolt import App
    from slack_sdk import WebClient
    from waitress.server import create_server

    from bot.server import build_wsgi, stop_http_server
    from tests.support.slack_api import SlackStandIn

    slack = SlackStandIn().start()
    if kind == "floor":
        app = App(
            client=WebClient(token="xoxb-bench", base_url=slack.api_url),
            signing_secret=SECRET,
            token_verification_enabled=False,
        )

        @app.action(FLOOR_ACTION)
        def noop(ack: Callable[[], None]) -> None:
            ack()

        server = create_server(
            build_wsgi(app, lambda: True), host="127.0.0.1", port=0, threads=threads
        )
    else:
        from bot.app import create_app, work_pool
        from bot.server import make_http_server
        from bot.settings import load_settings
        from handlers.services import Services
        from storage.db import make_engine, session_factory, upgrade

        folder = tempfile.mkdtemp(prefix="bench-ack-")
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        now = _seed(engine)
        settings = load_settings(
            slack_signing_secret=SECRET,
            slack_bot_token="xoxb-bench",
            slack_api_url=slack.api_url,
            slack_mode="http",
            http_threads=threads,
        )
        services = Services(sessions=session_factory(engine), settings=settings, clock=lambda: now)
        app = create_app(services)
        server = make_http_server(app, services, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready.put(server.effective_port)  # type: ignore[union-attr]
    stop.wait()
    if kind != "floor":
        work_pool(app).wait_idle(120)
    ready.put(len(slack.calls_to("views.publish")))
    stop_http_server(server)
    slack.stop()


def _seed(engine: Any) -> datetime:
    """The demo organisation when available, else a rep with a handful of records."""
    from sqlalchemy.orm import Session

    now = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
    with Session(engine) as session:
        try:
            from storage.demo import build_demo_org  # type: ignore[import-not-found]
        except ImportError:
            build_demo_org = None
        if build_demo_org is not None:
            org = build_demo_org(session, now=now)
            busiest = getattr(org, "busiest_rep", None) or getattr(org, "rep", None)
            if busiest is not None:
                busiest.slack_user_id = USER
        else:
            from tests.builders import CRM

            crm = CRM(session, now)
            rep = crm.user(name="Bench Rep", slack_user_id=USER)
            for n in range(30):
                crm.task(rep, subject=f"Task {n}")
            crm.deal(rep)
        session.commit()
    return now


# The client ----------------------------------------------------------------------------


def _bodies(kind: str, total: int) -> list[str]:
    import json
    from urllib.parse import urlencode

    from handlers import ids
    from handlers.navigation import View, ViewState

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
            "user": {"id": USER},
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
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SECRET)
    local = threading.local()
    failures = [0]
    lock = threading.Lock()

    def send(body: str) -> float:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30
            )
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
        }
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


def run(kind: str, *, total: int, concurrency: int, threads: int) -> Result:
    context = mp.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(kind, threads, ready, stop), daemon=True)
    process.start()
    try:
        port = ready.get(timeout=120)
        latencies, elapsed, failures = _drive(port, _bodies(kind, total), concurrency)
        stop.set()
        work_done = ready.get(timeout=180)
    finally:
        stop.set()
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
    name = "bare Bolt (floor)" if kind == "floor" else "salesbot"
    return Result(name, latencies, elapsed, failures, work_done)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ack", description=__doc__)
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads (both apps)")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 110))
    console.print(
        f"[bold]ack latency[/bold]: {args.total} signed block_actions, "
        f"{args.concurrency} at a time, waitress with {args.threads} threads"
    )
    console.print("(p50 is the median latency of the acknowledgement, as Slack would see it)")
    results = [
        run(kind, total=args.total, concurrency=args.concurrency, threads=args.threads)
        for kind in ("floor", "salesbot")
    ]
    floor = results[0]
    table = Table(
        "app",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "median ms",
        "req/s",
        "non-200",
        "work done",
        "p99 / floor",
    )
    for result in results:
        table.add_row(
            result.name,
            f"{result.pct(50):.1f}",
            f"{result.pct(95):.1f}",
            f"{result.pct(99):.1f}",
            f"{result.throughput:.0f}",
            str(result.failures),
            f"{result.pct(99) / floor.pct(99):.2f}x",
            "nothing" if result is floor else f"{result.work_done} Home tabs published",
        )
    console.print(table)
    ours = results[1]
    verdict = ours.pct(99) <= 1.5 * floor.pct(99) and ours.pct(99) < 300
    console.print(
        f"aim: p99 within 1.5x of the floor and under 300 ms: "
        f"{'[green]met[/green]' if verdict else '[red]not met[/red]'}"
    )


if __name__ == "__main__":
    main()
