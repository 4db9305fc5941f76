"""Digests as a German and an English reader get them, and in the pseudo-locale."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from handlers.i18n import use_language, use_translations
from handlers.render.digest import (
    manager_digest_text,
    render_manager_digest,
    render_rep_digest,
    rep_digest_text,
)
from handlers.render.kit import block_problems
from rules.digests.content import (
    ActionLine,
    BucketSummary,
    DealLine,
    GoalLine,
    ManagerDigest,
    MeetingLine,
    RepDigest,
    RepSummary,
    TaskLine,
)
from rules.tasks.queries import TaskBucket
from storage.models import GoalMetric
from tests.handlers.i18n.golden import matches_golden, visible_text
from tests.support.pseudo import pseudo_language

DAY = date(2026, 11, 30)  # a Monday
AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
HOME = "slack://app?team=T1&id=A1&tab=home"
# User data made of words no English UI string uses, so English left in a view stands out.
QUALM = "Qualmwerk"


def _rep_digest() -> RepDigest:
    return RepDigest(
        user_id=1,
        name="Mia Qorvath",
        slack_user_id="UMIA",
        zone="Europe/Berlin",
        local_date=DAY,
        tasks=[
            BucketSummary(
                TaskBucket.OVERDUE, 4, [TaskLine(11, QUALM, AT - timedelta(days=3), False)]
            ),
            BucketSummary(TaskBucket.TODAY, 1, [TaskLine(12, QUALM, AT, True)]),
            BucketSummary(TaskBucket.TOMORROW, 0, []),
        ],
        meetings=[
            MeetingLine(21, QUALM, AT - timedelta(hours=2), AT - timedelta(hours=1), None, True),
            MeetingLine(22, QUALM, AT + timedelta(hours=1), None, "https://meet.example/x", False),
        ],
        meetings_total=3,
        actions=[
            ActionLine(31, QUALM, "closing", 2),
            ActionLine(32, QUALM, "other", 1),
        ],
        actions_total=3,
        goals=[GoalLine(GoalMetric.CALLS_LOGGED, 10, 4), GoalLine(GoalMetric.EMAILS_SENT, 20, 1)],
    )


def _team_digest() -> ManagerDigest:
    behind = RepSummary(1, "Mia", "UMIA", 4, 2, 1, 3, [DealLine(9, QUALM, 1, QUALM)], [])
    idle = RepSummary(2, "Qorvath", None, 0, 1, 2, 1, [], [DealLine(8, QUALM, 2, "")])
    return ManagerDigest(5, "Qualm", "CQ", 7, "Europe/Berlin", DAY, [behind, idle])


def _rendered() -> dict[str, Any]:
    rep, team = _rep_digest(), _team_digest()
    return {
        "rep": render_rep_digest(rep, home=HOME),
        "rep_text": rep_digest_text(rep),
        "team": render_manager_digest(team, home=HOME),
        "team_text": manager_digest_text(team),
    }


@pytest.mark.parametrize("code", ["en", "de"])
def test_digests_read_as_the_golden_copy(code: str) -> None:
    with use_language(code):
        rendered = _rendered()
    for name in ("rep", "team"):
        assert block_problems(rendered[name], surface="message") == []
        text = visible_text(rendered[name]) + "\n---\n" + rendered[f"{name}_text"]
        assert matches_golden(f"{name}_digest.{code}.txt", text)


def test_a_german_rep_reads_german_dates_times_and_the_seeds_terms() -> None:
    with use_language("de"):
        rep = json.dumps(render_rep_digest(_rep_digest(), home=HOME), ensure_ascii=False)
    assert "Guten Morgen, Mia · Montag, 30. November" in rep
    assert "fällig 09:00" in rep  # 08:00 UTC is 09:00 in Berlin
    assert "Geführte Aktionen: 3" in rep and "Ja, weiter so!" in rep and "Nicht wirklich" in rep
    assert "Überfällig: 4" in rep
    for english in ("Good morning", "Complete", "due ", "Guided actions", "Open Home"):
        assert english not in rep


def test_a_channel_digest_in_german_counts_with_plurals() -> None:
    with use_language("de"):
        text = manager_digest_text(_team_digest())
    assert text == (
        "Qualm: 4 überfällig, 3 heute fällig, 3 Meetings, 1 gefährdeter Deal, "
        "1 ohne geplante Aktivität"
    )


ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# Words that are data or Slack syntax here, not UI text.
NOT_UI = {
    QUALM,
    "Mia",
    "Qorvath",
    "Qualm",
    "https",
    "meet",
    "example",
    "slack",
    "app",
    "team",
    "tab",
    "home",
    "Berlin",
    "Europe",
    "UMIA",
}


def test_the_pseudo_locale_leaves_no_english_and_no_broken_layout() -> None:
    with use_translations(pseudo_language()):
        rendered = _rendered()
    for name in ("rep", "team"):
        assert block_problems(rendered[name], surface="message") == []
        text = visible_text(rendered[name]) + " " + rendered[f"{name}_text"]
        # Month and day names come from CLDR (English in the pseudo-locale): drop them.
        text = re.sub(r"(Monday|November|Fri|Nov)\b", "", text)
        text = re.sub(r":[a-z_]+:|-- [a-z]+ --", "", text)  # emoji codes, block markers
        leftover = {w for w in ENGLISH_WORD.findall(text) if w not in NOT_UI}
        assert leftover == set(), name
