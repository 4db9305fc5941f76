"""The HubSpot sync through the stand-in, limited like a real portal (190 requests / 10 s).

    python -m bench hubspot                  # scale 0.1 (115k records)
    python -m bench hubspot --scales 0.01    # smaller, while iterating

For each scale: the bench organisation is loaded into the stand-in; a full sync fills a
fresh SQLite store. Reported: requests per 1,000 records against the minimum the page and
batch sizes allow for what is read, and wall time against the floor (those minimum requests
at 190 per 10 s). Then 1,000 records change (one bulk update) and an incremental sync runs;
then single changes go through signed webhooks to the worker, timed from the delivery to
the call that publishes the owner's Home tab (Slack's own ``views.publish`` not included).

The stand-in runs in the benchmark's process: "CPU s" (the process's CPU time, the
stand-in's serving included) tells how much of the wall time is work rather than waiting,
which matters on a loaded machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bench.generate import load_org
from bot.hubspot import WEBHOOK_PATH, HubSpotWorker, webhook_app
from bot.settings import load_settings
from connectors.hubspot import OBJECT_TYPES, OfficialClient, RateLimiter, Syncer
from connectors.hubspot.api import ASSOCIATIONS_BATCH, HISTORY_PAGE, LIST_PAGE
from demo.hubspot_portal.from_store import load_store
from storage.db import make_engine, upgrade
from storage.models import User
from tests.support.hubspot import HubSpotStandIn, RateLimits

PER_TEN_SECONDS = 190
WEBHOOK_ROUNDS = 15
SECRET = "bench-client-secret"


def minimum_requests(counts: dict[str, int]) -> int:
    """The fewest requests that read ``counts`` records per HubSpot type as the sync does.

    List pages of 100 (50 where property history is read), one v4 association call per
    1,000 records and target type, one archived listing per type, and the fixed reads:
    owners (active, archived), portal users, roles, CRM users, two pipelines, dispositions.
    """
    total = 8
    for kind in OBJECT_TYPES:
        n = counts.get(kind.name, 0)
        page = HISTORY_PAGE if kind.history else LIST_PAGE
        total += max(1, math.ceil(n / page)) + 1
        total += len(kind.associations) * max(1, math.ceil(n / ASSOCIATIONS_BATCH))
    return total


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


def _measure(scale: float, console: Console) -> dict[str, Any]:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-hubspot-") as folder:
        source = make_engine(f"sqlite:///{Path(folder) / 'source.sqlite3'}")
        load_org(source, scale=scale, now=now)
        standin = HubSpotStandIn(limits=RateLimits(per_ten_seconds=PER_TEN_SECONDS))
        with Session(source) as session:
            loaded = load_store(standin.portal, session)
        source.dispose()
        records = sum(n for name, n in loaded.counts.items() if name != "owners")
        standin.start()
        try:
            target = make_engine(f"sqlite:///{Path(folder) / 'synced.sqlite3'}")
            upgrade(target)
            api = OfficialClient(
                token=standin.token, api_url=standin.base_url, limiter=RateLimiter()
            )
            console.print(f"scale {scale:g}: {records:,} records in the portal; full sync...")
            started, cpu = time.perf_counter(), time.process_time()
            full = Syncer(target, api).run(full=True)
            full_seconds = time.perf_counter() - started
            full_cpu = time.process_time() - cpu
            full_requests = standin.count()
            refused = standin.count(status=429)
            floor_requests = minimum_requests(loaded.counts)
            result: dict[str, Any] = {
                "scale": scale,
                "records": records,
                "requests": full_requests,
                "refused": refused,
                "floor_requests": floor_requests,
                "seconds": full_seconds,
                "cpu_seconds": full_cpu,
                "floor_seconds": floor_requests / (PER_TEN_SECONDS / 10),
                "stopped": full.stopped,
            }
            result |= _incremental(standin, target, api)
            result |= _webhooks(standin, target, api)
            target.dispose()
        finally:
            standin.stop()
    return result


def _incremental(standin: HubSpotStandIn, target: Any, api: OfficialClient) -> dict[str, Any]:
    tasks = [r.id for r in standin.portal.live("tasks")[:1000]]
    standin.portal.bulk_update("tasks", tasks, {"hs_task_priority": "HIGH"})
    standin.clear()
    started = time.perf_counter()
    Syncer(target, api).run(only=["tasks"])
    return {
        "incremental_seconds": time.perf_counter() - started,
        "incremental_requests": standin.count(),
    }


def _webhooks(standin: HubSpotStandIn, target: Any, api: OfficialClient) -> dict[str, Any]:
    with Session(target) as session:
        # Slack linking by e-mail, as `serve` does when people open the app.
        for n, user in enumerate(session.scalars(select(User))):
            session.execute(
                update(User).where(User.id == user.id).values(slack_user_id=f"U{n:08d}")
            )
        session.commit()
    published = threading.Event()
    worker = HubSpotWorker(
        target, api, every=timedelta(days=1), publish=lambda _ids: published.set()
    )
    worker._next_sync = datetime.now(UTC) + timedelta(days=1)  # webhooks only
    worker.start()
    settings = load_settings(hubspot_webhook_secret=SecretStr(SECRET))
    server = make_server(
        "127.0.0.1", 0, webhook_app(settings, target, worker), handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}"
    seconds: list[float] = []
    standin.portal.take_events()
    try:
        owned = [r for r in standin.portal.live("tasks") if r.properties.get("hubspot_owner_id")]
        for record in owned[:WEBHOOK_ROUNDS]:
            standin.portal.update("tasks", record.id, {"hs_task_status": "COMPLETED"})
            published.clear()
            started = time.perf_counter()
            standin.deliver_webhooks(url, client_secret=SECRET)
            if published.wait(timeout=30):
                seconds.append(time.perf_counter() - started)
    finally:
        worker.stop()
        server.shutdown()
        server.server_close()
    return {
        "webhook_median": statistics.median(seconds) if seconds else float("nan"),
        "webhook_rounds": len(seconds),
    }


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title=f"HubSpot sync through the stand-in ({PER_TEN_SECONDS} requests / 10 s)")
    for column in (
        "scale",
        "records",
        "requests / 1k",
        "floor / 1k",
        "429s",
        "full sync s",
        "CPU s",
        "floor s",
        "ratio",
        "1,000 changes: requests, s",
        "webhook → Home publish (median)",
    ):
        table.add_column(column, justify="right")
    for r in results:
        per_k = 1000 / r["records"]
        table.add_row(
            f"{r['scale']:g}",
            f"{r['records']:,}",
            f"{r['requests'] * per_k:.1f}",
            f"{r['floor_requests'] * per_k:.1f}",
            str(r["refused"]),
            f"{r['seconds']:.1f}",
            f"{r['cpu_seconds']:.1f}",
            f"{r['floor_seconds']:.1f}",
            f"{r['seconds'] / r['floor_seconds']:.2f}x",
            f"{r['incremental_requests']}, {r['incremental_seconds']:.1f}",
            f"{r['webhook_median'] * 1000:.0f} ms ({r['webhook_rounds']} rounds)",
        )
    return table


def main(argv: list[str] | None = None, *, report: Callable[[Table], None] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench hubspot")
    parser.add_argument(
        "--scales", default="0.1", help="comma-separated scales (1.0: 1M activities)"
    )
    args = parser.parse_args(argv)
    console = Console()
    results = [_measure(float(s), console) for s in args.scales.split(",")]
    table = _table(results)
    (report or console.print)(table)
