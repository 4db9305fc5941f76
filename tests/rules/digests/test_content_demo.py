"""Digest content for the demo organisation's reps and managers (built once per module)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.digests.compose import crm_risk_source
from demo import DEMO_DB_FILENAME, DemoOrg
from rules.digests.content import DigestSources, manager_digest, rep_digest
from rules.guided_actions import open_actions
from rules.permissions import can_view_deal
from rules.tasks.queries import TaskBucket
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityKind,
    Deal,
    MeetingOutcome,
    Role,
    Team,
    User,
)
from tests.conftest import FIXED_NOW, DemoTemplate

NOW = FIXED_NOW  # Wednesday 2026-03-11 15:30 UTC: 08:30 in Los Angeles
WITH_RISKS = DigestSources(risks=crm_risk_source)


@pytest.fixture(scope="module")
def demo(
    _demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Session, DemoOrg]]:
    """The demo with its guided actions (what the scheduler makes before the digests)."""
    engine = _demo_template.copy_to(tmp_path_factory.mktemp("demo") / DEMO_DB_FILENAME)
    session = Session(engine, expire_on_commit=False)
    yield session, _demo_template.org
    session.close()
    engine.dispose()


def _local_day(zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Today's bounds on the rep's wall clock (no DST change on the test's date)."""
    start = datetime.combine(NOW.astimezone(zone).date(), time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def test_every_demo_team_has_a_channel_for_its_manager_digest(
    demo: tuple[Session, DemoOrg],
) -> None:
    """So `digest preview --team` shows a newcomer a manager's digest, not "no channel"."""
    session, _org = demo
    teams = session.scalars(select(Team)).all()
    assert len(teams) == 3
    for team in teams:
        digest = manager_digest(session, team_id=team.id, now=NOW, sources=WITH_RISKS)
        assert digest is not None and digest.channel_id, team.name


def test_the_demo_reps_tasks_are_in_the_right_buckets(demo: tuple[Session, DemoOrg]) -> None:
    session, org = demo
    dana = session.get(User, org.rep_id)
    assert dana is not None
    zone = ZoneInfo(dana.timezone)
    today_start, tomorrow_start = _local_day(zone)
    digest = rep_digest(session, user_id=dana.id, now=NOW)
    buckets = {b.bucket: b for b in digest.tasks}

    open_tasks = session.scalars(
        select(Activity).where(
            Activity.kind == ActivityKind.TASK,
            Activity.owner_id == dana.id,
            Activity.status.in_(OPEN_TASK_STATUSES),
        )
    ).all()
    expected = {
        TaskBucket.OVERDUE: [t for t in open_tasks if t.due_at and t.due_at < today_start],
        TaskBucket.TODAY: [
            t for t in open_tasks if t.due_at and today_start <= t.due_at < tomorrow_start
        ],
        TaskBucket.TOMORROW: [
            t
            for t in open_tasks
            if t.due_at and tomorrow_start <= t.due_at < tomorrow_start + timedelta(days=1)
        ],
    }
    assert all(expected.values()), "Dana's day has tasks in every bucket"
    for name, tasks in expected.items():
        assert buckets[name].count == len(tasks), name
        assert {t.id for t in buckets[name].top} <= {t.id for t in tasks}, name
        assert len(buckets[name].top) == min(3, len(tasks))


def test_the_demo_reps_meetings_are_todays_with_missing_outcomes_flagged(
    demo: tuple[Session, DemoOrg],
) -> None:
    session, org = demo
    dana = session.get(User, org.rep_id)
    assert dana is not None
    today_start, tomorrow_start = _local_day(ZoneInfo(dana.timezone))
    digest = rep_digest(session, user_id=dana.id, now=NOW)
    meetings = session.scalars(
        select(Activity).where(
            Activity.kind == ActivityKind.MEETING,
            Activity.owner_id == dana.id,
            Activity.starts_at >= today_start,
            Activity.starts_at < tomorrow_start,
            Activity.outcome != MeetingOutcome.CANCELED,
        )
    ).all()
    assert digest.meetings_total == len(meetings) > 0
    for line in digest.meetings:
        row = session.get(Activity, line.id)
        assert row is not None and row.owner_id == dana.id
        ended = row.ends_at is not None and row.ends_at <= NOW
        assert line.needs_outcome == (ended and row.outcome in (None, "scheduled"))


def test_every_demo_rep_gets_a_digest_within_block_kit_limits(
    demo: tuple[Session, DemoOrg],
) -> None:
    from handlers.render.digest import render_rep_digest

    session, _ = demo
    reps = session.scalars(select(User).where(User.role == Role.REP)).all()
    assert len(reps) == 12
    for rep in reps:
        blocks = render_rep_digest(rep_digest(session, user_id=rep.id, now=NOW))
        assert 1 <= len(blocks) <= 50


def test_a_manager_digest_never_includes_another_teams_deals(
    demo: tuple[Session, DemoOrg],
) -> None:
    session, _ = demo
    teams = session.scalars(select(Team).order_by(Team.id)).all()
    seen_somewhere = False
    for team in teams:
        digest = manager_digest(session, team_id=team.id, now=NOW, sources=WITH_RISKS)
        assert digest is not None
        manager = session.get(User, digest.manager_id)
        assert manager is not None and manager.team_id == team.id
        members = set(
            session.scalars(select(User.id).where(User.team_id == team.id, User.role == Role.REP))
        )
        assert {r.user_id for r in digest.reps} == members
        for rep in digest.reps:
            for line in rep.deals_at_risk + rep.deals_without_activity:
                deal = session.get(Deal, line.id)
                assert deal is not None
                assert deal.owner_id in members, f"{deal.name} is another team's deal"
                assert can_view_deal(session, manager, deal.id)
                seen_somewhere = True
    assert seen_somewhere, "the demo has idle deals to report"


def test_the_demo_section_shows_the_demo_reps_digest(demo: tuple[Session, DemoOrg]) -> None:
    from rich.console import Console

    from bot.terminal.digest import digest_section
    from bot.terminal.sections import TerminalContext, render_sections

    session, org = demo
    dana = session.get(User, org.rep_id)
    assert dana is not None
    out = Console(record=True, width=100)
    render_sections(out, TerminalContext(session, dana, NOW, org), [digest_section])
    shown = out.export_text()
    assert f"Daily digest (Slack DM): {org.rep_name}" in shown
    assert f"Good morning, {org.rep_name.split()[0]}" in shown
    assert "[Complete]" in shown and "Today's meetings:" in shown


def test_the_demo_managers_digest_puts_the_featured_deal_at_risk_and_dana_first(
    demo: tuple[Session, DemoOrg],
) -> None:
    session, org = demo
    dana = session.get(User, org.rep_id)
    assert dana is not None and dana.team_id is not None
    digest = manager_digest(session, team_id=dana.team_id, now=NOW, sources=WITH_RISKS)
    assert digest is not None and digest.manager_id == org.manager_id
    at_risk = {d.id: d.reason for r in digest.reps for d in r.deals_at_risk}
    assert "deal score falling" in at_risk[org.featured_deal_id]
    assert digest.reps[0].user_id == dana.id  # overdue work and risky deals: help her first


def test_the_demo_reps_guided_actions_by_category_with_their_buttons(
    demo: tuple[Session, DemoOrg],
) -> None:
    from handlers.render.digest import render_rep_digest
    from handlers.slack import ids

    session, org = demo
    digest = rep_digest(session, user_id=org.rep_id, now=NOW)
    open_now = open_actions(session, user_id=org.rep_id, now=NOW)
    assert digest.actions_total == len(open_now) >= 19  # the demo meets all 19 rules
    assert [a.id for a in digest.actions] == [a.id for a in open_now[:5]]
    blocks = render_rep_digest(digest)
    text = str(blocks)
    starts = [
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == ids.ACTION_QUEUE_START
    ]
    assert starts == [str(a.id) for a in digest.actions if a.category == "closing"] + [
        str(a.id) for a in digest.actions if a.category == "prospecting"
    ] + [str(a.id) for a in digest.actions if a.category == "other"]
    assert "Yes, keep it up!" in text and f"and {len(open_now) - 5} more guided actions" in text
