"""Each workspace view as blocks: the fixed ``top`` and the item groups to page through.

Pure functions of the domain dataclasses (``rules/``) and the navigation state. A group is
a few blocks that belong together (a task and its buttons); the frame pages groups, so no
function here needs to count blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from itertools import groupby

from handlers.i18n import N_, _, ngettext
from handlers.i18n.formats import clock, day_title, full_date, short_day
from handlers.render.items import (
    completed_task_blocks,
    deal_blocks,
    meeting_blocks,
    meeting_text,
    refs,
    task_blocks,
    when,
)
from handlers.render.kit import (
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    section,
    static_select,
)
from handlers.render.navigation import ViewState
from handlers.slack import ids
from rules.deals.queries import DealCategory, DealPage
from rules.deals.wording import CATEGORY_LABELS
from rules.leads.queries import LeadRow, LeadsBoard
from rules.tasks.queries import BUCKET_ORDER, TaskGroup, TaskPage
from rules.tasks.wording import BUCKET_LABELS
from rules.workspace.feed import FeedFilters, FeedItem, FeedPage, SequenceFilter
from rules.workspace.overview import ActivityRecord, GoalProgress, Overview, WeeklyMetric
from rules.workspace.schedule import Schedule, SchedulePeriod
from storage.models import ActivityKind, EmailDirection

Groups = list[list[Block]]

TOP_TASKS_PER_BUCKET = 3
LINES_PER_SECTION = 10

KIND_LABELS = {
    ActivityKind.EMAIL: N_("Emails"),
    ActivityKind.CALL: N_("Calls"),
    ActivityKind.MEETING: N_("Meetings"),
    ActivityKind.NOTE: N_("Notes"),
    ActivityKind.TASK: N_("Tasks"),
}
KIND_ICONS = {
    ActivityKind.EMAIL: ":email:",
    ActivityKind.CALL: ":telephone_receiver:",
    ActivityKind.MEETING: ":calendar:",
    ActivityKind.NOTE: ":memo:",
    ActivityKind.TASK: ":white_check_mark:",
}
SEQUENCE_LABELS = {
    SequenceFilter.ANY: N_("Any sequence status"),
    SequenceFilter.ENROLLED: N_("In a sequence"),
    SequenceFilter.NOT_ENROLLED: N_("Not in a sequence"),
}

PERIOD_LABELS = {
    SchedulePeriod.DAY: N_("Day"),
    SchedulePeriod.WEEK: N_("Week"),
    SchedulePeriod.MONTH: N_("Month"),
}


def filter_select(
    state: ViewState,
    *,
    name: str,
    placeholder: str,
    choices: Sequence[tuple[str, str]],
    current: str,
) -> dict[str, object]:
    """A select that re-renders the view with another filter (``home_filter:<name>``).

    Each option's value is ``"<current state>|<new filter>"``; the listener parses both.
    """
    base = ViewState(view=state.view, subject_id=state.subject_id).encode()
    return static_select(
        placeholder,
        action_id=f"{ids.HOME_FILTER}:{name}",
        options=[(label, f"{base}|{value}") for label, value in choices],
        initial=f"{base}|{current}",
    )


def line_sections(lines: Sequence[str]) -> Groups:
    """Lines as sections of ``LINES_PER_SECTION`` each, one group per section."""
    return [
        [section("\n".join(lines[start : start + LINES_PER_SECTION]))]
        for start in range(0, len(lines), LINES_PER_SECTION)
    ]


# Overview ----------------------------------------------------------------------------------


def overview_blocks(
    view: Overview,
    *,
    state: ViewState,
    now: datetime,
    can_act: bool,
    metric: WeeklyMetric | None,
    records: tuple[ActivityRecord, ...] | None,
    actions_panel: Groups,
) -> tuple[list[Block], Groups]:
    """Tasks by bucket (top items with Complete/Reschedule), today's meetings, insight
    numbers (click one to list its records), goals, guided actions (``actions_panel``) and
    upcoming meetings."""
    groups: Groups = []
    for bucket in BUCKET_ORDER:
        groups.extend(_bucket_groups(view.tasks.group(bucket), can_act=can_act))
    todays = _("Today's meetings")
    groups.append([divider(), section(f"*{todays}* ({len(view.todays_meetings)})")])
    if not view.todays_meetings:
        groups.append([context(_("No meetings today."))])
    for meeting in view.todays_meetings:
        groups.append(meeting_blocks(meeting, now=now, can_act=can_act))
    groups.extend(_insight_groups(view, state=state, metric=metric, records=records))
    goals = _goal_lines(view.goals)
    if goals:
        title = _("Goals this week")
        groups.append([divider(), section(f"*{title}*\n" + "\n".join(goals))])
    # Last of the day's panels: a long list of suggestions pages on without pushing the
    # tasks, meetings and numbers off the first page.
    groups.extend(actions_panel)
    if view.upcoming_meetings:
        lines = [
            meeting_text(m, with_day=True).replace("\n", " · ") for m in view.upcoming_meetings
        ]
        groups.append([divider(), section("*" + _("Upcoming meetings") + "*")])
        groups.extend(line_sections(lines))
    return [], groups


def _bucket_groups(group: TaskGroup, *, can_act: bool) -> Groups:
    label = _(BUCKET_LABELS[group.bucket])
    high = (
        ", " + _("{count} high priority").format(count=group.high_priority_count)
        if group.high_priority_count
        else ""
    )
    accessory = None
    if can_act and group.count:
        accessory = button(
            _("Work through {count}").format(count=group.count),
            action_id=ids.TASK_QUEUE_START,
            value=group.bucket.value,
        )
    head = section(f"*{label}: {group.count}*{high}", accessory=accessory)
    groups: Groups = [[head]]
    shown = group.tasks[:TOP_TASKS_PER_BUCKET]
    for task in shown:
        groups.append(task_blocks(task, can_act=can_act))
    if group.count > len(shown):
        groups.append(
            [
                context(
                    _("{count} more: see Tasks, or work through the queue.").format(
                        count=group.count - len(shown)
                    )
                )
            ]
        )
    return groups


def _insight_groups(
    view: Overview,
    *,
    state: ViewState,
    metric: WeeklyMetric | None,
    records: tuple[ActivityRecord, ...] | None,
) -> Groups:
    buttons = []
    for insight in view.insights:
        token = f"i.{insight.metric.value}"
        chosen = metric is insight.metric
        buttons.append(
            button(
                f"{_(insight.label)}: {insight.count}",
                action_id=f"{ids.HOME_FILTER}:{token}",
                value=state.with_filter("" if chosen else token).encode(),
                style="primary" if chosen else None,
            )
        )
    title = _("Insights")
    hint = _("(click a number to see what it counts)")
    groups: Groups = [[divider(), section(f"*{title}* {hint}")]]
    if buttons:
        groups.append(actions(buttons, block_id="insights"))
    if metric is not None and records is not None:
        label = next((_(i.label) for i in view.insights if i.metric is metric), metric.value)
        lines = [f"{when(r.at_local)}  {escape(r.title)}" for r in records] or [_("Nothing yet.")]
        groups.append([section(f"*{escape(label)}*")])
        groups.extend(line_sections(lines))
    return groups


def _goal_lines(goals: tuple[GoalProgress, ...]) -> list[str]:
    lines = []
    for goal in goals:
        filled = round(goal.ratio * 10)
        bar = "▰" * filled + "▱" * (10 - filled)
        done = " :white_check_mark:" if goal.is_met else ""
        progress = _("{done} of {target}").format(done=goal.achieved, target=goal.target)
        lines.append(f"{bar}  {escape(_(goal.label))}: {progress}{done}")
    return lines


# Tasks -------------------------------------------------------------------------------------


# The Tasks view's filter token for the tasks completed lately (with Reopen).
COMPLETED_TASKS = "completed"


def tasks_blocks(
    page: TaskPage, *, state: ViewState, current: str, can_act: bool
) -> tuple[list[Block], Groups]:
    """The Tasks view: open tasks (all, or one bucket), or those completed lately
    (``current`` is the filter token: "all", a bucket, or ``COMPLETED_TASKS``)."""
    choices = [(_("All open tasks"), "all")] + [
        (_(BUCKET_LABELS[b]), b.value) for b in BUCKET_LABELS
    ]
    choices.append((_("Completed in the last 7 days"), COMPLETED_TASKS))
    controls: list[dict[str, object]] = [
        filter_select(
            state,
            name="bucket",
            placeholder=_("Which tasks"),
            choices=choices,
            current=current,
        )
    ]
    if can_act:
        controls.append(button(_("New task"), action_id=ids.TASK_CREATE, value="new"))
    if current == COMPLETED_TASKS:
        total = ngettext(
            "{count} task completed in the last 7 days",
            "{count} tasks completed in the last 7 days",
            page.total,
        ).format(count=page.total)
        rows = [completed_task_blocks(task, can_act=can_act) for task in page.tasks]
    else:
        total = ngettext("{count} open task", "{count} open tasks", page.total).format(
            count=page.total
        )
        rows = [task_blocks(task, can_act=can_act) for task in page.tasks]
    top = [*actions(controls, block_id="task-controls"), context(total)]
    return top, rows


# Deals -------------------------------------------------------------------------------------


def deals_blocks(
    page: DealPage,
    *,
    counts: dict[DealCategory, int],
    state: ViewState,
    can_act: bool,
    zone: tzinfo,
) -> tuple[list[Block], Groups]:
    choices = [
        (f"{_(label)} ({counts.get(category, 0)})", category.value)
        for category, label in CATEGORY_LABELS.items()
    ]
    controls: list[dict[str, object]] = [
        filter_select(
            state,
            name="category",
            placeholder=_("Category"),
            choices=choices,
            current=page.category.value,
        )
    ]
    if can_act:
        controls.append(button(_("New deal"), action_id=ids.DEAL_CREATE, value="new"))
    label = _(CATEGORY_LABELS.get(page.category, page.category.value))
    top = [*actions(controls, block_id="deal-controls"), context(f"{label}: {page.total}")]
    return top, [deal_blocks(row, can_act=can_act, zone=zone) for row in page.deals]


# Leads -------------------------------------------------------------------------------------


def _lead_line(lead: LeadRow, now: datetime) -> str:
    parts = [f"*{escape(lead.name)}*"]
    if lead.contact:
        parts.append(escape(lead.contact.name))
    if lead.company:
        target = " :dart: " + _("target account") if lead.is_target_account else ""
        parts.append(escape(lead.company.name) + target)
    if lead.in_stage_since:
        days = max(0, (now - lead.in_stage_since).days)
        parts.append(
            ngettext("{count} day in stage", "{count} days in stage", days).format(count=days)
        )
    if lead.disqualification_reason:
        parts.append(f"_{escape(lead.disqualification_reason)}_")
    return "• " + " · ".join(parts)


def leads_blocks(
    board: LeadsBoard, *, state: ViewState, now: datetime
) -> tuple[list[Block], Groups]:
    select = filter_select(
        state,
        name="stages",
        placeholder=_("Stages"),
        choices=[(_("All stages"), "all"), (_("Open stages only"), "open")],
        current=state.filter or "all",
    )
    total = ngettext("{count} lead", "{count} leads", board.total).format(count=board.total)
    top = [*actions([select], block_id="lead-controls"), context(total)]
    groups: Groups = []
    for column in board.columns:
        closed = "" if column.is_open else " " + _("(closed)")
        groups.append([section(f"*{escape(column.label)}*{closed}: {column.total}")])
        groups.extend(line_sections([_lead_line(lead, now) for lead in column.leads]))
        hidden = column.total - len(column.leads)
        if hidden > 0:
            more = ngettext(
                "{count} more lead in this stage is not listed here.",
                "{count} more leads in this stage are not listed here.",
                hidden,
            ).format(count=hidden)
            groups.append([context(more)])
    return top, groups


# Schedule ----------------------------------------------------------------------------------


def schedule_blocks(
    plan: Schedule, *, state: ViewState, now: datetime, can_act: bool
) -> tuple[list[Block], Groups]:
    period_buttons = [
        button(
            _(PERIOD_LABELS[period]),
            action_id=f"{ids.HOME_FILTER}:{period.value}",
            value=ViewState(
                view=state.view, filter=period.value, subject_id=state.subject_id
            ).encode(),
            style="primary" if period is plan.period else None,
        )
        for period in SchedulePeriod
    ]
    span = (
        short_day(plan.first_day)
        if plan.first_day == plan.last_day
        else f"{short_day(plan.first_day)} – {short_day(plan.last_day)}"
    )
    conflicts = (
        " · :warning: "
        + ngettext("{count} conflict", "{count} conflicts", len(plan.conflicts)).format(
            count=len(plan.conflicts)
        )
        if plan.conflicts
        else ""
    )
    meeting_count = ngettext("{count} meeting", "{count} meetings", len(plan.meetings)).format(
        count=len(plan.meetings)
    )
    due = ngettext("{count} task due", "{count} tasks due", plan.tasks_due).format(
        count=plan.tasks_due
    )
    top = [
        *actions(period_buttons, block_id="periods"),
        context(f"{span} ({escape(plan.zone)}) · {meeting_count} · {due}{conflicts}"),
    ]
    groups: Groups = []
    if plan.contacts_with_meetings_today:
        groups.append(
            [
                section(
                    "*"
                    + _("Contacts with meetings today")
                    + "*\n"
                    + refs(plan.contacts_with_meetings_today)
                )
            ]
        )
    if plan.conflicts:
        titles = {m.id: m for m in plan.meetings}
        lines = []
        for conflict in plan.conflicts:
            first, second = titles.get(conflict.first_id), titles.get(conflict.second_id)
            first_name, second_name = (
                escape(m.title) if m is not None else _("a meeting") for m in (first, second)
            )
            local = first.starts_local.tzinfo if first is not None else None
            start = conflict.starts_at.astimezone(local) if local else conflict.starts_at
            end = conflict.ends_at.astimezone(local) if local else conflict.ends_at
            overlap = _("{first} and {second} overlap {start}–{end}").format(
                first=first_name, second=second_name, start=when(start), end=clock(end)
            )
            lines.append(f":warning: {overlap}")
        groups.append([section("*" + _("Conflicts") + "*")])
        groups.extend(line_sections(lines))
    for day, meetings in groupby(plan.meetings, key=lambda m: m.starts_local.date()):
        groups.append([section(f"*{_day(day)}*")])
        for meeting in meetings:
            groups.append(meeting_blocks(meeting, now=now, can_act=can_act))
    if plan.tasks:
        lines = [
            ("~" if task.status.value == "completed" else "")
            + f"{when(task.due_local)}  {escape(task.subject)}"
            + ("~" if task.status.value == "completed" else "")
            for task in plan.tasks
        ]
        in_period = _("({count} in the period)").format(count=len(plan.tasks))
        groups.append([section(f"*{due}* {in_period}")])
        groups.extend(line_sections(lines))
    return top, groups


def _day(day: date) -> str:
    return day_title(day)


# Feed --------------------------------------------------------------------------------------


def _feed_item_line(item: FeedItem) -> str:
    icon = KIND_ICONS.get(item.kind, "•")
    direction = ""
    if item.direction is EmailDirection.INCOMING:
        direction = " " + _("(received)")
    elif item.direction is EmailDirection.OUTGOING:
        direction = " " + _("(sent)")
    snippet = f" — _{escape(item.snippet[:120])}_" if item.snippet else ""
    return f"{icon} {when(item.at_local)}  {escape(item.title)}{direction}{snippet}"


def feed_blocks(
    page: FeedPage, *, state: ViewState, filters: FeedFilters
) -> tuple[list[Block], Groups]:
    kind = next(iter(filters.kinds)).value if filters.kinds else ""
    sequence = "" if filters.sequence is SequenceFilter.ANY else filters.sequence.value

    def combined(new_kind: str, new_sequence: str) -> str:
        return "+".join(token for token in (new_kind, new_sequence) if token)

    kind_choices = [(_("All activity"), combined("", sequence))] + [
        (_(label), combined(k.value, sequence)) for k, label in KIND_LABELS.items()
    ]
    sequence_choices = [
        (_(label), combined(kind, "" if s is SequenceFilter.ANY else s.value))
        for s, label in SEQUENCE_LABELS.items()
    ]
    current = combined(kind, sequence)
    controls = [
        filter_select(
            state,
            name="kind",
            placeholder=_("Activity type"),
            choices=kind_choices,
            current=current,
        ),
        filter_select(
            state,
            name="sequence",
            placeholder=_("Sequence"),
            choices=sequence_choices,
            current=current,
        ),
    ]
    top = [
        *actions(controls, block_id="feed-controls"),
        context(
            ngettext(
                "{count} contact with activity since {date}",
                "{count} contacts with activity since {date}",
                page.total_contacts,
            ).format(count=page.total_contacts, date=full_date(page.since))
        ),
    ]
    groups: Groups = []
    for group in page.groups:
        company = f" · {escape(group.company.name)}" if group.company else ""
        target = " · :dart: *" + _("Target account") + "*" if group.is_target_account else ""
        sequence_mark = " · " + _("in a sequence") if group.in_sequence else ""
        activity = ngettext(
            "{count} activity, latest {date}",
            "{count} activities, latest {date}",
            group.activity_count,
        ).format(count=group.activity_count, date=full_date(group.latest_at))
        head = f"*{escape(group.contact.name)}*{company}{target}{sequence_mark}\n{activity}"
        lines = [_feed_item_line(item) for item in group.items]
        more = group.activity_count - len(group.items)
        if more > 0:
            lines.append("_" + _("and {count} earlier").format(count=more) + "_")
        groups.append([section(head), section("\n".join(lines) or " ")])
    return top, groups
