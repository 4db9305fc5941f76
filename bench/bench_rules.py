"""Guided actions: a full evaluation over a generated organisation, per rule, against a floor.

``python -m bench rules [--scales 0.01,0.1,1] [--databases sqlite,postgres]``

For each database and scale: load the organisation (1,000 users, 100k contacts, 20k deals,
1M activities at scale 1; ``bench.generate.load_org`` when it exists, else the small
generator below), time one plain scan of the same tables (the floor), a full first
evaluation (time per rule), a second pass with nothing changed, and re-evaluations after one
deal changed (median of several).
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
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from rules.guided_actions import RULES, ObjectRef, RefKind, evaluate
from storage.db import make_engine, upgrade
from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Company,
    Contact,
    Deal,
    DealContact,
    Lead,
    PipelineStage,
    User,
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
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s]
    console = Console(width=160)
    console.print(f"[dim]organisation generator: {generator_name()}[/dim]")
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
    for database in args.databases.split(","):
        for scale in scales:
            with _database(database) as engine:
                if engine is None:
                    console.print(f"[yellow]{database}: not reachable, skipped[/yellow]")
                    break
                result = _measure(engine, scale, args.repeat)
            label = f"{database} {scale:g}"
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


# --- the organisation ----------------------------------------------------------------------


def load_org(engine: Engine, *, scale: float, now: datetime) -> None:
    """The shared generator when it exists (bench.generate), else the one below."""
    try:
        from bench.generate import load_org as shared
    except ImportError:
        _own_org(engine, scale=scale, now=now)
        return
    shared(engine, scale=scale, now=now)


def generator_name() -> str:
    try:
        import bench.generate  # noqa: F401
    except ImportError:
        return "bench.bench_rules (stand-in)"
    return "bench.generate.load_org"


ZONES = ("UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "America/New_York")


def _own_org(engine: Engine, *, scale: float, now: datetime) -> None:
    """A rough organisation: owners, contacts, leads, deals and a mix of activities."""
    rng = random.Random(11)
    n_users = max(5, round(1000 * scale))
    n_companies = max(10, round(20_000 * scale))
    n_contacts = max(50, round(100_000 * scale))
    n_leads = max(10, round(15_000 * scale))
    n_deals = max(10, round(20_000 * scale))
    n_activities = max(500, round(1_000_000 * scale))

    def ago(days: float) -> datetime:
        return now - timedelta(seconds=rng.uniform(0, days * 86400))

    with Session(engine) as session:
        deal_pipeline, lead_pipeline = ensure_default_pipelines(session)
        deal_pipeline_id, lead_pipeline_id = deal_pipeline.id, lead_pipeline.id
        deal_stages = list(
            session.scalars(
                select(PipelineStage.id).where(PipelineStage.pipeline_id == deal_pipeline.id)
            )
        )
        lead_stages = list(
            session.scalars(
                select(PipelineStage.id).where(PipelineStage.pipeline_id == lead_pipeline.id)
            )
        )
        lost_lead = session.scalar(
            select(PipelineStage.id).where(
                PipelineStage.pipeline_id == lead_pipeline.id,
                PipelineStage.external_id == "disqualified",
            )
        )
        session.commit()
    assert lost_lead is not None

    def write(model: Any, rows: list[dict[str, Any]]) -> None:
        keys = {key for row in rows for key in row}
        rows = [{key: row.get(key) for key in keys} for row in rows]
        with engine.begin() as connection:
            for start in range(0, len(rows), 20_000):
                connection.execute(insert(model.__table__), rows[start : start + 20_000])

    write(
        User,
        [
            {
                "id": u,
                "external_id": f"owner-{u}",
                "name": f"Rep {u}",
                "email": f"rep{u}@seller.example",
                "email_domain": "seller.example",
                "timezone": ZONES[u % len(ZONES)],
                "role": "rep",
                "deal_visibility": "owned",
                "is_active": True,
            }
            for u in range(1, n_users + 1)
        ],
    )
    write(
        Company,
        [
            {
                "id": c,
                "external_id": f"company-{c}",
                "name": f"Company {c}",
                "domain": f"company{c}.example",
                "is_target_account": rng.random() < 0.05,
                "owner_id": rng.randint(1, n_users),
                "created_at": ago(400),
            }
            for c in range(1, n_companies + 1)
        ],
    )
    stages = ["subscriber", "lead", "marketingqualifiedlead", "opportunity", "customer"]
    contact_owner = {}
    contact_rows = []
    for c in range(1, n_contacts + 1):
        owner = rng.randint(1, n_users) if rng.random() < 0.9 else None
        contact_owner[c] = owner
        company = rng.randint(1, n_companies)
        contact_rows.append(
            {
                "id": c,
                "external_id": f"contact-{c}",
                "first_name": f"First{c}",
                "last_name": "Buyer",
                "email": f"c{c}@company{company}.example",
                "email_domain": f"company{company}.example",
                "lifecycle_stage": rng.choice(stages),
                "owner_id": owner,
                "owner_assigned_at": ago(120) if owner else None,
                "company_id": company,
                "created_at": ago(400),
            }
        )
    write(Contact, contact_rows)
    lead_rows = []
    for lead in range(1, n_leads + 1):
        contact = rng.randint(1, n_contacts)
        stage = rng.choice(lead_stages)
        lead_rows.append(
            {
                "id": lead,
                "external_id": f"lead-{lead}",
                "name": f"Lead {lead}",
                "contact_id": contact,
                "owner_id": contact_owner[contact],
                "owner_assigned_at": ago(60),
                "pipeline_id": lead_pipeline_id,
                "stage_id": stage,
                "stage_changed_at": ago(60),
                "created_at": ago(200),
                "disqualified_at": ago(60) if stage == lost_lead else None,
            }
        )
    write(Lead, lead_rows)
    deal_rows, deal_contacts = [], []
    deal_of_contact: dict[int, int] = {}
    for d in range(1, n_deals + 1):
        contacts = rng.sample(range(1, n_contacts + 1), k=rng.choice((0, 1, 1, 2)))
        deal_rows.append(
            {
                "id": d,
                "external_id": f"deal-{d}",
                "name": f"Deal {d}",
                "owner_id": rng.randint(1, n_users),
                "owner_assigned_at": ago(100),
                "pipeline_id": deal_pipeline_id,
                "stage_id": rng.choice(deal_stages),
                "stage_changed_at": ago(30),
                "amount": rng.randint(1, 200) * 1000,
                "currency": "USD",
                "created_at": ago(200),
                "next_step_updated_at": ago(40) if rng.random() < 0.5 else None,
            }
        )
        for contact in contacts:
            deal_contacts.append({"deal_id": d, "contact_id": contact, "associated_at": ago(100)})
            deal_of_contact[contact] = d
    write(Deal, deal_rows)
    write(DealContact, deal_contacts)

    kinds = [ActivityKind.EMAIL] * 8 + [ActivityKind.CALL] * 4 + [ActivityKind.MEETING] * 3
    kinds += [ActivityKind.TASK] * 4 + [ActivityKind.NOTE]
    activities, links_c, links_d, links_l = [], [], [], []
    lead_of_contact = {row["contact_id"]: row["id"] for row in lead_rows}
    for a in range(1, n_activities + 1):
        kind = rng.choice(kinds)
        contact = rng.randint(1, n_contacts)
        owner = contact_owner[contact] or rng.randint(1, n_users)
        when = now + timedelta(days=7) - timedelta(seconds=rng.uniform(0, 120 * 86400))
        row: dict[str, Any] = {
            "id": a,
            "external_id": f"activity-{a}",
            "kind": kind.value,
            "owner_id": owner,
            "created_at": min(when, now),
            "occurred_at": when,
            "subject": f"{kind.value} {a}",
        }
        if kind is ActivityKind.TASK:
            done = when < now and rng.random() < 0.6
            row |= {
                "due_at": when,
                "status": "completed" if done else "not_started",
                "priority": rng.choice(("none", "low", "medium", "high")),
                "task_type": "todo",
                "completed_at": when if done else None,
            }
        elif kind in (ActivityKind.MEETING, ActivityKind.CALL):
            past = when < now
            row |= {
                "starts_at": when,
                "ends_at": when + timedelta(minutes=30),
                "outcome": (
                    rng.choice((None, "scheduled", "completed", "no_show"))
                    if kind is ActivityKind.MEETING
                    else (rng.choice((None, "Connected", "Left voicemail")) if past else None)
                ),
            }
            if kind is ActivityKind.CALL:
                row |= {"call_status": "completed", "via_calling_feature": rng.random() < 0.5}
        elif kind is ActivityKind.EMAIL:
            when = min(when, now)
            incoming = rng.random() < 0.3
            row |= {
                "occurred_at": when,
                "direction": "incoming" if incoming else "outgoing",
                "tracked": True,
                "primary_recipient": f"rep{owner}@seller.example" if incoming else None,
                "opened_at": None if incoming or rng.random() < 0.5 else when + timedelta(hours=2),
                "replied_at": None if incoming or rng.random() < 0.85 else when + timedelta(days=1),
            }
        activities.append(row)
        links_c.append({"activity_id": a, "contact_id": contact})
        if contact in deal_of_contact and rng.random() < 0.5:
            links_d.append({"activity_id": a, "deal_id": deal_of_contact[contact]})
        if contact in lead_of_contact and rng.random() < 0.3:
            links_l.append({"activity_id": a, "lead_id": lead_of_contact[contact]})
    write(Activity, activities)
    write(ActivityContact, links_c)
    write(ActivityDeal, links_d)
    write(ActivityLead, links_l)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("users", "companies", "contacts", "leads", "deals", "activities"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


if __name__ == "__main__":
    main()
