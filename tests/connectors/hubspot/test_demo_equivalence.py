"""A full sync of the demo portal builds the same workspace as the demo itself."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, RateLimiter, Syncer
from demo import build_demo_org
from demo.hubspot_portal.demo import load_demo_portal
from insights.evidence import gather_evidence
from rules.guided_actions import evaluate
from rules.workspace.feed import FeedFilters, SequenceFilter, feed
from storage.db import make_engine
from storage.models import (
    Activity,
    Company,
    Contact,
    Deal,
    Goal,
    GuidedAction,
    GuidedActionItem,
    Lead,
    Team,
    User,
    UserPreferences,
    WorkspaceSettings,
)
from tests.support.hubspot import HubSpotStandIn

NOW = datetime.now(UTC).replace(microsecond=0)
_NAMED: dict[str, Any] = {
    "contact": Contact,
    "company": Company,
    "deal": Deal,
    "lead": Lead,
    "activity": Activity,
    "task": Activity,
    "meeting": Activity,
    "call": Activity,
    "email": Activity,
    "note": Activity,
}


@pytest.fixture
def demo_engine(_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "demo.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        build_demo_org(session, now=NOW, seed=7)
        session.commit()
    yield engine
    engine.dispose()


def _copy_salesbot_settings(source: Engine, target: Engine) -> None:
    """What HubSpot does not hold: Slack links, visibility, goals, preferences, team zones."""
    with Session(source) as old, Session(target) as new:
        users = {u.email: u for u in new.scalars(select(User))}
        ids = {}
        for user in old.scalars(select(User)):
            twin = users[user.email]
            twin.slack_user_id, twin.deal_visibility = user.slack_user_id, user.deal_visibility
            ids[user.id] = twin.id
        teams = {t.name: t for t in new.scalars(select(Team))}
        for team in old.scalars(select(Team)):
            teams[team.name].timezone = team.timezone
            teams[team.name].digest_channel_id = team.digest_channel_id
        for goal in old.scalars(select(Goal)):
            new.add(
                Goal(
                    user_id=ids[goal.user_id], metric=goal.metric, weekly_target=goal.weekly_target
                )
            )
        for prefs in old.scalars(select(UserPreferences)):
            columns = {c.name: getattr(prefs, c.name) for c in UserPreferences.__table__.columns}
            new.add(UserPreferences(**{**columns, "user_id": ids[prefs.user_id]}))
        workspace = old.get(WorkspaceSettings, 1)
        if workspace is not None:
            new.merge(
                WorkspaceSettings(
                    id=1,
                    hipaa_sensitive_data=workspace.hipaa_sensitive_data,
                    customer_analysis=workspace.customer_analysis,
                    late_lifecycle_stages=workspace.late_lifecycle_stages,
                )
            )
        new.commit()


def _label(session: Session, object_type: str, object_id: int | None) -> str:
    model = _NAMED.get(str(object_type))
    record = session.get(model, object_id) if model is not None and object_id else None
    if record is None:
        return f"{object_type}:-"
    name = getattr(record, "name", None) or getattr(record, "subject", None)
    if isinstance(record, Contact):
        name = record.email or record.full_name
    return f"{object_type}:{name}"


def _workspace(engine: Engine) -> Counter[tuple[str, ...]]:
    """Open guided action items as (user email, rule, record) — ids differ between stores."""
    with Session(engine) as session:
        evaluate(session, now=NOW)
        session.commit()
        emails = {u.id: u.email for u in session.scalars(select(User))}
        found: Counter[tuple[str, ...]] = Counter()
        for action, item in session.execute(
            select(GuidedAction, GuidedActionItem).join(GuidedActionItem.action)
        ).all():
            found[
                (
                    emails[item.user_id],
                    action.action_type,
                    str(item.state),
                    _label(session, str(item.object_type), item.object_id),
                )
            ] += 1
        return found


def _ms(value: Any) -> str:
    # HubSpot keeps times to the millisecond; the demo builds them to the microsecond.
    if isinstance(value, datetime):
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    return str(value)


def _without_ids(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    # HubSpot keeps an email's open time per contact only: an older opened email gets a
    # lower bound (its send time; docs/hubspot.md). Whether it was opened must match.
    values = {**values, "opened_at": values.get("opened_at") is not None}
    return tuple(
        sorted((k, _ms(v)) for k, v in values.items() if k != "id" and not k.endswith("_id"))
    )


def _evidence(engine: Engine) -> dict[str, Any]:
    """Deal Insights' evidence of every deal as its owner sees it, ids left out."""
    found = {}
    with Session(engine) as session:
        for deal in session.scalars(select(Deal)):
            owner = session.get(User, deal.owner_id) if deal.owner_id else None
            if owner is None:
                continue
            evidence = gather_evidence(session, deal_id=deal.id, viewer=owner, now=NOW)
            assert evidence is not None
            found[deal.name] = (
                _without_ids(evidence.deal.__dict__),
                [_without_ids(a.__dict__) for a in evidence.activities],
                [_without_ids(a.__dict__) for a in evidence.follow_ups],
                [(_ms(s.recorded_at), s.score) for s in evidence.scores],
            )
    return found


def _attendees(engine: Engine) -> dict[tuple[str, str], list[str]]:
    """Each meeting's attendees' e-mails (the workspace views list them)."""
    with Session(engine) as session:
        meetings = session.scalars(select(Activity).where(Activity.kind == "meeting"))
        return {
            (m.subject or "", _ms(m.starts_at)): sorted(str(a["email"]) for a in m.attendees or [])
            for m in meetings
        }


def _in_sequence(engine: Engine) -> dict[str, list[str]]:
    """Each user's Feed filtered to contacts in a sequence now: the contacts' names."""
    found = {}
    with Session(engine) as session:
        for user in session.scalars(select(User).where(User.is_active)):
            page = feed(
                session,
                user,
                now=NOW,
                filters=FeedFilters(sequence=SequenceFilter.ENROLLED),
                limit=200,
            )
            found[user.email] = sorted(g.contact.name for g in page.groups if g.in_sequence)
    return found


def test_a_synced_demo_portal_gives_the_demo_workspace(
    demo_engine: Engine, sqlite_engine: Engine, hubspot: HubSpotStandIn
) -> None:
    load_demo_portal(hubspot.portal, now=NOW, seed=7)
    hubspot.limits.enabled = False
    api = OfficialClient(
        token=hubspot.token,
        api_url=hubspot.base_url,
        limiter=RateLimiter(search_per_second=1000),
    )
    result = Syncer(sqlite_engine, api).run(full=True)
    assert result.stopped is None and result.problems == []
    _copy_salesbot_settings(demo_engine, sqlite_engine)

    expected, synced = _workspace(demo_engine), _workspace(sqlite_engine)

    assert sum(expected.values()) > 20
    assert any(k[1] == "sequence_activity" for k in expected)
    missing, extra = expected - synced, synced - expected
    by_rule = Counter(k[1] for k in missing), Counter(k[1] for k in extra)
    assert (missing, extra) == (Counter(), Counter()), by_rule
    demo_evidence, synced_evidence = _evidence(demo_engine), _evidence(sqlite_engine)
    assert len(demo_evidence) > 50
    differing = [name for name in demo_evidence if demo_evidence[name] != synced_evidence.get(name)]
    assert differing == []
    assert _attendees(demo_engine) == _attendees(sqlite_engine)
    enrolled = _in_sequence(demo_engine)
    assert sum(len(names) for names in enrolled.values()) >= 4
    assert _in_sequence(sqlite_engine) == enrolled
