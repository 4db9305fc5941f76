"""Guided actions: a full evaluation over a generated organisation, per rule, against a floor.

``python -m bench rules [--scales 0.01,0.1,1] [--databases sqlite,postgres]``

For each database and scale: load the organisation (1,000 users, 100k contacts, 20k deals,
1M activities at scale 1; ``bench.generate.load_org``), time one plain scan of the same
tables (the floor), a full first evaluation (time per rule), a second pass with nothing
changed, and re-evaluations after one deal changed (median of several).

With ``--day HOURS``, the same organisation then lives through HOURS of a simulated day
(``bench.rules_day``): CRM changes at ``--rate`` per second, each evaluated for what it can
affect, and the time-driven tick every ``--tick`` seconds; the table gives each action's
lateness against the instant it became due and the evaluator's CPU per simulated hour.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bench.generate import load_org
from bench.rules_day import SUMMARY_COLUMNS, simulate_day, summary_rows
from rules.guided_actions import RULES, ObjectRef, RefKind, evaluate
from storage.db import make_engine, upgrade
from storage.models import (
    Activity,
    Deal,
)

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
POSTGRES_ADMIN_URL = os.environ.get(
    "SALESBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# One plain scan of the tables the rules read: the floor.
FLOOR_TABLES = {
    "contacts": "first_name",
    "leads": "name",
    "deals": "name",
    "deal_contacts": "associated_at",
    "activities": "subject",
    "activity_contacts": "contact_id",
    "activity_deals": "deal_id",
    "activity_leads": "lead_id",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench rules", description=__doc__)
    parser.add_argument("--scales", default="0.01,0.1,1", help="comma-separated, 1 = full")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=5, help="one-deal re-evaluations")
    parser.add_argument("--day", type=float, default=0, help="simulated hours (0: none)")
    parser.add_argument("--tick", type=int, default=20, help="seconds between ticks")
    parser.add_argument("--rate", type=float, default=1.0, help="CRM changes per second")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s]
    console = Console(width=160)
    console.print("[dim]organisation generator: bench.generate.load_org[/dim]")
    summary = Table(title="Guided actions: full evaluation vs. floor")
    for column in (
        "db",
        "scale",
        "activities",
        "load s",
        "floor s",
        "full pass s",
        "x floor",
        "2nd pass s",
        "one deal ms (median)",
        "items",
    ):
        summary.add_column(column, justify="right")
    per_rule: dict[str, dict[str, float]] = {}
    day = Table(title="A simulated day: lateness against the instant due, evaluator CPU")
    for column in SUMMARY_COLUMNS:
        day.add_column(column, justify="right")
    for database in args.databases.split(","):
        for scale in scales:
            console.print(f"[dim]{database} {scale:g}: loading[/dim]")
            with _database(database) as engine:
                if engine is None:
                    console.print(f"[yellow]{database}: not reachable, skipped[/yellow]")
                    break
                result = _measure(engine, scale, args.repeat)
                label = f"{database} {scale:g}"
                if args.day:
                    lived = simulate_day(
                        engine,
                        start=NOW + timedelta(hours=1),
                        hours=args.day,
                        tick_seconds=args.tick,
                        rate=args.rate,
                        progress=partial(_progress, console, label),
                    )
                    day.add_row(*summary_rows(label, lived))
                    console.print(f"[dim]{label}: day {summary_rows(label, lived)}[/dim]")
            per_rule[label] = result["per_rule"]
            summary.add_row(
                database,
                f"{scale:g}",
                f"{result['activities']:,}",
                f"{result['load']:.1f}",
                f"{result['floor']:.2f}",
                f"{result['full']:.2f}",
                f"{result['full'] / result['floor']:.1f}",
                f"{result['second']:.2f}",
                f"{result['one_deal'] * 1000:.0f}",
                f"{result['items']:,}",
            )
            console.print(
                f"[dim]{label}: full {result['full']:.2f} s (floor {result['floor']:.2f} s), "
                f"2nd {result['second']:.2f} s, one deal {result['one_deal'] * 1000:.0f} ms, "
                f"load {result['load']:.1f} s, {result['items']} items[/dim]"
            )
    console.print(summary)
    if args.day:
        console.print(day)
    rules_table = Table(title="Seconds per rule (full first pass)")
    rules_table.add_column("rule")
    for label in per_rule:
        rules_table.add_column(label, justify="right")
    for rule in RULES:
        rules_table.add_row(
            f"{rule.number} {rule.type.value}",
            *(f"{per_rule[label][rule.type.value]:.2f}" for label in per_rule),
        )
    console.print(rules_table)


def _measure(engine: Engine, scale: float, repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    load_org(engine, scale=scale, now=NOW)
    loaded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    floor = _median(lambda: _floor(engine), 3)
    with Session(engine) as session:
        report = evaluate(session, now=NOW)
        session.commit()
        second = evaluate(session, now=NOW + timedelta(minutes=5))
        session.commit()
        deal_ids = list(session.scalars(select(Deal.id).order_by(Deal.id).limit(repeat * 7)))
        rng = random.Random(7)
        timings = []
        for n in range(repeat):
            deal = session.get(Deal, rng.choice(deal_ids))
            assert deal is not None
            deal.next_step = f"Next step {n}"
            deal.next_step_updated_at = NOW + timedelta(minutes=10 + n)
            session.flush()
            t0 = time.perf_counter()
            evaluate(
                session,
                now=NOW + timedelta(minutes=10 + n),
                object_refs=[ObjectRef(RefKind.DEAL, deal.id)],
            )
            session.commit()
            timings.append(time.perf_counter() - t0)
        activities = session.scalar(select(text("count(*)")).select_from(Activity)) or 0
    return {
        "activities": int(activities),
        "load": loaded,
        "floor": floor,
        "full": report.seconds,
        "second": second.seconds,
        "one_deal": statistics.median(timings),
        "items": report.created,
        "per_rule": {run.type.value: run.seconds for run in report.runs},
    }


def _progress(console: Console, label: str, line: str) -> None:
    console.print(f"[dim]{label}: {line}[/dim]")


def _floor(engine: Engine) -> None:
    with engine.connect() as connection:
        for table, column in FLOOR_TABLES.items():
            connection.execute(text(f"SELECT count(*), max({column}) FROM {table}")).one()


def _median(run: Callable[[], None], times: int) -> float:
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


@contextmanager
def _database(kind: str) -> Iterator[Engine | None]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-rules-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    import psycopg

    admin_url = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        yield None
        return
    name = f"bench_rules_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"{admin_url.rpartition('/')[0]}/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
