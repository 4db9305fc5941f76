"""Digest fan-out: compose and deliver N rep digests to a rate-limited stand-in Slack.

``python -m bench digests [--reps 1000] [--rate 50] [--burst 5] [--channel-rate 1]``

The stand-in enforces a workspace-wide token bucket (``--rate`` messages a second, bursts of
``--burst``) and one per channel (``--channel-rate``), answering 429 with ``Retry-After``
like Slack. The floor is the least time that limit allows for N messages: the burst goes at
once, the rest at the rate. The deliverer paces itself to the same known rate, so 429s stay
rare (each costs a whole second of Retry-After). Counts are taken at the stand-in: every
rep must have exactly one message.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from slack_sdk import WebClient
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bot.digests.compose import DigestComposer
from bot.digests.deliver import PACE_HEADROOM, Deliverer, Pacer, SendPolicy
from rules.clock import local_date, zone_or_utc
from rules.digests.schedule import DueDigest
from rules.guided_actions import evaluate
from storage.db import make_engine, session_factory, upgrade
from storage.defaults import ensure_default_pipelines
from storage.models import (
    ActionState,
    Activity,
    ActivityKind,
    Deal,
    DeliveryStatus,
    DigestDelivery,
    DigestKind,
    Goal,
    GoalMetric,
    GuidedAction,
    PipelineStage,
    Role,
    TaskPriority,
    TaskStatus,
    TaskType,
    Team,
    User,
)
from tests.support.slack_api import SlackStandIn, _Bucket

# Wednesday 2026-03-11 15:30 UTC: a weekday morning in the Americas, afternoon in Europe.
NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
ZONES = ("America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC")


class LimitedStandIn(SlackStandIn):
    """The stand-in with two limits on chat.postMessage at once: workspace and channel."""

    def limit_both(self, *, per_second: float, burst: float, channel_per_second: float) -> None:
        self._workspace = _Bucket(per_second, burst)
        self._channel_rate = channel_per_second
        self._channels: dict[str, _Bucket] = {}

    def _limited(self, method: str, params: dict[str, Any], now: float) -> float:
        if method != "chat.postMessage" or not hasattr(self, "_workspace"):
            return super()._limited(method, params, now)
        channel = str(params.get("channel", ""))
        bucket = self._channels.setdefault(channel, _Bucket(self._channel_rate, 1.0))
        # Check both before taking from either, so a refusal costs no token.
        probe_channel = _Bucket(bucket.rate, bucket.burst, bucket.tokens, bucket.updated)
        wait = probe_channel.take(now)
        if wait:
            return wait
        wait = self._workspace.take(now)
        if wait:
            return wait
        bucket.take(now)
        return 0.0


def _serve_standin(
    rate: float, burst: float, channel_rate: float, urls: Queue[str], stop: Event
) -> None:
    """Run the limited stand-in in its own process, as Slack is: not sharing our GIL."""
    standin = LimitedStandIn()
    standin.limit_both(per_second=rate, burst=burst, channel_per_second=channel_rate)

    def stats(_params: dict[str, Any]) -> dict[str, Any]:
        posts = standin.calls_to("chat.postMessage", ok_only=False)
        delivered = Counter(str(c.params["channel"]) for c in posts if c.status == 200)
        return {"per_channel": dict(delivered), "limited": sum(c.status == 429 for c in posts)}

    standin.respond("bench.stats", stats)
    with standin:
        urls.put(standin.api_url)
        stop.wait()


def build_org(engine: Engine, reps: int) -> list[int]:
    """A synthetic org: ``reps`` reps in 5 zones, each with tasks, meetings, deals, a goal."""
    with Session(engine) as session:
        deal_pipeline, _ = ensure_default_pipelines(session)
        stage_id = session.scalar(
            select(PipelineStage.id).where(
                PipelineStage.pipeline_id == deal_pipeline.id,
                PipelineStage.external_id == "qualifiedtobuy",
            )
        )
        teams = []
        for n, zone in enumerate(ZONES):
            team = Team(external_id=f"team-{n}", name=f"Team {n}", timezone=zone)
            session.add(team)
            teams.append(team)
        session.flush()
        users = [
            {
                "external_id": f"owner-{n}",
                "name": f"Rep {n}",
                "email": f"rep{n}@seller.example",
                "email_domain": "seller.example",
                "slack_user_id": f"U{n:06d}",
                "timezone": ZONES[n % len(ZONES)],
                "role": Role.REP,
                "team_id": teams[n % len(ZONES)].id,
                "is_active": True,
            }
            for n in range(reps)
        ]
        session.execute(insert(User), users)
        ids = list(session.scalars(select(User.id).order_by(User.id)))
        activities: list[dict[str, Any]] = []
        deals: list[dict[str, Any]] = []
        goals: list[dict[str, Any]] = []
        for index, user_id in enumerate(ids):
            for k, hours in enumerate((-50, -26, -3, 2, 5, 20, 30, 70)):
                due = NOW + timedelta(hours=hours + index % 7)
                activities.append(
                    {
                        "external_id": f"task-{user_id}-{k}",
                        "kind": ActivityKind.TASK,
                        "owner_id": user_id,
                        "created_at": NOW - timedelta(days=3),
                        "occurred_at": due,
                        "due_at": due,
                        "subject": f"Follow up with account {k}",
                        "status": TaskStatus.NOT_STARTED,
                        "priority": TaskPriority.HIGH if k == 3 else TaskPriority.NONE,
                        "task_type": TaskType.TODO,
                    }
                )
            for k, hours in enumerate((-4, 1, 3)):
                start = NOW + timedelta(hours=hours)
                activities.append(
                    {
                        "external_id": f"meeting-{user_id}-{k}",
                        "kind": ActivityKind.MEETING,
                        "owner_id": user_id,
                        "created_at": NOW - timedelta(days=2),
                        "occurred_at": start,
                        "starts_at": start,
                        "ends_at": start + timedelta(minutes=30),
                        "subject": f"Meeting {k}",
                        "outcome": "scheduled",
                        "meeting_link": "https://meet.example/x",
                    }
                )
            for k in range(2):
                deals.append(
                    {
                        "external_id": f"deal-{user_id}-{k}",
                        "name": f"Deal {user_id}-{k}",
                        "owner_id": user_id,
                        "pipeline_id": deal_pipeline.id,
                        "stage_id": stage_id,
                        "amount": Decimal("10000"),
                        "currency": "USD",
                        "created_at": NOW - timedelta(days=20),
                    }
                )
            goals.append(
                {"user_id": user_id, "metric": GoalMetric.MEETINGS_BOOKED, "weekly_target": 5}
            )
        session.execute(insert(Activity), activities)
        session.execute(insert(Deal), deals)
        session.execute(insert(Goal), goals)
        session.commit()
    return ids


def _due(engine: Engine, ids: list[int]) -> list[DueDigest]:
    due = []
    with Session(engine) as session:
        zones = dict(session.execute(select(User.id, User.timezone)).tuples().all())
    for user_id in ids:
        zone = zone_or_utc(zones[user_id])
        due.append(DueDigest(DigestKind.REP, user_id, local_date(zone, NOW), NOW, zone.key))
    return due


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench digests", description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="workspace messages/s")
    parser.add_argument("--burst", type=float, default=5.0, help="workspace burst")
    parser.add_argument("--workers", type=int, default=0, help="sender threads (0: sized)")
    parser.add_argument("--channel-rate", type=float, default=1.0, help="messages/s per channel")
    args = parser.parse_args(argv)
    console = Console()
    # Retries are counted in the table; one log line each would bury it.
    logging.getLogger("bot.digests.deliver").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        started = time.perf_counter()
        ids = build_org(engine, args.reps)
        built = time.perf_counter() - started
        # What the scheduler does before the digests: bring guided actions up to date.
        started = time.perf_counter()
        with Session(engine) as session:
            evaluate(session, now=NOW)
            session.commit()
            open_actions_total = session.scalar(
                select(func.count(GuidedAction.id)).where(GuidedAction.state == ActionState.OPEN)
            )
        evaluated = time.perf_counter() - started
        due = _due(engine, ids)
        composer = DigestComposer()

        # Composition alone, one digest after another.
        timings = []
        blocks = []
        with Session(engine) as session:
            compose_started = time.perf_counter()
            for item in due:
                t0 = time.perf_counter()
                outgoing = composer(session, item, NOW)
                timings.append(time.perf_counter() - t0)
                blocks.append(len(getattr(outgoing, "blocks", [])))
            compose_total = time.perf_counter() - compose_started

        # Delivery: claim, compose, send, record, against the limited stand-in.
        context = multiprocessing.get_context("spawn")
        urls: Queue[str] = context.Queue()
        stop = context.Event()
        server = context.Process(
            target=_serve_standin,
            args=(args.rate, args.burst, args.channel_rate, urls, stop),
            daemon=True,
        )
        server.start()
        try:
            api_url = urls.get(timeout=30)
            client = WebClient(token="xoxb-bench", base_url=api_url)
            deliverer = Deliverer(
                sessions=session_factory(engine),
                client=client,
                compose=composer,
                claimer="bench",
                clock=lambda: NOW,
                pacer=Pacer(args.rate * PACE_HEADROOM, channel_interval=1.0 / args.channel_rate),
                policy=SendPolicy(attempts=5, initial_wait=0.05, max_wait=2.0),
                workers=args.workers,
            )
            deliver_started = time.perf_counter()
            report = deliverer.deliver(due)
            delivered_in = time.perf_counter() - deliver_started
            stats = client.api_call("bench.stats")
        finally:
            stop.set()
            server.join(timeout=10)
        per_channel = Counter({k: int(v) for k, v in stats["per_channel"].items()})
        limited = int(stats["limited"])
        with Session(engine) as session:
            recorded = session.scalar(
                select(func.count(DigestDelivery.id)).where(
                    DigestDelivery.status == DeliveryStatus.SENT
                )
            )
        engine.dispose()

    floor = max(0.0, (args.reps - args.burst) / args.rate)
    expected = {f"U{n:06d}" for n in range(args.reps)}
    lost = len(expected - set(per_channel))
    duplicated = sum(count - 1 for count in per_channel.values() if count > 1)

    table = Table(
        title=(
            f"Digest fan-out: {args.reps} reps, limit {args.rate:g}/s (burst {args.burst:g}), "
            f"{args.channel_rate:g}/s per channel"
        )
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("org built in", f"{built:.1f} s")
    table.add_row(
        "guided actions evaluated (all reps)", f"{evaluated:.1f} s, {open_actions_total} open"
    )
    table.add_row("compose, median per digest", f"{statistics.median(timings) * 1000:.1f} ms")
    table.add_row("compose, p95 per digest", f"{_percentile(timings, 0.95) * 1000:.1f} ms")
    table.add_row("compose, all digests", f"{compose_total:.1f} s")
    table.add_row(
        "blocks per digest, median / max", f"{statistics.median(blocks):g} / {max(blocks)}"
    )
    table.add_row("delivery, total", f"{delivered_in:.1f} s")
    table.add_row("floor the limit allows", f"{floor:.1f} s")
    table.add_row("delivery / floor", f"{delivered_in / floor:.3f}x" if floor else "n/a")
    table.add_row("429 answers", str(limited))
    table.add_row(
        "sent (report / recorded / at stand-in)",
        f"{len(report.sent)} / {recorded} / {sum(per_channel.values())}",
    )
    table.add_row("lost", str(lost))
    table.add_row("duplicated", str(duplicated))
    table.add_row("failed", str(len(report.failed)))
    console.print(table)


if __name__ == "__main__":
    main()
