"""Deal Insights: evidence + prompt for a deal with many activities, prompt size, cache hit.

python -m bench insights [--activities 5000] [--runs 30] [--url sqlite:///...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from insights.answer import DraftStatement, InsightDraft
from insights.evidence import gather_evidence
from insights.llm import InsightWriter, LLMConfig
from insights.prompt import PROMPT_TOKEN_BUDGET, Prompt, build_prompt
from insights.service import AiStatus, deal_insight
from storage.db import make_engine, upgrade
from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    ActivityDeal,
    ActivityKind,
    Deal,
    DealVisibility,
    EmailDirection,
    Team,
    User,
)

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
AIM_EVIDENCE_MS = 50.0
AIM_CACHE_HIT_MS = 20.0
KINDS = [ActivityKind.EMAIL, ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.MEETING]
BODY = (
    "Talked through the rollout plan with the buyer's operations lead. They want fewer "
    "manual steps, worry about the migration window and asked for a revised quote. "
)


class _CannedWriter(InsightWriter):
    """No network: the first call fills the cache; a cache hit never reaches ``write``."""

    def write(self, prompt: Prompt) -> InsightDraft:
        return InsightDraft(
            recent_activity=[DraftStatement(text="Busy quarter.", activity_ids=[1])],
            risks=[],
            buyer_goals=[],
        )


def _populate(session: Session, activities: int) -> tuple[int, User]:
    deal_pipeline, _ = ensure_default_pipelines(session)
    team = Team(external_id="t1", name="East")
    session.add(team)
    session.flush()
    users = [
        User(
            external_id=f"u{i}",
            name=f"Rep {i}",
            email=f"rep{i}@seller.example",
            email_domain="seller.example",
            team_id=team.id if i < 3 else None,
            deal_visibility=DealVisibility.TEAM if i == 0 else DealVisibility.OWNED,
        )
        for i in range(4)
    ]
    session.add_all(users)
    session.flush()
    stage = deal_pipeline.stages[1]
    deals = [
        Deal(
            external_id=f"d{i}",
            name=f"Deal {i}",
            owner_id=users[i % 3].id,
            pipeline_id=deal_pipeline.id,
            stage_id=stage.id,
            created_at=NOW - timedelta(days=200),
            stage_changed_at=NOW - timedelta(days=20),
        )
        for i in range(2)
    ]
    session.add_all(deals)
    session.flush()
    rows = []
    for deal_index in range(len(deals)):
        for i in range(activities):
            kind = KINDS[i % len(KINDS)]
            at = NOW - timedelta(hours=i * 2 + 1)
            rows.append(
                {
                    "external_id": f"a{deal_index}-{i}",
                    "kind": kind,
                    "owner_id": users[i % len(users)].id,
                    "created_at": at,
                    "occurred_at": at,
                    "subject": f"{kind.value} {i}",
                    "body": BODY * (1 + i % 8),
                    "direction": EmailDirection.OUTGOING if kind is ActivityKind.EMAIL else None,
                }
            )
    session.execute(insert(Activity), rows)
    ids = session.scalars(Activity.__table__.select().with_only_columns(Activity.id)).all()
    per_deal = len(ids) // len(deals)
    links = [
        {"activity_id": activity_id, "deal_id": deals[index // per_deal].id}
        for index, activity_id in enumerate(sorted(ids))
    ]
    session.execute(insert(ActivityDeal), links)
    session.commit()
    # A live database has planner statistics; a freshly bulk-loaded one has none yet.
    session.execute(text("ANALYZE"))
    session.commit()
    return deals[0].id, users[0]


def _median_ms(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    for _ in range(5):  # warm the page cache and SQLAlchemy's statement cache
        work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench insights")
    parser.add_argument("--activities", type=int, default=5000, help="activities on the deal")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)

    console = Console(width=max(Console().width, 100))
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as session:
            deal_id, viewer = _populate(session, args.activities)

        writer = _CannedWriter(LLMConfig(api_key="unused", model="bench-model"))
        with Session(engine) as session:
            viewer = session.merge(viewer)

            def evidence_and_prompt() -> Prompt:
                evidence = gather_evidence(session, deal_id=deal_id, viewer=viewer, now=NOW)
                assert evidence is not None
                return build_prompt(evidence)

            gather_ms, gather_p95 = _median_ms(
                args.runs,
                lambda: gather_evidence(session, deal_id=deal_id, viewer=viewer, now=NOW),
            )
            total_ms, total_p95 = _median_ms(args.runs, evidence_and_prompt)
            prompt = evidence_and_prompt()
            evidence = gather_evidence(session, deal_id=deal_id, viewer=viewer, now=NOW)
            assert evidence is not None

            first = deal_insight(session, deal_id=deal_id, viewer=viewer, now=NOW, writer=writer)
            session.commit()
            assert first.ai_status is AiStatus.USED

            def cache_hit() -> None:
                hit = deal_insight(session, deal_id=deal_id, viewer=viewer, now=NOW, writer=writer)
                session.commit()
                assert hit.ai_status is AiStatus.CACHED

            hit_ms, hit_p95 = _median_ms(args.runs, cache_hit)
        engine.dispose()

    table = Table(
        title=f"Deal Insights ({args.activities:,} activities on the deal, "
        f"{engine.dialect.name}, {args.runs} runs)"
    )
    for column in ("measure", "median", "p95", "aim", "median / aim"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row("evidence gathering", f"{gather_ms:.1f} ms", f"{gather_p95:.1f} ms", "", "")
    table.add_row(
        "evidence + prompt",
        f"{total_ms:.1f} ms",
        f"{total_p95:.1f} ms",
        f"< {AIM_EVIDENCE_MS:.0f} ms",
        f"{total_ms / AIM_EVIDENCE_MS:.2f}",
    )
    table.add_row(
        "cache hit (+ audit, commit)",
        f"{hit_ms:.1f} ms",
        f"{hit_p95:.1f} ms",
        f"< {AIM_CACHE_HIT_MS:.0f} ms",
        f"{hit_ms / AIM_CACHE_HIT_MS:.2f}",
    )
    table.add_row(
        f"prompt, {len(evidence.activities)} activities",
        f"{prompt.estimated_tokens:,} tokens",
        "",
        f"<= {PROMPT_TOKEN_BUDGET:,}",
        f"{prompt.estimated_tokens / PROMPT_TOKEN_BUDGET:.2f}",
    )
    table.add_row(
        "bodies cut / left out",
        f"{prompt.trimmed_bodies} / {prompt.omitted_bodies}",
        "",
        "",
        "",
    )
    console.print(table)


if __name__ == "__main__":
    main()
