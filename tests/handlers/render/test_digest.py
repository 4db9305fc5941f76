"""The digest as Slack shows it: Home-tab buttons, the all-clear line, Block Kit limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from handlers.render.digest import home_url, render_manager_digest, render_rep_digest
from handlers.slack import ids
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
from rules.tasks.queries import BUCKET_ORDER, TaskBucket
from storage.models import GoalMetric

DAY = date(2026, 3, 11)
AT = datetime(2026, 3, 11, 17, 0, tzinfo=UTC)
HOME = home_url("T1", "A1")


def _digest(**overrides: Any) -> RepDigest:
    values: dict[str, Any] = {
        "user_id": 1,
        "name": "Ana Lopez",
        "slack_user_id": "UANA",
        "zone": "Europe/Berlin",
        "local_date": DAY,
        "tasks": [
            BucketSummary(
                TaskBucket.OVERDUE,
                1,
                [TaskLine(11, "Send <proposal>", AT - timedelta(days=2), False)],
            ),
            BucketSummary(TaskBucket.TODAY, 1, [TaskLine(12, "Call Bo", AT, True)]),
            BucketSummary(TaskBucket.TOMORROW, 0, []),
        ],
        "meetings": [
            MeetingLine(
                21, "Standup", AT - timedelta(hours=8), AT - timedelta(hours=7), None, True
            ),
            MeetingLine(22, "Demo", AT + timedelta(hours=1), None, "https://meet.example/x", False),
        ],
        "meetings_total": 2,
        "actions": [ActionLine(31, "Log the outcome of 3 calls", "other", 3)],
        "actions_total": 1,
        "goals": [GoalLine(GoalMetric.CALLS_LOGGED, 10, 4)],
    }
    values.update(overrides)
    return RepDigest(**values)


def _elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if "accessory" in block:
            found.append(block["accessory"])
        found += block.get("elements", [])
    return found


def test_buttons_are_the_home_tabs_with_record_ids() -> None:
    blocks = render_rep_digest(_digest(), home=HOME)
    by_action = {(e.get("action_id"), e.get("value")) for e in _elements(blocks)}
    assert (ids.TASK_COMPLETE, "11") in by_action
    assert (ids.TASK_COMPLETE, "12") in by_action
    assert (ids.MEETING_LOG_OUTCOME, "21") in by_action  # ended, no outcome yet
    assert (ids.MEETING_LOG_OUTCOME, "22") not in by_action
    assert (ids.ACTION_QUEUE_START, "31") in by_action
    assert (ids.ACTION_DONE, "31") in by_action
    # "Start queue" names its bucket the way the Home tab's count buttons do.
    assert (ids.TASK_QUEUE_START, "overdue") in by_action
    assert (ids.TASK_QUEUE_START, "today") in by_action
    snooze = next(e for e in _elements(blocks) if e.get("action_id") == ids.TASK_RESCHEDULE)
    assert [o["value"] for o in snooze["options"]] == ["11:tomorrow", "11:next_week", "11:pick"]
    feedback = next(e for e in _elements(blocks) if e.get("action_id") == ids.ACTION_FEEDBACK)
    assert [o["text"]["text"] for o in feedback["options"]] == ["Yes, keep it up!", "Not really"]


def test_times_are_local_and_user_text_is_escaped_and_home_is_linked() -> None:
    text = json.dumps(render_rep_digest(_digest(), home=HOME))
    assert "18:00" in text  # 17:00 UTC is 18:00 in Berlin
    assert "Send &lt;proposal&gt;" in text
    assert "slack://app?team=T1&id=A1&tab=home" in text
    assert "4/10" in text


def test_an_empty_day_is_one_all_clear_line() -> None:
    empty = _digest(
        tasks=[BucketSummary(b, 0, []) for b in BUCKET_ORDER],
        meetings=[],
        meetings_total=0,
        actions=[],
        actions_total=0,
    )
    blocks = render_rep_digest(empty, home=HOME)
    assert blocks[0]["text"]["text"].startswith(":white_check_mark: All clear")
    assert not any(b["type"] == "actions" for b in blocks)


def test_a_huge_day_stays_within_fifty_blocks() -> None:
    many = [TaskLine(n, "x" * 5000, AT, False) for n in range(3)]
    digest = _digest(
        tasks=[BucketSummary(b, 500, many) for b in BUCKET_ORDER],
        actions=[ActionLine(n, f"Action {n}", "closing") for n in range(5)],
        actions_total=40,
    )
    blocks = render_rep_digest(digest, home=HOME)
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "Open Home" in json.dumps(blocks[-1])


def test_manager_digest_names_who_needs_help_first() -> None:
    quiet = RepSummary(2, "Bo", "UBO", 0, 1, 0, 0, [], [])
    behind = RepSummary(
        1, "Ana", "UANA", 4, 2, 1, 3, [DealLine(9, "Acme", 1, "Deal score falling")], []
    )
    digest = ManagerDigest(5, "West", "CWEST", 7, "America/Los_Angeles", DAY, [behind, quiet])
    blocks = render_manager_digest(digest, home=HOME)
    text = json.dumps(blocks)
    help_line = next(b for b in blocks if "needs help first" in json.dumps(b))
    assert "<@UANA>" in json.dumps(help_line) and "<@UBO>" not in json.dumps(help_line)
    assert "Acme (Deal score falling)" in text
    assert len(blocks) <= 50


def test_each_button_row_has_its_own_block_id_for_in_place_updates() -> None:
    blocks = render_rep_digest(_digest(), home=HOME)
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert {"digest_task_11", "digest_task_12", "digest_meeting_21", "digest_action_31"} <= set(
        block_ids
    )
    assert len(block_ids) == len(set(block_ids))
