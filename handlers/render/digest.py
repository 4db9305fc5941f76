"""Digests as Block Kit: pure functions from the digest data to blocks and fallback text.

Buttons use the same action ids as the Home tab (``handlers.slack.ids``), so the same
listeners handle them; those listeners update this message in place from the payload's
message ts. Built with ``handlers.render.kit``, so a message stays within Slack's limits;
``fit_blocks`` keeps it to 50 blocks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import N_, _, ngettext
from handlers.i18n.formats import clock, day_title, number, short_day
from handlers.render.actions import ACTION_CATEGORY_LABELS, action_title
from handlers.render.kit import (
    MAX_BLOCKS,
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    fallback_text,
    field_sections,
    header,
    link,
    link_button,
    mention,
    overflow,
    section,
)
from handlers.slack import ids
from rules.digests.content import (
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
from rules.tasks.queries import TaskBucket
from rules.tasks.wording import BUCKET_LABELS

# Rep lines in a team digest before "and N more".
TOP_REPS = 12

BUCKET_EMOJI = {
    TaskBucket.OVERDUE: ":warning:",
    TaskBucket.TODAY: ":date:",
    TaskBucket.TOMORROW: ":soon:",
}
GOAL_TITLES = {
    "meetings_booked": N_("Meetings booked"),
    "calls_logged": N_("Calls logged"),
    "tasks_completed": N_("Tasks completed"),
    "emails_sent": N_("Emails sent"),
}
MESSAGE_BLOCKS = MAX_BLOCKS["message"]
# The Home tab's deep link is an app link, not a web page.
HOME_LINK_SCHEMES = ("slack://",)


def home_url(team_id: str | None, app_id: str | None) -> str | None:
    """The deep link to the app's Home tab, when both ids are known."""
    if not team_id or not app_id:
        return None
    return f"slack://app?team={team_id}&id={app_id}&tab=home"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return clock(moment.astimezone(zone))


def _date_title(digest_date: Any) -> str:
    return day_title(digest_date)


# Rep digest ----------------------------------------------------------------------------


def _task_blocks(task: TaskLine, bucket: TaskBucket, zone: ZoneInfo) -> list[Block]:
    when = (
        _("due {day}").format(day=short_day(task.due_at.astimezone(zone)))
        if bucket is TaskBucket.OVERDUE
        else _("due {time}").format(time=_local(task.due_at, zone))
    )
    flag = ":red_circle: " if task.high_priority else ""
    return [
        section(f"{flag}*{escape(task.subject)}*  ·  {when}"),
        *actions(
            [
                button(
                    _("Complete"), action_id=ids.TASK_COMPLETE, value=str(task.id), style="primary"
                ),
                overflow(
                    ids.TASK_RESCHEDULE,
                    [
                        (_("Snooze to tomorrow"), f"{task.id}:tomorrow"),
                        (_("Snooze a week"), f"{task.id}:next_week"),
                        (_("Pick a date…"), f"{task.id}:pick"),
                    ],
                ),
            ],
            # Listeners swap the clicked row for its result, found by this id.
            block_id=f"digest_task_{task.id}",
        ),
    ]


def _bucket_blocks(bucket: BucketSummary, zone: ZoneInfo) -> list[Block]:
    if bucket.count == 0:
        return []
    title = f"{BUCKET_EMOJI[bucket.bucket]} {_(BUCKET_LABELS[bucket.bucket])}"
    blocks = [
        section(
            f"*{title}: {bucket.count}*",
            accessory=button(
                _("Start queue"), action_id=ids.TASK_QUEUE_START, value=bucket.bucket.value
            ),
        )
    ]
    for task in bucket.top:
        blocks += _task_blocks(task, bucket.bucket, zone)
    more = bucket.count - len(bucket.top)
    if more > 0:
        blocks.append(
            context(
                ngettext(
                    "and {count} more in the queue", "and {count} more in the queue", more
                ).format(count=more)
            )
        )
    return blocks


def _meeting_block(meeting: MeetingLine, zone: ZoneInfo) -> Block:
    span = _local(meeting.starts_at, zone)
    if meeting.ends_at is not None:
        span += f"–{_local(meeting.ends_at, zone)}"
    text = f"*{span}*  {escape(meeting.subject)}"
    if meeting.needs_outcome:
        return section(
            text + "  ·  _" + _("outcome missing") + "_",
            accessory=button(
                _("Log outcome"), action_id=ids.MEETING_LOG_OUTCOME, value=str(meeting.id)
            ),
            block_id=f"digest_meeting_{meeting.id}",
        )
    if meeting.link and meeting.link.startswith(("https://", "http://")):
        join = link_button(_("Join"), url=meeting.link, action_id=f"digest_join_{meeting.id}")
        return section(text, accessory=join)
    return section(text)


def action_line_blocks(action: ActionLine) -> list[Block]:
    """One guided action with the digest's buttons: Start, Done, and the feedback menu."""
    return [
        section(
            f"*{escape(action_title(action.title, action.title_template, action.title_value))}*"
        ),
        *actions(
            [
                button(
                    _(action.call_to_action or "Start"),
                    action_id=ids.ACTION_QUEUE_START,
                    value=str(action.id),
                    style="primary",
                ),
                button(_("Done"), action_id=ids.ACTION_DONE, value=str(action.id)),
                overflow(
                    ids.ACTION_FEEDBACK,
                    [
                        (_("Yes, keep it up!"), f"{action.id}:yes"),
                        (_("Not really"), f"{action.id}:no"),
                    ],
                ),
            ],
            block_id=f"digest_action_{action.id}",
        ),
    ]


def _goal_text(goal: GoalLine) -> str:
    metric = str(goal.metric)
    title = _(GOAL_TITLES[metric]) if metric in GOAL_TITLES else metric
    filled = min(10, (10 * goal.done) // goal.target) if goal.target > 0 else 10
    bar = "█" * filled + "░" * (10 - filled)
    return f"*{title}*\n{bar} {goal.done}/{goal.target}"


def _footer(url: str | None, extra: str = "") -> Block:
    if url:
        where = link(url, _("Open Home"), schemes=HOME_LINK_SCHEMES)
        return context(extra + _("{open_home} for everything else.").format(open_home=where))
    return context(extra + _("Open the app's Home tab for everything else."))


def rep_digest_text(digest: RepDigest) -> str:
    """The one-line notification text (and the all-clear message)."""
    counts = {b.bucket: b.count for b in digest.tasks}
    if digest.is_empty:
        return fallback_text(
            _("All clear for {date}: nothing due, no meetings.").format(
                date=_date_title(digest.local_date)
            )
        )
    parts = [
        _("{count} overdue").format(count=counts.get(TaskBucket.OVERDUE, 0)),
        _("{count} due today").format(count=counts.get(TaskBucket.TODAY, 0)),
        _meetings(digest.meetings_total),
    ]
    if digest.actions_total:
        parts.append(
            ngettext(
                "{count} guided action", "{count} guided actions", digest.actions_total
            ).format(count=digest.actions_total)
        )
    return fallback_text(_("Your day: {summary}").format(summary=", ".join(parts)))


def _meetings(count: int) -> str:
    return ngettext("{count} meeting", "{count} meetings", count).format(count=count)


def render_rep_digest(digest: RepDigest, *, home: str | None = None) -> list[Block]:
    """The rep's morning DM; an empty day gives a single all-clear line."""
    zone = ZoneInfo(digest.zone)
    if digest.is_empty:
        return [section(f":white_check_mark: {rep_digest_text(digest)}"), _footer(home)]
    first_name = digest.name.split(" ")[0] if digest.name else _("there")
    blocks: list[Block] = [
        header(
            _("Good morning, {first_name} · {date}").format(
                first_name=first_name, date=_date_title(digest.local_date)
            )
        ),
        context(rep_digest_text(digest)),
    ]
    task_blocks: list[Block] = []
    for bucket in digest.tasks:
        task_blocks += _bucket_blocks(bucket, zone)
    if task_blocks:
        blocks += [divider(), *task_blocks]
    if digest.meetings_total:
        title = _("Today's meetings: {count}").format(count=digest.meetings_total)
        blocks += [divider(), section(f"*:calendar: {title}*")]
        blocks += [_meeting_block(m, zone) for m in digest.meetings]
        more = digest.meetings_total - len(digest.meetings)
        if more > 0:
            blocks.append(
                context(
                    ngettext(
                        "and {count} more on your schedule",
                        "and {count} more on your schedule",
                        more,
                    ).format(count=more)
                )
            )
    if digest.actions_total:
        blocks += _actions_section(digest)
    if digest.goals:
        goals = [_goal_text(g) for g in digest.goals]
        title = _("This week's goals")
        blocks += [divider(), section(f"*:dart: {title}*", fields=goals)]
    blocks.append(_footer(home))
    return fit_blocks(blocks, home)


def _actions_section(digest: RepDigest) -> list[Block]:
    """The rep's guided actions by category, and how many more there are."""
    title = _("Guided actions: {count}").format(count=digest.actions_total)
    blocks = [divider(), section(f"*:compass: {title}*")]
    for category in ("closing", "prospecting", "other"):
        in_category = [a for a in digest.actions if a.category == category]
        if not in_category:
            continue
        blocks.append(context(_(ACTION_CATEGORY_LABELS[category])))
        for action in in_category:
            blocks += action_line_blocks(action)
    more = digest.actions_total - len(digest.actions)
    if more > 0:
        blocks.append(
            context(
                ngettext(
                    "and {count} more guided action", "and {count} more guided actions", more
                ).format(count=more)
            )
        )
    return blocks


# Manager digest ------------------------------------------------------------------------


def _deal_text(deal: DealLine) -> str:
    return f"{escape(deal.name)} ({escape(deal.reason)})"


def _mention(slack_user_id: str | None, name: str, *, bold: bool = False) -> str:
    if slack_user_id:
        return mention(slack_user_id)
    return f"*{escape(name)}*" if bold else escape(name)


def _rep_summary_block(rep: RepSummary) -> Block:
    who = _mention(rep.slack_user_id, rep.name, bold=True)
    figures = " · ".join(
        [
            _("{count} overdue").format(count=rep.overdue),
            _("{count} due today").format(count=rep.due_today),
            _meetings(rep.meetings_today),
            ngettext("{count} open action", "{count} open actions", rep.open_actions).format(
                count=rep.open_actions
            ),
        ]
    )
    lines = [f"{who}  {figures}"]
    if rep.deals_at_risk:
        shown = ", ".join(_deal_text(d) for d in rep.deals_at_risk[:TOP_DEALS_PER_REP])
        lines.append(":rotating_light: " + _("At risk: {deals}").format(deals=shown))
    if rep.deals_without_activity:
        idle = rep.deals_without_activity
        shown = ", ".join(escape(d.name) for d in idle[:TOP_DEALS_PER_REP])
        more = len(idle) - TOP_DEALS_PER_REP
        idle_text = _("No activity scheduled: {deals}").format(deals=shown)
        lines.append(f":zzz: {idle_text}" + (f" +{more}" if more > 0 else ""))
    return section("\n".join(lines))


def manager_digest_text(digest: ManagerDigest) -> str:
    t = digest.totals
    figures = ", ".join(
        [
            _("{count} overdue").format(count=t["overdue"]),
            _("{count} due today").format(count=t["due_today"]),
            _meetings(t["meetings_today"]),
            ngettext("{count} deal at risk", "{count} deals at risk", t["deals_at_risk"]).format(
                count=t["deals_at_risk"]
            ),
            _("{count} with no activity scheduled").format(count=t["deals_without_activity"]),
        ]
    )
    return fallback_text(f"{escape(digest.team_name)}: {figures}")


def _figure(label: str, value: int) -> str:
    return f"*{label}*\n{number(value)}"


def render_manager_digest(digest: ManagerDigest, *, home: str | None = None) -> list[Block]:
    """The team channel digest: totals, who needs help first, then a line per rep."""
    t = digest.totals
    blocks: list[Block] = [
        header(f"{digest.team_name} · {_date_title(digest.local_date)}"),
        *field_sections(
            [
                _figure(_("Overdue tasks"), t["overdue"]),
                _figure(_("Due today"), t["due_today"]),
                _figure(_("Meetings today"), t["meetings_today"]),
                _figure(_("Open guided actions"), t["open_actions"]),
                _figure(_("Deals at risk"), t["deals_at_risk"]),
                _figure(_("No activity scheduled"), t["deals_without_activity"]),
            ]
        ),
    ]
    needing = [r for r in digest.reps if r.help_score > 0][:3]
    if needing:
        names = ", ".join(_mention(r.slack_user_id, r.name) for r in needing)
        title = _("Who needs help first:")
        blocks.append(section(f":raising_hand: *{title}* {names}"))
    elif digest.reps:
        blocks.append(section(":white_check_mark: " + _("Nobody is behind today.")))
    if digest.reps:
        blocks.append(divider())
        blocks += [_rep_summary_block(r) for r in digest.reps[:TOP_REPS]]
        more = len(digest.reps) - TOP_REPS
        if more > 0:
            blocks.append(
                context(
                    ngettext("and {count} more rep", "and {count} more reps", more).format(
                        count=more
                    )
                )
            )
    else:
        blocks.append(section(_("No reps in this team yet.")))
    blocks.append(_footer(home))
    return fit_blocks(blocks, home)


def fit_blocks(blocks: list[Block], home: str | None = None) -> list[Block]:
    """Keep a message within Slack's 50 blocks: cut the tail and point to Home."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return blocks
    kept = blocks[: MESSAGE_BLOCKS - 1]
    # Don't leave a task's text without its buttons, or a dangling divider.
    while kept and kept[-1]["type"] in {"divider", "header"}:
        kept.pop()
    kept.append(_footer(home, _("More than fits here.") + " "))
    return kept
