"""Workspace view queries at growing volume: ``python -m bench views [--scales 1,10,50]``.

Builds the demo organisation in a temporary SQLite file, then multiplies its activity table
(and the activities' links) by each scale factor: copies with new ids, same owners, contacts,
deals and times, so every rep's day gets that many times busier. For each scale it times every
view query for the demo rep and for the super admin (who sees every deal), and prints medians
in milliseconds with the ratio between the largest and the smallest scale: set-based queries
should grow at most linearly with the rows they return, not with a loop per record.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from demo import DEMO_DB_FILENAME, DemoOrg, build_demo_org
from rules.deals.queries import DealCategory, category_counts, deals_page
from rules.leads.queries import leads_by_stage
from rules.tasks.queries import open_tasks, task_buckets
from rules.workspace.feed import feed
from rules.workspace.overview import overview
from rules.workspace.schedule import SchedulePeriod, schedule
from storage.db import make_engine, upgrade
from storage.models import Activity, ActivityKind, User

# Columns of ``activities`` that hold an activity id (shifted with the copy).
_SELF_REFERENCES = {"id", "in_reply_to_id", "follow_up_of_id"}
_LINK_TABLES = ("activity_contacts", "activity_companies", "activity_deals", "activity_leads")


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm the statement cache and the page cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _statements(engine: Engine, run: Callable[[], object]) -> int:
    """How many SQL statements one run sends (constant across scales means no N+1)."""
    count = 0

    def counter(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


def _inflate(engine: Engine, factor: int) -> None:
    """Make ``factor`` times as many activities (and links) as the demo has."""
    if factor <= 1:
        return
    columns = [c.name for c in Activity.__table__.columns]
    with engine.begin() as connection:
        top = connection.execute(text("SELECT MAX(id) FROM activities")).scalar_one()
        for copy in range(1, factor):
            offset = copy * top
            values = []
            for name in columns:
                if name in _SELF_REFERENCES:
                    values.append(f"{name} + {offset}")
                elif name == "external_id":
                    values.append(f"external_id || '-x{copy}'")
                else:
                    values.append(name)
            connection.execute(
                text(
                    f"INSERT INTO activities ({', '.join(columns)}) "
                    f"SELECT {', '.join(values)} FROM activities WHERE id <= {top}"
                )
            )
            for table in _LINK_TABLES:
                other = {
                    "activity_contacts": "contact_id",
                    "activity_companies": "company_id",
                    "activity_deals": "deal_id",
                    "activity_leads": "lead_id",
                }[table]
                connection.execute(
                    text(
                        f"INSERT INTO {table} (activity_id, {other}) "
                        f"SELECT activity_id + {offset}, {other} FROM {table} "
                        f"WHERE activity_id <= {top}"
                    )
                )
        connection.execute(text("ANALYZE"))


def _queries(session: Session, org: DemoOrg, now: datetime) -> dict[str, Callable[[], object]]:
    rep = session.get(User, org.rep_id)
    admin = session.get(User, org.admin_id)
    assert rep is not None and admin is not None
    return {
        "task buckets (rep)": lambda: task_buckets(session, rep, now=now),
        "tasks view, page 1 (rep)": lambda: open_tasks(session, rep, now=now),
        "overview (rep)": lambda: overview(session, rep, now=now),
        "schedule, week (rep)": lambda: schedule(session, rep, now=now, period=SchedulePeriod.WEEK),
        "schedule, month (admin as rep)": lambda: schedule(
            session, rep, now=now, period=SchedulePeriod.MONTH, viewer=admin
        ),
        "feed, page 1 (rep)": lambda: feed(session, rep, now=now),
        "leads by stage (rep)": lambda: leads_by_stage(session, rep),
        "no activity scheduled (rep)": lambda: deals_page(
            session, rep, now=now, category=DealCategory.NO_ACTIVITY_SCHEDULED
        ),
        "no activity scheduled (admin)": lambda: deals_page(
            session, admin, now=now, category=DealCategory.NO_ACTIVITY_SCHEDULED
        ),
        "deal tab counts (admin)": lambda: category_counts(session, admin, now=now),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the table; ``--scales`` picks the activity multipliers, ``--repeat`` the samples."""
    parser = argparse.ArgumentParser(prog="python -m bench views", description=__doc__)
    parser.add_argument("--scales", default="1,10,50", help="activity multipliers, e.g. 1,4")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query")
    args = parser.parse_args(argv or [])
    scales = sorted({int(s) for s in args.scales.split(",") if s.strip()})
    if not scales or scales[0] < 1:
        parser.error("--scales needs positive integers")

    console = Console(width=max(Console().width, 110))
    now = datetime.now(UTC)
    results: dict[str, dict[int, float]] = {}
    statements: dict[str, set[int]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    build_ms: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for scale in scales:
            path = Path(folder) / str(scale) / DEMO_DB_FILENAME
            path.parent.mkdir()
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            started = time.perf_counter()
            with Session(engine) as session:
                org = build_demo_org(session, now=now)
                session.commit()
            build_ms.append((time.perf_counter() - started) * 1000)
            _inflate(engine, scale)
            with Session(engine) as session:
                total = session.scalar(select(func.count()).select_from(Activity)) or 0
                rep_tasks = (
                    session.scalar(
                        select(func.count()).where(
                            Activity.owner_id == org.rep_id, Activity.kind == ActivityKind.TASK
                        )
                    )
                    or 0
                )
                sizes[scale] = (total, rep_tasks)
                for name, run in _queries(session, org, now).items():
                    results.setdefault(name, {})[scale] = _median_ms(run, args.repeat)
                    statements.setdefault(name, set()).add(_statements(engine, run))
            engine.dispose()

    table = Table(title="Workspace view queries on SQLite (median ms)")
    table.add_column("query", no_wrap=True)
    table.add_column("SQL\nstmts", justify="right")
    for scale in scales:
        total, rep_tasks = sizes[scale]
        table.add_column(f"x{scale}\n{total:,} act.\n{rep_tasks:,} rep tasks", justify="right")
    if len(scales) > 1:
        table.add_column(f"x{scales[-1]} / x{scales[0]}", justify="right")
    for name, by_scale in results.items():
        cells = [f"{by_scale[s]:.1f}" for s in scales]
        if len(scales) > 1:
            cells.append(f"{by_scale[scales[-1]] / by_scale[scales[0]]:.1f}x")
        # One number when every scale sent the same statements (no query per record).
        sent = "/".join(str(n) for n in sorted(statements[name]))
        table.add_row(name, sent, *cells)
    console.print(table)
    console.print(
        f"Demo organisation build (x1, {sizes[scales[0]][0]:,} activities): "
        f"median {statistics.median(build_ms):.0f} ms over {len(build_ms)} builds"
    )
