"""Digests as Block Kit: pure functions from the digest data to blocks and fallback text.

Buttons use the same action ids as the Home tab (``handlers.ids``), so the same listeners
handle them; those listeners update this message in place from the payload's message ts.
A message stays within Slack's limits: at most 50 blocks, section text at most 3,000
characters, button text at most 75.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers import ids
from rules.clock import padded_clock_time
from rules.digests import (
    TOP_DEALS_PER_REP,
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
from rules.task_wording import BUCKET_LABELS
from rules.tasks import TaskBucket

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_BUTTON_TEXT = 75
# Rep lines in a team digest before "and N more".
TOP_REPS = 12

BUCKET_EMOJI = {
    TaskBucket.OVERDUE: ":warning:",
    TaskBucket.TODAY: ":date:",
    TaskBucket.TOMORROW: ":soon:",
}
CATEGORY_TITLES = {
    "closing": "Closing-related",
    "prospecting": "Prospecting-related",
    "other": "Meetings, calls and tasks",
}
GOAL_TITLES = {
    "meetings_booked": "Meetings booked",
    "calls_logged": "Calls logged",
    "tasks_completed": "Tasks completed",
    "emails_sent": "Emails sent",
}


def home_url(team_id: str | None, app_id: str | None) -> str | None:
    """The deep link to the app's Home tab, when both ids are known."""
    if not team_id or not app_id:
        return None
    return f"slack://app?team={team_id}&id={app_id}&tab=home"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack mrkdwn control characters; user data must not become links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION_TEXT)},
    }
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, 3000)}]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(text, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _link_button(text: str, url: str, action_id: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(text, MAX_BUTTON_TEXT)},
        "url": url[:3000],
        "action_id": action_id,
    }


def _overflow(action_id: str, options: list[tuple[str, str]]) -> Block:
    return {
        "type": "overflow",
        "action_id": action_id,
        "options": [
            {"text": {"type": "plain_text", "text": _clip(label, 75)}, "value": value}
            for label, value in options
        ],
    }


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return padded_clock_time(moment.astimezone(zone))


def _date_title(digest_date: Any) -> str:
    return f"{digest_date:%A} {digest_date.day} {digest_date:%B}"


# Rep digest ----------------------------------------------------------------------------


def _task_blocks(task: TaskLine, bucket: TaskBucket, zone: ZoneInfo) -> list[Block]:
    when = (
        f"due {task.due_at.astimezone(zone):%a %d %b}"
        if bucket is TaskBucket.OVERDUE
        else f"due {_local(task.due_at, zone)}"
    )
    flag = ":red_circle: " if task.high_priority else ""
    return [
        _section(f"{flag}*{_escape(task.subject)}*  ·  {when}"),
        {
            "type": "actions",
            # Listeners swap the clicked row for its result, found by this id.
            "block_id": f"digest_task_{task.id}",
            "elements": [
                _button("Complete", ids.TASK_COMPLETE, str(task.id), style="primary"),
                _overflow(
                    ids.TASK_RESCHEDULE,
                    [
                        ("Snooze to tomorrow", f"{task.id}:tomorrow"),
                        ("Snooze a week", f"{task.id}:next_week"),
                        ("Pick a date…", f"{task.id}:pick"),
                    ],
                ),
            ],
        },
    ]


def _bucket_blocks(bucket: BucketSummary, zone: ZoneInfo) -> list[Block]:
    if bucket.count == 0:
        return []
    title = f"{BUCKET_EMOJI[bucket.bucket]} {BUCKET_LABELS[bucket.bucket]}"
    blocks = [
        _section(
            f"*{title}: {bucket.count}*",
            _button("Start queue", ids.TASK_QUEUE_START, bucket.bucket.value),
        )
    ]
    for task in bucket.top:
        blocks += _task_blocks(task, bucket.bucket, zone)
    more = bucket.count - len(bucket.top)
    if more > 0:
        blocks.append(_context(f"and {more} more in the queue"))
    return blocks


def _meeting_block(meeting: MeetingLine, zone: ZoneInfo) -> Block:
    span = _local(meeting.starts_at, zone)
    if meeting.ends_at is not None:
        span += f"–{_local(meeting.ends_at, zone)}"
    text = f"*{span}*  {_escape(meeting.subject)}"
    if meeting.needs_outcome:
        block = _section(
            text + "  ·  _outcome missing_",
            _button("Log outcome", ids.MEETING_LOG_OUTCOME, str(meeting.id)),
        )
        block["block_id"] = f"digest_meeting_{meeting.id}"
        return block
    if meeting.link and meeting.link.startswith(("https://", "http://")):
        return _section(text, _link_button("Join", meeting.link, f"digest_join_{meeting.id}"))
    return _section(text)


def _action_blocks(action: ActionLine) -> list[Block]:
    return [
        _section(f"*{_escape(action.title)}*"),
        {
            "type": "actions",
            "block_id": f"digest_action_{action.id}",
            "elements": [
                _button(
                    action.call_to_action or "Start",
                    ids.ACTION_QUEUE_START,
                    str(action.id),
                    style="primary",
                ),
                _button("Done", ids.ACTION_DONE, str(action.id)),
                _overflow(
                    ids.ACTION_FEEDBACK,
                    [("Yes, keep it up!", f"{action.id}:yes"), ("Not really", f"{action.id}:no")],
                ),
            ],
        },
    ]


def _goal_text(goal: GoalLine) -> str:
    title = GOAL_TITLES.get(str(goal.metric), str(goal.metric))
    filled = min(10, (10 * goal.done) // goal.target) if goal.target > 0 else 10
    bar = "█" * filled + "░" * (10 - filled)
    return f"*{title}*\n{bar} {goal.done}/{goal.target}"


def _footer(url: str | None, extra: str = "") -> Block:
    where = f"<{url}|Open Home>" if url else "Open the app's Home tab"
    return _context(f"{extra}{where} for everything else.")


def rep_digest_text(digest: RepDigest) -> str:
    """The one-line notification text (and the all-clear message)."""
    counts = {b.bucket: b.count for b in digest.tasks}
    if digest.is_empty:
        return f"All clear for {_date_title(digest.local_date)}: nothing due, no meetings."
    parts = [
        f"{counts.get(TaskBucket.OVERDUE, 0)} overdue",
        f"{counts.get(TaskBucket.TODAY, 0)} due today",
        f"{digest.meetings_total} meeting{'s' if digest.meetings_total != 1 else ''}",
    ]
    if digest.actions_total:
        parts.append(
            f"{digest.actions_total} guided action{'s' if digest.actions_total > 1 else ''}"
        )
    return "Your day: " + ", ".join(parts)


def render_rep_digest(digest: RepDigest, *, home: str | None = None) -> list[Block]:
    """The rep's morning DM; an empty day gives a single all-clear line."""
    zone = ZoneInfo(digest.zone)
    if digest.is_empty:
        return [_section(f":white_check_mark: {rep_digest_text(digest)}"), _footer(home)]
    first_name = digest.name.split(" ")[0] if digest.name else "there"
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(
                    f"Good morning, {first_name} · {_date_title(digest.local_date)}", 150
                ),
            },
        },
        _context(rep_digest_text(digest)),
    ]
    task_blocks: list[Block] = []
    for bucket in digest.tasks:
        task_blocks += _bucket_blocks(bucket, zone)
    if task_blocks:
        blocks += [{"type": "divider"}, *task_blocks]
    if digest.meetings_total:
        blocks += [
            {"type": "divider"},
            _section(f"*:calendar: Today's meetings: {digest.meetings_total}*"),
        ]
        blocks += [_meeting_block(m, zone) for m in digest.meetings]
        more = digest.meetings_total - len(digest.meetings)
        if more > 0:
            blocks.append(_context(f"and {more} more on your schedule"))
    if digest.actions_total:
        blocks += [
            {"type": "divider"},
            _section(f"*:compass: Guided actions: {digest.actions_total}*"),
        ]
        for category in ("closing", "prospecting", "other"):
            in_category = [a for a in digest.actions if a.category == category]
            if not in_category:
                continue
            blocks.append(_context(CATEGORY_TITLES[category]))
            for action in in_category:
                blocks += _action_blocks(action)
        more = digest.actions_total - len(digest.actions)
        if more > 0:
            blocks.append(_context(f"and {more} more guided actions"))
    if digest.goals:
        blocks += [
            {"type": "divider"},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*:dart: This week's goals*"},
                "fields": [
                    {"type": "mrkdwn", "text": _clip(_goal_text(g), 2000)}
                    for g in digest.goals[:10]
                ],
            },
        ]
    blocks.append(_footer(home))
    return fit_blocks(blocks, home)


# Manager digest ------------------------------------------------------------------------


def _deal_text(deal: DealLine) -> str:
    return f"{_escape(deal.name)} ({_escape(deal.reason)})"


def _rep_summary_block(rep: RepSummary) -> Block:
    who = f"<@{rep.slack_user_id}>" if rep.slack_user_id else f"*{_escape(rep.name)}*"
    figures = (
        f"{rep.overdue} overdue · {rep.due_today} due today · "
        f"{rep.meetings_today} meeting{'s' if rep.meetings_today != 1 else ''} · "
        f"{rep.open_actions} open action{'s' if rep.open_actions != 1 else ''}"
    )
    lines = [f"{who}  {figures}"]
    if rep.deals_at_risk:
        shown = ", ".join(_deal_text(d) for d in rep.deals_at_risk[:TOP_DEALS_PER_REP])
        lines.append(f":rotating_light: At risk: {shown}")
    if rep.deals_without_activity:
        idle = rep.deals_without_activity
        shown = ", ".join(_escape(d.name) for d in idle[:TOP_DEALS_PER_REP])
        more = len(idle) - TOP_DEALS_PER_REP
        lines.append(f":zzz: No activity scheduled: {shown}" + (f" +{more}" if more > 0 else ""))
    return _section("\n".join(lines))


def manager_digest_text(digest: ManagerDigest) -> str:
    t = digest.totals
    return (
        f"{digest.team_name}: {t['overdue']} overdue, {t['due_today']} due today, "
        f"{t['meetings_today']} meetings, {t['deals_at_risk']} deals at risk, "
        f"{t['deals_without_activity']} with no activity scheduled"
    )


def render_manager_digest(digest: ManagerDigest, *, home: str | None = None) -> list[Block]:
    """The team channel digest: totals, who needs help first, then a line per rep."""
    t = digest.totals
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"{digest.team_name} · {_date_title(digest.local_date)}", 150),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Overdue tasks*\n{t['overdue']}"},
                {"type": "mrkdwn", "text": f"*Due today*\n{t['due_today']}"},
                {"type": "mrkdwn", "text": f"*Meetings today*\n{t['meetings_today']}"},
                {"type": "mrkdwn", "text": f"*Open guided actions*\n{t['open_actions']}"},
                {"type": "mrkdwn", "text": f"*Deals at risk*\n{t['deals_at_risk']}"},
                {
                    "type": "mrkdwn",
                    "text": f"*No activity scheduled*\n{t['deals_without_activity']}",
                },
            ],
        },
    ]
    needing = [r for r in digest.reps if r.help_score > 0][:3]
    if needing:
        names = ", ".join(
            f"<@{r.slack_user_id}>" if r.slack_user_id else _escape(r.name) for r in needing
        )
        blocks.append(_section(f":raising_hand: *Who needs help first:* {names}"))
    elif digest.reps:
        blocks.append(_section(":white_check_mark: Nobody is behind today."))
    if digest.reps:
        blocks.append({"type": "divider"})
        blocks += [_rep_summary_block(r) for r in digest.reps[:TOP_REPS]]
        more = len(digest.reps) - TOP_REPS
        if more > 0:
            blocks.append(_context(f"and {more} more reps"))
    else:
        blocks.append(_section("No reps in this team yet."))
    blocks.append(_footer(home))
    return fit_blocks(blocks, home)


def fit_blocks(blocks: list[Block], home: str | None = None) -> list[Block]:
    """Keep a message within Slack's 50 blocks: cut the tail and point to Home."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    # Don't leave a task's text without its buttons, or a dangling divider.
    while kept and kept[-1]["type"] in {"divider", "header"}:
        kept.pop()
    kept.append(_footer(home, "More than fits here. "))
    return kept
