"""Socket Mode: ack latency of envelopes against a bare Bolt floor, and time to reconnect.

The app runs in its own process, connected through slack_sdk's websocket-client Socket Mode
client to the Socket Mode stand-in (tests/support/socket_mode.py), which runs in this process
with the Web API stand-in and measures each envelope from the moment it is sent to the ack.
The floor is a bare Bolt app with one trivial listener on the same client; salesbot's
envelopes are Home-tab navigation clicks by the demo organisation's users (the rendering and
``views.publish`` run after the ack). Then the connection is cut (no close frame) or sent a
``refresh_requested`` disconnect, and the time to the next ``hello`` is measured.

    python -m bench socket [--total 1000] [--concurrency 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.bench_ack import FLOOR_ACTION, _bodies, _seed

APP_TOKEN = "xapp-bench"
ACK_LIMIT_MS = 3000.0


def _app(kind: str, api_url: str, processes: int, stop: Any) -> None:
    from slack_bolt import Ack, App
    from slack_sdk import WebClient

    if kind == "floor":
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

        app = App(
            client=WebClient(token="xoxb-bench", base_url=api_url),
            signing_secret="unused",
            token_verification_enabled=False,
            # Ack in the request's thread, as salesbot does (else Bolt polls for the ack).
            process_before_response=True,
        )

        @app.action(FLOOR_ACTION)
        def noop(ack: Ack) -> None:
            ack()

        handler = SocketModeHandler(app, app_token=APP_TOKEN, web_client=app.client)
        handler.connect()
        stop.wait()
        handler.client.auto_reconnect_enabled = False
        handler.close()
        return
    from bot.app import create_app, work_pool
    from bot.server import SocketModeService
    from bot.settings import load_settings
    from handlers.slack.render_pool import render_pool
    from handlers.slack.services import Services
    from storage.db import make_engine, session_factory, upgrade

    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}")
    upgrade(engine)
    now = _seed(engine)
    settings = load_settings(
        slack_bot_token="xoxb-bench",
        slack_app_token=APP_TOKEN,
        slack_api_url=api_url,
        slack_mode="socket",
        worker_threads=16,
        render_processes=processes,
    )
    services = Services(sessions=session_factory(engine), settings=settings, clock=lambda: now)
    salesbot = create_app(services)
    pool = render_pool(services)
    if pool is not None:
        pool.warm_up()
    service = SocketModeService(salesbot, services).start()
    stop.wait()
    work_pool(salesbot).wait_idle(120)
    service.stop_taking_requests(timeout=10)
    service.close()
    if pool is not None:
        pool.shutdown()


def _payloads(kind: str, total: int) -> list[dict[str, Any]]:
    import json
    from urllib.parse import parse_qsl

    return [json.loads(dict(parse_qsl(body))["payload"]) for body in _bodies(kind, total)]


def run(
    kind: str, *, total: int, concurrency: int, cuts: int, processes: int = 0
) -> dict[str, Any]:
    from tests.support.slack_api import SlackStandIn
    from tests.support.socket_mode import SocketModeStandIn

    slack = SlackStandIn().start()
    sockets = SocketModeStandIn(slack).start()
    stop = mp.get_context("spawn").Event()
    process = mp.get_context("spawn").Process(
        target=_app, args=(kind, slack.api_url, processes, stop)
    )
    process.start()
    try:
        sockets.wait_connections(1, timeout=120)
        payloads = _payloads(kind, total)

        def send(payload: dict[str, Any]) -> float:
            envelope = sockets.wait_ack(sockets.send("interactive", payload), timeout=30)
            if envelope.acked_at is None:
                return float("inf")
            return (envelope.acked_at - envelope.sent_at) * 1000

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, payloads[:concurrency]))  # warm up
            started = time.perf_counter()
            latencies = list(pool.map(send, payloads))
            elapsed = time.perf_counter() - started
        reconnects: dict[str, list[float]] = {"drop": [], "refresh": []}
        for n in range(cuts):
            before = sockets.connects
            started = time.perf_counter()
            if n % 2:
                sockets.disconnect("refresh_requested")
            else:
                sockets.drop()
            while sockets.connects == before:
                time.sleep(0.001)
            reconnects["refresh" if n % 2 else "drop"].append(
                (time.perf_counter() - started) * 1000
            )
            sockets.wait_connections(1)
    finally:
        stop.set()
        process.join(timeout=120)
        if process.is_alive():
            process.terminate()
        sockets.stop()
        slack.stop()
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)],
        "rps": total / elapsed,
        "late": sum(1 for x in latencies if x > ACK_LIMIT_MS),
        "drop_ms": statistics.median(reconnects["drop"] or [float("nan")]),
        "refresh_ms": statistics.median(reconnects["refresh"] or [float("nan")]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench socket", description=__doc__)
    parser.add_argument("--total", type=int, default=1000, help="envelopes per run")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternated runs per app")
    parser.add_argument("--cuts", type=int, default=6, help="connection cuts per run")
    parser.add_argument(
        "--processes", type=int, default=2, help="salesbot's render processes (third row)"
    )
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 110))
    console.print(
        f"[bold]Socket Mode[/bold]: {args.total} block_actions envelopes per run, "
        f"{args.concurrency} at a time, {args.rounds} alternated runs per app (medians)"
    )
    configs = {"floor": 0, "threads": 0, "processes": args.processes}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, processes in configs.items():
            runs[name].append(
                run(
                    "floor" if name == "floor" else "salesbot",
                    total=args.total,
                    concurrency=args.concurrency,
                    cuts=args.cuts,
                    processes=processes,
                )
            )
    names = {
        "floor": "bare Bolt (floor)",
        "threads": "salesbot, rendering in threads",
        "processes": f"salesbot, rendering in {args.processes} processes",
    }
    table = Table("app", "ack p50 ms", "ack p99 ms", "acks/s", "acks > 3 s", "p99 / floor")
    table.add_column("reconnect after a cut, ms")
    table.add_column("after refresh_requested, ms")
    summary = {
        kind: {k: statistics.median(r[k] for r in results) for k in results[0]}
        for kind, results in runs.items()
    }
    for kind, numbers in summary.items():
        table.add_row(
            names[kind],
            f"{numbers['p50']:.1f}",
            f"{numbers['p99']:.1f}",
            f"{numbers['rps']:.0f}",
            f"{numbers['late']:.0f}",
            f"{numbers['p99'] / summary['floor']['p99']:.2f}x",
            f"{numbers['drop_ms']:.0f}",
            f"{numbers['refresh_ms']:.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
