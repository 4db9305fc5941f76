"""The demo organisation: deterministic, safe to run, and rich where the walkthrough looks."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from demo import DEMO_DB_FILENAME, DemoOrg, DemoRefused, build_demo_org
from rules.deals.queries import DealCategory, category_counts, deals_page
from rules.leads.queries import leads_by_stage
from rules.tasks.queries import open_tasks
from rules.workspace.feed import feed
from rules.workspace.overview import overview
from rules.workspace.schedule import SchedulePeriod, schedule
from storage.db import make_engine
from storage.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealVisibility,
    Lead,
    PipelineStage,
    Role,
    Team,
    User,
    WorkspaceSettings,
)
from tests.builders import CRM


def _fingerprint(session: Session) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    rows += session.execute(select(User.name, User.email, User.role).order_by(User.id)).all()
    rows += session.execute(
        select(Deal.name, Deal.amount, Deal.close_date, Deal.created_at).order_by(Deal.id)
    ).all()
    rows += session.execute(
        select(Activity.kind, Activity.subject, Activity.occurred_at).order_by(Activity.id)
    ).all()
    return rows


@pytest.fixture
def demo_engine(_sqlite_template: Path, tmp_path: Path) -> Engine:
    path = tmp_path / DEMO_DB_FILENAME
    shutil.copyfile(_sqlite_template, path)
    return make_engine(f"sqlite:///{path}")


@pytest.fixture
def demo(demo_engine: Engine, now: datetime) -> tuple[Session, DemoOrg]:
    session = Session(demo_engine, expire_on_commit=False)
    org = build_demo_org(session, now=now)
    session.commit()
    return session, org


def test_the_org_has_the_promised_shape(demo: tuple[Session, DemoOrg]) -> None:
    session, org = demo

    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    assert count(Team) == 3
    roles = dict(session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles == {Role.REP: 12, Role.MANAGER: 3, Role.SUPER_ADMIN: 1}
    zones = set(session.scalars(select(Team.timezone)))
    assert zones == {"America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"}
    visibilities = set(session.scalars(select(User.deal_visibility)))
    assert visibilities == set(DealVisibility)
    assert all(s and s.startswith("U0") for s in session.scalars(select(User.slack_user_id)))
    assert count(Contact) >= 300 and count(Company) >= 150
    assert (session.scalar(select(func.count()).where(Company.is_target_account)) or 0) >= 10
    assert 90 <= count(Deal) <= 120
    assert count(Activity) >= 2000
    lead_stages = set(
        session.scalars(
            select(PipelineStage.external_id).join(Lead, Lead.stage_id == PipelineStage.id)
        )
    )
    assert lead_stages == {"new", "attempting", "connected", "qualified", "disqualified"}
    assert org.rep_name == "Dana Reyes"
    assert session.get(Deal, org.featured_deal_id) is not None


def test_the_demo_reps_day_is_rich(demo: tuple[Session, DemoOrg], now: datetime) -> None:
    session, org = demo
    dana = session.get(User, org.rep_id)
    assert dana is not None
    view = overview(session, dana, now=now)
    for group in (view.tasks.overdue, view.tasks.today, view.tasks.tomorrow):
        assert group.count >= 2, group.bucket
    assert view.tasks.today.high_priority_count >= 2
    assert any(t.is_sequence_task for t in view.tasks.today.tasks)
    assert len(view.todays_meetings) >= 2
    assert all(i.count > 0 for i in view.insights)
    assert len(view.goals) == 4
    assert schedule(session, dana, now=now).conflicts
    assert category_counts(session, dana, now=now)[DealCategory.NO_ACTIVITY_SCHEDULED] >= 2
    page = feed(session, dana, now=now, limit=50)
    assert any(g.is_target_account for g in page.groups)
    assert any(g.in_sequence for g in page.groups)
    assert all(column.total > 0 for column in leads_by_stage(session, dana).columns)


def test_same_seed_same_org_and_another_seed_another(
    demo: tuple[Session, DemoOrg], now: datetime, tmp_path: Path, _sqlite_template: Path
) -> None:
    session, _ = demo

    def build(seed: int) -> list[tuple[object, ...]]:
        path = tmp_path / f"seed{seed}" / DEMO_DB_FILENAME
        path.parent.mkdir()
        shutil.copyfile(_sqlite_template, path)
        with Session(make_engine(f"sqlite:///{path}")) as other:
            build_demo_org(other, now=now, seed=seed)
            other.commit()
            return _fingerprint(other)

    assert build(42) == _fingerprint(session)
    assert build(7) != _fingerprint(session)


def test_times_move_with_now(
    demo: tuple[Session, DemoOrg],
    demo_engine: Engine,
    now: datetime,
    tmp_path: Path,
    _sqlite_template: Path,
) -> None:
    session, _ = demo
    path = tmp_path / "later" / DEMO_DB_FILENAME
    path.parent.mkdir()
    shutil.copyfile(_sqlite_template, path)
    shift = timedelta(days=10)
    with Session(make_engine(f"sqlite:///{path}")) as later:
        build_demo_org(later, now=now + shift)
        later_times = later.scalars(select(Activity.occurred_at).order_by(Activity.id)).all()
    times = session.scalars(select(Activity.occurred_at).order_by(Activity.id)).all()
    assert len(times) == len(later_times)
    # Meetings and tasks sit at local wall-clock hours, so a daylight-saving change between
    # the two dates moves them by an hour on top of the shift.
    drift = [abs((b - a) - shift) for a, b in zip(times, later_times, strict=True)]
    assert max(drift) <= timedelta(hours=1)
    assert sum(1 for d in drift if d == timedelta(0)) > 0.9 * len(drift)


def test_refuses_a_database_with_data_and_resets_only_the_demo_file(
    session: Session, crm: CRM, demo: tuple[Session, DemoOrg], now: datetime
) -> None:
    crm.user(name="Real customer data")
    session.commit()
    with pytest.raises(DemoRefused, match="already holds CRM data"):
        build_demo_org(session, now=now)
    # The test database file is not named demo.sqlite3: no reset, nothing deleted.
    with pytest.raises(DemoRefused, match="only the embedded demo database"):
        build_demo_org(session, now=now, reset=True)
    session.rollback()
    assert session.scalar(select(User.name)) == "Real customer data"

    demo_session, _ = demo
    with pytest.raises(DemoRefused):
        build_demo_org(demo_session, now=now)
    again = build_demo_org(demo_session, now=now, reset=True)
    demo_session.commit()
    assert demo_session.scalar(select(func.count()).select_from(User)) == 16
    assert again.rep_name == "Dana Reyes"


def test_builds_on_postgresql_too(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        org = build_demo_org(session, now=now)
        session.commit()
        # Ids were written explicitly: new records must still get fresh ids afterwards.
        newcomer = CRM(session, now).user(name="Hired after the demo")
        session.commit()
        assert newcomer.id > org.admin_id
        dana = session.get(User, org.rep_id)
        assert dana is not None
        assert overview(session, dana, now=now).tasks.today.count > 0


def test_every_view_reads_the_same_on_sqlite_and_postgresql(
    sqlite_engine: Engine, postgres_engine: Engine, now: datetime
) -> None:
    def views(engine: Engine) -> dict[str, object]:
        with Session(engine) as session:
            org = build_demo_org(session, now=now)
            session.commit()
            dana, admin = session.get(User, org.rep_id), session.get(User, org.admin_id)
            assert dana is not None and admin is not None
            return {
                "overview": overview(session, dana, now=now),
                "admin overview": overview(session, dana, now=now, viewer=admin),
                "deals": [
                    deals_page(session, admin, now=now, category=c, limit=200) for c in DealCategory
                ],
                "counts": category_counts(session, admin, now=now),
                "week": schedule(session, dana, now=now, period=SchedulePeriod.WEEK),
                "month": schedule(
                    session, dana, now=now, period=SchedulePeriod.MONTH, viewer=admin
                ),
                "feed": feed(session, dana, now=now, limit=100, per_contact=20),
                "leads": leads_by_stage(session, dana),
                "tasks": open_tasks(session, dana, now=now, limit=500),
            }

    on_sqlite, on_postgres = views(sqlite_engine), views(postgres_engine)
    for name, result in on_sqlite.items():
        assert result == on_postgres[name], name


def test_fills_a_database_that_only_has_settings(demo_engine: Engine, now: datetime) -> None:
    with Session(demo_engine) as session:
        CRM(session, now).settings(hipaa_sensitive_data=True)
        session.commit()
        build_demo_org(session, now=now)
        session.commit()
        assert session.scalar(select(func.count()).select_from(User)) == 16
        settings = session.get(WorkspaceSettings, 1)
        assert settings is not None and settings.hipaa_sensitive_data is True
