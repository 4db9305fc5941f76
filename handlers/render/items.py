"""One record as blocks: a task, a meeting, a deal. Shared by views, queues and messages."""

from __future__ import annotations

from datetime import datetime, tzinfo

from handlers.i18n import N_, _
from handlers.i18n.formats import clock, full_date, short_moment
from handlers.i18n.formats import money as format_money
from handlers.render.kit import Block, actions, button, escape, link, overflow, section
from handlers.slack import ids
from rules.deals.queries import DealRow
from rules.meetings.queries import MeetingItem
from rules.records import RecordRef
from rules.tasks.queries import TaskItem
from storage.models import MeetingOutcome

HIGH = ":red_circle:"
# A task row's "Reschedule" menu: (label, choice); the value is "<task id>:<choice>".
RESCHEDULE_OPTIONS = (
    (N_("Reschedule: Tomorrow"), "tomorrow"),
    (N_("Reschedule: Next week"), "next_week"),
    (N_("Reschedule: Pick a date…"), "pick"),
)


def when(moment: datetime | None) -> str:
    """A local time as people read it: "Wed 11 Mar 09:00"."""
    return short_moment(moment) if moment is not None else _("no due date")


def refs(records: tuple[RecordRef, ...]) -> str:
    return ", ".join(escape(r.name) for r in records)


def task_text(task: TaskItem) -> str:
    """``task`` in one mrkdwn line or two: subject, due, priority, what it is about."""
    mark = f"{HIGH} " if task.is_high_priority else ""
    due = when(task.due_local)
    if task.is_late:
        due += " " + _("(late)")
    about = refs(task.contacts + task.deals)
    extra = f"\n{about}" if about else ""
    sequence = " · " + _("sequence task") if task.is_sequence_task else ""
    return f"{mark}*{escape(task.subject)}*\n{due}{sequence}{extra}"


def task_blocks(task: TaskItem, *, can_act: bool) -> list[Block]:
    """A task with Complete and Reschedule when the viewer may act on it (2 blocks)."""
    if not can_act:
        return [section(task_text(task))]
    reschedule = overflow(
        ids.TASK_RESCHEDULE,
        [(_(label), f"{task.id}:{code}") for label, code in RESCHEDULE_OPTIONS],
    )
    complete = button(
        "✓ " + _("Complete"), action_id=ids.TASK_COMPLETE, value=str(task.id), style="primary"
    )
    return [
        section(task_text(task), block_id=f"task-{task.id}"),
        *actions([complete, reschedule], block_id=f"task-actions-{task.id}"),
    ]


def completed_task_blocks(task: TaskItem, *, can_act: bool) -> list[Block]:
    """A completed task, struck through, with Reopen when the viewer may act on it."""
    about = refs(task.contacts + task.deals)
    text = f"~{escape(task.subject)}~  " + _("completed") + (f"\n{about}" if about else "")
    if not can_act:
        return [section(text)]
    reopen = button(_("Reopen"), action_id=ids.TASK_REOPEN, value=str(task.id))
    return [
        section(text, block_id=f"task-{task.id}"),
        *actions([reopen], block_id=f"task-actions-{task.id}"),
    ]


def meeting_needs_outcome(meeting: MeetingItem, now: datetime) -> bool:
    """Ended, not redacted, and no outcome logged yet (empty or still "scheduled")."""
    return (
        not meeting.is_busy
        and meeting.ends_at <= now
        and (meeting.outcome in (None, "", MeetingOutcome.SCHEDULED.value))
    )


def meeting_text(meeting: MeetingItem, *, with_day: bool = False) -> str:
    start = when(meeting.starts_local) if with_day else clock(meeting.starts_local)
    span = f"{start}–{clock(meeting.ends_local)}"
    if meeting.is_busy:
        return f"*{span}*  " + _("Busy")
    parts = [f"*{span}*  {escape(meeting.title)}"]
    if meeting.meeting_link:
        parts.append(link(meeting.meeting_link, _("Join")))
    elif meeting.location:
        parts.append(escape(meeting.location))
    people = refs(meeting.contacts) or ", ".join(escape(a) for a in meeting.attendees[:5])
    text = " · ".join(parts)
    if people:
        text += "\n" + _("with {people}").format(people=people)
    if meeting.outcome and meeting.outcome != MeetingOutcome.SCHEDULED.value:
        outcome = escape(meeting.outcome.replace("_", " "))
        text += "\n" + _("outcome: {outcome}").format(outcome=outcome)
    return text


def meeting_blocks(
    meeting: MeetingItem, *, now: datetime, can_act: bool, with_day: bool = False
) -> list[Block]:
    """A meeting; "Log outcome" next to it when it ended without one (1 block)."""
    accessory = None
    if can_act and meeting_needs_outcome(meeting, now):
        accessory = button(
            _("Log outcome"), action_id=ids.MEETING_LOG_OUTCOME, value=str(meeting.id)
        )
    return [section(meeting_text(meeting, with_day=with_day), accessory=accessory)]


def money(row: DealRow) -> str:
    if row.amount is None:
        return _("no amount")
    return format_money(row.amount, row.currency)


def deal_blocks(row: DealRow, *, can_act: bool, zone: tzinfo) -> list[Block]:
    """A deal: name, stage, amount, close date, next/last activity; Update (open deals),
    Add note and Log a call (for those who may act for its owner), and Insights."""
    company = f" · {escape(row.company.name)}" if row.company else ""
    close = (
        _("closes {date}").format(date=full_date(row.close_date))
        if row.close_date
        else _("no close date")
    )
    next_activity = (
        _("next activity {when}").format(when=when(row.next_activity_at.astimezone(zone)))
        if row.next_activity_at
        else "_" + _("no activity scheduled") + "_"
    )
    owner = " · " + _("owner {name}").format(name=escape(row.owner_name)) if row.owner_name else ""
    text = (
        f"*{escape(row.name)}*{company}\n{escape(row.stage_label)} · {money(row)} · {close}\n"
        f"{next_activity}{owner}"
    )
    if row.next_step:
        text += "\n" + _("next step: {step}").format(step=escape(row.next_step[:300]))
    buttons = [button(_("Insights"), action_id=ids.DEAL_INSIGHTS, value=str(row.id))]
    if can_act:
        buttons[:0] = [
            button(_("Add note"), action_id=ids.NOTE_ADD, value=f"deal:{row.id}"),
            button(_("Log a call"), action_id=ids.CALL_LOG, value=str(row.id)),
        ]
    if can_act and row.is_open:
        buttons.insert(0, button(_("Update"), action_id=ids.DEAL_UPDATE, value=str(row.id)))
    return [
        section(text, block_id=f"deal-{row.id}"),
        *actions(buttons, block_id=f"deal-actions-{row.id}"),
    ]
