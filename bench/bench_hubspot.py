"""The HubSpot sync through the stand-in, limited like a real portal (190 requests / 10 s).

    python -m bench hubspot                  # scale 0.1 (115k records)
    python -m bench hubspot --scales 0.01    # smaller, while iterating

For each scale: the bench organisation is loaded into the stand-in; a full sync fills a
fresh SQLite store. Reported: requests per 1,000 records against the minimum the page and
batch sizes allow for what is read, and wall time against the floor (those minimum requests
at 190 per 10 s). The guided actions are then evaluated once, as ``salesbot hubspot sync``
does after a full sync (timed apart). Then, after one untimed incremental pass, 1,000
records change (one bulk update) and an incremental sync runs; then single changes go
through signed webhooks to the worker, timed from the delivery to the call that publishes
the owner's Home tab (Slack's own ``views.publish`` not included).
Every number is printed beside its floor.

The stand-in runs as a process of its own (``python -m tests.support.hubspot_api --bench
SCALE``), driven through its control endpoints, so "CPU s" (the benchmark process's CPU
time during the full sync) is salesbot's alone: on a loaded machine it tells how much of
the wall time is work rather than waiting. The stand-in's own CPU time during the sync is
printed apart (it shares the machine's cores, but it is not salesbot's cost). Peak memory
of both processes is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.crm_changes import apply_to_workspace
from bot.hubspot import WEBHOOK_PATH, HubSpotWorker, webhook_app
from bot.settings import load_settings
from connectors.hubspot import OBJECT_TYPES, OfficialClient, RateLimiter, Syncer, SyncResult
from connectors.hubspot.api import ASSOCIATIONS_BATCH, HISTORY_PAGE, LIST_PAGE, SEARCH_PAGE
from connectors.hubspot.objects import TASKS
from storage.db import make_engine, upgrade
from storage.models import User

PER_TEN_SECONDS = 190
WINDOW_SECONDS = 10.0
WEBHOOK_ROUNDS = 15
CHANGES = 1000
# HubSpot's own limit on search requests (the search guide), on top of the burst window.
SEARCH_PER_SECOND = 5
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


def incremental_floor(changes: int, per_ten_seconds: int) -> tuple[int, float]:
    """The fewest requests, and seconds, that read ``changes`` modified tasks (the records
    the incremental sync found modified; at least the 1,000 changed): search pages
    of 200, then one v4 association call per 1,000 records and target type; search's own
    per-second limit binds before the burst window does."""
    searches = max(1, math.ceil(changes / SEARCH_PAGE))
    requests = searches + len(TASKS.associations) * max(1, math.ceil(changes / ASSOCIATIONS_BATCH))
    return requests, max(requests / (per_ten_seconds / 10), searches / SEARCH_PER_SECOND)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@dataclass(frozen=True)
class _StandIn:
    """The stand-in running as its own process, and the way to its control endpoints."""

    process: subprocess.Popen[str]
    base_url: str
    token: str
    counts: dict[str, int]

    def control(self, method: str, action: str, body: Any = None) -> Any:
        answer = requests.request(
            method,
            f"{self.base_url}/_standin/{action}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        answer.raise_for_status()
        return answer.json()

    def peak_rss_mib(self) -> float:
        return _peak_rss_mib(self.process.pid)

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)


@contextmanager
def _standin(scale: float, per_ten_seconds: int) -> Iterator[_StandIn]:
    """The stand-in in a process of its own (its serving is not the sync's CPU time)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.hubspot_api",
            "--bench",
            str(scale),
            "--per-ten-seconds",
            str(per_ten_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                started = json.loads(line)
                break
        else:
            raise RuntimeError("the HubSpot stand-in did not start")
        yield _StandIn(process, started["base_url"], started["token"], started["records"])
    finally:
        process.terminate()
        process.wait(timeout=60)


def _peak_rss_mib(pid: int | str = "self") -> float:
    """The process's peak resident memory (Linux ``VmHWM``), in MiB; 0 elsewhere."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (Linux ``/proc``; 0 elsewhere)."""
    with suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _measure(scale: float, runs: int, per_ten_seconds: int, console: Console) -> dict[str, Any]:
    console.print(f"scale {scale:g}: loading the stand-in...")
    with (
        _standin(scale, per_ten_seconds) as standin,
        tempfile.TemporaryDirectory(prefix="bench-hubspot-") as folder,
    ):
        records = sum(n for name, n in standin.counts.items() if name != "owners")
        floor_requests = minimum_requests(standin.counts)
        floor_seconds = floor_requests / (per_ten_seconds / 10)
        console.print(f"scale {scale:g}: {records:,} records in the portal")
        fulls: list[dict[str, Any]] = []
        for run in range(runs):
            target = make_engine(f"sqlite:///{Path(folder) / f'synced-{run}.sqlite3'}")
            upgrade(target)
            api = OfficialClient(
                token=standin.token, api_url=standin.base_url, limiter=RateLimiter()
            )
            if run:
                # The portal's window empties first: each run starts as a first sync does.
                time.sleep(WINDOW_SECONDS)
            fulls.append(_full(standin, target, api))
            console.print(
                f"  full sync {run + 1}/{runs}: {fulls[-1]['seconds']:.1f} s, CPU "
                f"{fulls[-1]['cpu_seconds']:.1f} s, stand-in CPU "
                f"{fulls[-1]['standin_cpu_seconds']:.1f} s (floor {floor_seconds:.1f} s), "
                f"{fulls[-1]['requests']} requests (floor {floor_requests}), "
                f"{fulls[-1]['refused']} refused"
            )
            if run < runs - 1:
                target.dispose()
        result: dict[str, Any] = {
            "scale": scale,
            "records": records,
            "runs": runs,
            "floor_requests": floor_requests,
            "floor_seconds": floor_seconds,
            **{
                key: statistics.median(f[key] for f in fulls)
                for key in ("requests", "refused", "seconds", "cpu_seconds", "standin_cpu_seconds")
            },
            "stopped": [f["stopped"] for f in fulls if f["stopped"]],
        }
        result |= _guided_actions(target, fulls[-1]["result"])
        console.print(
            f"  guided actions once after the full sync: {result['evaluate_seconds']:.1f} s, "
            f"CPU {result['evaluate_cpu_seconds']:.1f} s"
        )
        result |= _incremental(standin, target, api)
        floor = incremental_floor(result["incremental_records"], per_ten_seconds)
        result |= {"incremental_floor_requests": floor[0], "incremental_floor_seconds": floor[1]}
        console.print(
            f"  {CHANGES:,} changes ({result['incremental_records']:,} records read): "
            f"{result['incremental_seconds']:.1f} s "
            f"(floor {floor[1]:.1f} s), {result['incremental_requests']} requests "
            f"(floor {floor[0]}; {result['incremental_refused']} refused): "
            f"{result['incremental_endpoints']}"
        )
        result |= _webhooks(standin, target, api)
        target.dispose()
        console.print(
            f"  peak memory: benchmark {_peak_rss_mib():.0f} MiB, "
            f"stand-in {standin.peak_rss_mib():.0f} MiB"
        )
    return result


def _full(standin: _StandIn, target: Any, api: OfficialClient) -> dict[str, Any]:
    standin.control("POST", "requests/clear")
    served = standin.cpu_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    full = Syncer(target, api).run(full=True)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    served = standin.cpu_seconds() - served
    counted = standin.control("GET", "requests")
    return {
        "requests": counted["total"],
        "refused": counted["refused"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "standin_cpu_seconds": served,
        "stopped": full.stopped,
        "result": full,
    }


def _guided_actions(target: Any, full: SyncResult) -> dict[str, Any]:
    """What ``salesbot hubspot sync`` does after the sync: every guided action evaluated
    once (not per group), which the webhook rounds then build on."""
    started, cpu = time.perf_counter(), time.process_time()
    apply_to_workspace(target, full, full=True, now=datetime.now(UTC))
    return {
        "evaluate_seconds": time.perf_counter() - started,
        "evaluate_cpu_seconds": time.process_time() - cpu,
    }


def _incremental(standin: _StandIn, target: Any, api: OfficialClient) -> dict[str, Any]:
    # Untimed: the first pass after the full sync, as `serve` runs one within minutes. (The
    # organisation dates some tasks in the future: every pass's window holds them too.)
    Syncer(target, api).run(only=["tasks"])
    standin.control(
        "POST",
        "portal/bulk_update",
        {"objectType": "tasks", "count": CHANGES, "properties": {"hs_task_priority": "HIGH"}},
    )
    standin.control("POST", "requests/clear")
    started = time.perf_counter()
    result = Syncer(target, api).run(only=["tasks"])
    seconds = time.perf_counter() - started
    counted = standin.control("GET", "requests")
    return {
        # More than the changes: tasks dated later than the cursor, and the 2 minutes each
        # pass starts early (search's index lag).
        "incremental_records": result.of("tasks").records,
        "incremental_seconds": seconds,
        "incremental_requests": counted["total"],
        "incremental_refused": counted["refused"],
        "incremental_endpoints": counted["byEndpoint"],
    }


def _webhooks(standin: _StandIn, target: Any, api: OfficialClient) -> dict[str, Any]:
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
    deliver = {"url": url, "clientSecret": SECRET}
    try:
        # The bulk update's events were not delivered: webhooks start from here.
        standin.control("POST", "webhooks/discard")
        for n in range(WEBHOOK_ROUNDS):
            standin.control(
                "POST",
                "portal/bulk_update",
                {
                    "objectType": "tasks",
                    "count": 1,
                    "offset": n,
                    "ownedOnly": True,
                    "properties": {"hs_task_status": "COMPLETED"},
                },
            )
            published.clear()
            started = time.perf_counter()
            standin.control("POST", "webhooks/deliver", deliver)
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


def _table(results: list[dict[str, Any]], per_ten_seconds: int) -> Table:
    """Each number with its floor: "measured (floor)", and ratios against the floor."""
    table = Table(
        title=f"HubSpot sync through the stand-in ({per_ten_seconds} requests / 10 s); "
        "(floor) = the fewest requests HubSpot's page and batch sizes allow, at the rate limit"
    )
    for column in (
        "scale",
        "records",
        "requests / 1k (floor)",
        "429s",
        "full sync s (floor)",
        "wall / floor",
        "CPU s",
        "CPU / floor",
        "stand-in CPU / floor",
        "guided actions after, s",
        f"{CHANGES:,} changes: requests (floor)",
        f"{CHANGES:,} changes: s (floor)",
        "webhook → Home publish (median)",
    ):
        table.add_column(column, justify="right")
    for r in results:
        per_k = 1000 / r["records"]
        floor = r["floor_seconds"]
        table.add_row(
            f"{r['scale']:g}" + (f" ({r['runs']} runs)" if r["runs"] > 1 else ""),
            f"{r['records']:,}",
            f"{r['requests'] * per_k:.1f} ({r['floor_requests'] * per_k:.1f})",
            str(r["refused"]),
            f"{r['seconds']:.1f} ({floor:.1f})",
            f"{r['seconds'] / floor:.2f}x",
            f"{r['cpu_seconds']:.1f}",
            f"{r['cpu_seconds'] / floor:.2f}x",
            f"{r['standin_cpu_seconds'] / floor:.2f}x",
            f"{r['evaluate_seconds']:.1f}",
            f"{r['incremental_requests']} ({r['incremental_floor_requests']})",
            f"{r['incremental_seconds']:.1f} ({r['incremental_floor_seconds']:.1f})",
            f"{r['webhook_median'] * 1000:.0f} ms ({r['webhook_rounds']} rounds)",
        )
    return table


def main(argv: list[str] | None = None, *, report: Callable[[Table], None] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench hubspot")
    parser.add_argument(
        "--scales", default="0.1", help="comma-separated scales (1.0: 1M activities)"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="full syncs per scale (the table shows medians)"
    )
    parser.add_argument(
        "--per-ten-seconds",
        type=int,
        default=PER_TEN_SECONDS,
        help="the portal's burst limit (lower: the limit, not the CPU, binds on a busy machine)",
    )
    args = parser.parse_args(argv)
    console = Console(width=200)
    results = [
        _measure(float(s), max(1, args.runs), args.per_ten_seconds, console)
        for s in args.scales.split(",")
    ]
    table = _table(results, args.per_ten_seconds)
    (report or console.print)(table)
