"""Each workspace view as blocks: the fixed ``top`` and the item groups to page through.

Pure functions of the domain dataclasses (``rules/``) and the navigation state. A group is
a few blocks that belong together (a task and its buttons); the frame pages groups, so no
function here needs to count blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from itertools import groupby

from handlers.render.items import (
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
from rules.clock import padded_clock_time
from rules.deals.queries import DealCategory, DealPage
from rules.deals.wording import CATEGORY_LABELS
from rules.leads.queries import LeadRow, LeadsBoard
from rules.tasks.queries import BUCKET_ORDER, TaskBucket, TaskGroup, TaskPage
from rules.tasks.wording import BUCKET_LABELS
from rules.workspace.feed import FeedFilters, FeedItem, FeedPage, SequenceFilter
from rules.workspace.overview import ActivityRecord, GoalProgress, Overview, WeeklyMetric
from rules.workspace.schedule import Schedule, SchedulePeriod
from storage.models import ActivityKind, EmailDirection

Groups = list[list[Block]]

TOP_TASKS_PER_BUCKET = 3
LINES_PER_SECTION = 10

KIND_LABELS = {
    ActivityKind.EMAIL: "Emails",
    ActivityKind.CALL: "Calls",
    ActivityKind.MEETING: "Meetings",
    ActivityKind.NOTE: "Notes",
    ActivityKind.TASK: "Tasks",
}
KIND_ICONS = {
    ActivityKind.EMAIL: ":email:",
    ActivityKind.CALL: ":telephone_receiver:",
    ActivityKind.MEETING: ":calendar:",
    ActivityKind.NOTE: ":memo:",
    ActivityKind.TASK: ":white_check_mark:",
}
SEQUENCE_LABELS = {
    SequenceFilter.ANY: "Any sequence status",
    SequenceFilter.ENROLLED: "In a sequence",
    SequenceFilter.NOT_ENROLLED: "Not in a sequence",
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
    groups.append([divider(), section(f"*Today's meetings* ({len(view.todays_meetings)})")])
    if not view.todays_meetings:
        groups.append([context("No meetings today.")])
    for meeting in view.todays_meetings:
        groups.append(meeting_blocks(meeting, now=now, can_act=can_act))
    groups.extend(_insight_groups(view, state=state, metric=metric, records=records))
    goals = _goal_lines(view.goals)
    if goals:
        groups.append([divider(), section("*Goals this week*\n" + "\n".join(goals))])
    # Last of the day's panels: a long list of suggestions pages on without pushing the
    # tasks, meetings and numbers off the first page.
    groups.extend(actions_panel)
    if view.upcoming_meetings:
        lines = [
            meeting_text(m, with_day=True).replace("\n", " · ") for m in view.upcoming_meetings
        ]
        groups.append([divider(), section("*Upcoming meetings*")])
        groups.extend(line_sections(lines))
    return [], groups


def _bucket_groups(group: TaskGroup, *, can_act: bool) -> Groups:
    label = BUCKET_LABELS[group.bucket]
    high = f", {group.high_priority_count} high priority" if group.high_priority_count else ""
    accessory = None
    if can_act and group.count:
        accessory = button(
            f"Work through {group.count}",
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
            [context(f"{group.count - len(shown)} more: see Tasks, or work through the queue.")]
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
                f"{insight.label}: {insight.count}",
                action_id=f"{ids.HOME_FILTER}:{token}",
                value=state.with_filter("" if chosen else token).encode(),
                style="primary" if chosen else None,
            )
        )
    groups: Groups = [[divider(), section("*Insights* (click a number to see what it counts)")]]
    if buttons:
        groups.append(actions(buttons, block_id="insights"))
    if metric is not None and records is not None:
        label = next((i.label for i in view.insights if i.metric is metric), metric.value)
        lines = [f"{when(r.at_local)}  {escape(r.title)}" for r in records] or ["Nothing yet."]
        groups.append([section(f"*{escape(label)}*")])
        groups.extend(line_sections(lines))
    return groups


def _goal_lines(goals: tuple[GoalProgress, ...]) -> list[str]:
    lines = []
    for goal in goals:
        filled = round(goal.ratio * 10)
        bar = "▰" * filled + "▱" * (10 - filled)
        done = " :white_check_mark:" if goal.is_met else ""
        lines.append(f"{bar}  {escape(goal.label)}: {goal.achieved} of {goal.target}{done}")
    return lines


# Tasks -------------------------------------------------------------------------------------


def tasks_blocks(
    page: TaskPage, *, state: ViewState, bucket: TaskBucket | None, can_act: bool
) -> tuple[list[Block], Groups]:
    choices = [("All open tasks", "all")] + [(BUCKET_LABELS[b], b.value) for b in BUCKET_LABELS]
    controls: list[dict[str, object]] = [
        filter_select(
            state,
            name="bucket",
            placeholder="Which tasks",
            choices=choices,
            current=bucket.value if bucket else "all",
        )
    ]
    if can_act:
        controls.append(button("New task", action_id=ids.TASK_CREATE, value="new"))
    top = [*actions(controls, block_id="task-controls"), context(f"{page.total} open tasks")]
    return top, [task_blocks(task, can_act=can_act) for task in page.tasks]


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
        (f"{label} ({counts.get(category, 0)})", category.value)
        for category, label in CATEGORY_LABELS.items()
    ]
    controls: list[dict[str, object]] = [
        filter_select(
            state,
            name="category",
            placeholder="Category",
            choices=choices,
            current=page.category.value,
        )
    ]
    if can_act:
        controls.append(button("New deal", action_id=ids.DEAL_CREATE, value="new"))
    label = CATEGORY_LABELS.get(page.category, page.category.value)
    top = [*actions(controls, block_id="deal-controls"), context(f"{label}: {page.total}")]
    return top, [deal_blocks(row, can_act=can_act, zone=zone) for row in page.deals]


# Leads -------------------------------------------------------------------------------------


def _lead_line(lead: LeadRow, now: datetime) -> str:
    parts = [f"*{escape(lead.name)}*"]
    if lead.contact:
        parts.append(escape(lead.contact.name))
    if lead.company:
        target = " :dart: target account" if lead.is_target_account else ""
        parts.append(escape(lead.company.name) + target)
    if lead.in_stage_since:
        days = max(0, (now - lead.in_stage_since).days)
        parts.append(f"{days} d in stage")
    if lead.disqualification_reason:
        parts.append(f"_{escape(lead.disqualification_reason)}_")
    return "• " + " · ".join(parts)


def leads_blocks(
    board: LeadsBoard, *, state: ViewState, now: datetime
) -> tuple[list[Block], Groups]:
    select = filter_select(
        state,
        name="stages",
        placeholder="Stages",
        choices=[("All stages", "all"), ("Open stages only", "open")],
        current=state.filter or "all",
    )
    top = [*actions([select], block_id="lead-controls"), context(f"{board.total} leads")]
    groups: Groups = []
    for column in board.columns:
        closed = "" if column.is_open else " (closed)"
        groups.append([section(f"*{escape(column.label)}*{closed}: {column.total}")])
        groups.extend(line_sections([_lead_line(lead, now) for lead in column.leads]))
        hidden = column.total - len(column.leads)
        if hidden > 0:
            groups.append([context(f"{hidden} more leads in this stage are not listed here.")])
    return top, groups


# Schedule ----------------------------------------------------------------------------------


def schedule_blocks(
    plan: Schedule, *, state: ViewState, now: datetime, can_act: bool
) -> tuple[list[Block], Groups]:
    period_buttons = [
        button(
            period.value.title(),
            action_id=f"{ids.HOME_FILTER}:{period.value}",
            value=ViewState(
                view=state.view, filter=period.value, subject_id=state.subject_id
            ).encode(),
            style="primary" if period is plan.period else None,
        )
        for period in SchedulePeriod
    ]
    span = (
        f"{plan.first_day:%a %d %b}"
        if plan.first_day == plan.last_day
        else f"{plan.first_day:%a %d %b} – {plan.last_day:%a %d %b}"
    )
    conflicts = f" · :warning: {len(plan.conflicts)} conflicts" if plan.conflicts else ""
    top = [
        *actions(period_buttons, block_id="periods"),
        context(
            f"{span} ({escape(plan.zone)}) · {len(plan.meetings)} meetings · "
            f"{plan.tasks_due} tasks due{conflicts}"
        ),
    ]
    groups: Groups = []
    if plan.contacts_with_meetings_today:
        groups.append(
            [section(f"*Contacts with meetings today*\n{refs(plan.contacts_with_meetings_today)}")]
        )
    if plan.conflicts:
        titles = {m.id: m for m in plan.meetings}
        lines = []
        for conflict in plan.conflicts:
            first, second = titles.get(conflict.first_id), titles.get(conflict.second_id)
            names = " and ".join(
                escape(m.title) if m is not None else "a meeting" for m in (first, second)
            )
            local = first.starts_local.tzinfo if first is not None else None
            start = conflict.starts_at.astimezone(local) if local else conflict.starts_at
            end = conflict.ends_at.astimezone(local) if local else conflict.ends_at
            lines.append(f":warning: {names} overlap {when(start)}–{padded_clock_time(end)}")
        groups.append([section("*Conflicts*")])
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
        groups.append([section(f"*{plan.tasks_due} tasks due* ({len(plan.tasks)} in the period)")])
        groups.extend(line_sections(lines))
    return top, groups


def _day(day: date) -> str:
    return f"{day:%A %d %B}"


# Feed --------------------------------------------------------------------------------------


def _feed_item_line(item: FeedItem) -> str:
    icon = KIND_ICONS.get(item.kind, "•")
    direction = ""
    if item.direction is EmailDirection.INCOMING:
        direction = " (received)"
    elif item.direction is EmailDirection.OUTGOING:
        direction = " (sent)"
    snippet = f" — _{escape(item.snippet[:120])}_" if item.snippet else ""
    return f"{icon} {when(item.at_local)}  {escape(item.title)}{direction}{snippet}"


def feed_blocks(
    page: FeedPage, *, state: ViewState, filters: FeedFilters
) -> tuple[list[Block], Groups]:
    kind = next(iter(filters.kinds)).value if filters.kinds else ""
    sequence = "" if filters.sequence is SequenceFilter.ANY else filters.sequence.value

    def combined(new_kind: str, new_sequence: str) -> str:
        return "+".join(token for token in (new_kind, new_sequence) if token)

    kind_choices = [("All activity", combined("", sequence))] + [
        (label, combined(k.value, sequence)) for k, label in KIND_LABELS.items()
    ]
    sequence_choices = [
        (label, combined(kind, "" if s is SequenceFilter.ANY else s.value))
        for s, label in SEQUENCE_LABELS.items()
    ]
    current = combined(kind, sequence)
    controls = [
        filter_select(
            state, name="kind", placeholder="Activity type", choices=kind_choices, current=current
        ),
        filter_select(
            state,
            name="sequence",
            placeholder="Sequence",
            choices=sequence_choices,
            current=current,
        ),
    ]
    top = [
        *actions(controls, block_id="feed-controls"),
        context(f"{page.total_contacts} contacts with activity since {page.since:%d %b %Y}"),
    ]
    groups: Groups = []
    for group in page.groups:
        company = f" · {escape(group.company.name)}" if group.company else ""
        target = " · :dart: *Target account*" if group.is_target_account else ""
        sequence_mark = " · in a sequence" if group.in_sequence else ""
        head = (
            f"*{escape(group.contact.name)}*{company}{target}{sequence_mark}\n"
            f"{group.activity_count} activities, latest {group.latest_at:%d %b %Y}"
        )
        lines = [_feed_item_line(item) for item in group.items]
        more = group.activity_count - len(group.items)
        if more > 0:
            lines.append(f"_and {more} earlier_")
        groups.append([section(head), section("\n".join(lines) or " ")])
    return top, groups
