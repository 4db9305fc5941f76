"""A week starts where the reader's locale starts it (CLDR): Sunday in the US, Monday in
Germany. On Monday 9 March 2026, a US reader's week began the day before; a German's today."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from bot.digests.compose import DigestComposer
from bot.digests.deliver import Message
from handlers.render.navigation import View, ViewState
from handlers.render.workspace import render_workspace
from rules.digests.schedule import DueDigest
from storage.models import DigestKind, Goal, GoalMetric, User
from tests.builders import CRM
from tests.handlers.i18n.golden import visible_text

MONDAY = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def _rep(crm: CRM, session: Session, locale: str) -> User:
    rep = crm.user(name="Ana", slack_user_id="UANA", slack_locale=locale)
    session.add(Goal(user_id=rep.id, metric=GoalMetric.CALLS_LOGGED, weekly_target=2))
    crm.call(rep, starts_at=SUNDAY_NOON)  # yesterday
    session.flush()
    return rep


def _seen(session: Session, rep: User, view: View, filter: str = "") -> str:
    state = ViewState(view=view, filter=filter)
    rendered = render_workspace(session, viewer=rep, state=state, now=MONDAY, surface="home")
    return visible_text(rendered.blocks)


@pytest.mark.parametrize(
    ("locale", "span"),
    [
        ("en-US", "Sun, Mar 8 – Sat, Mar 14"),
        ("de-DE", "Mo., 9. März – So., 15. März"),
    ],
)
def test_the_schedules_week_starts_on_the_locales_first_day(
    session: Session, crm: CRM, locale: str, span: str
) -> None:
    rep = _rep(crm, session, locale)

    assert span in _seen(session, rep, View.SCHEDULE, "week")


@pytest.mark.parametrize(
    ("locale", "progress"),
    [
        ("en-US", "Calls logged this week: 1 of 2"),  # Sunday's call is this week's
        ("de-DE", "Erfasste Anrufe diese Woche: 0 von 2"),  # last week's
    ],
)
def test_goals_count_the_locales_week(
    session: Session, crm: CRM, locale: str, progress: str
) -> None:
    rep = _rep(crm, session, locale)

    assert progress in _seen(session, rep, View.OVERVIEW)


@pytest.mark.parametrize(("locale", "progress"), [("en-US", "1/2"), ("de-DE", "0/2")])
def test_the_morning_digests_goals_count_the_reps_week(
    session: Session, crm: CRM, locale: str, progress: str
) -> None:
    rep = _rep(crm, session, locale)
    crm.task(rep, due_at=MONDAY)  # something to say: an empty digest shows no goals
    due = DueDigest(DigestKind.REP, rep.id, MONDAY.date(), MONDAY, "UTC")

    message = DigestComposer()(session, due, MONDAY)

    assert isinstance(message, Message)
    assert progress in visible_text(message.blocks)
