"""Modals for tasks: edit, reassign, pick a date, create (or follow up), and the task queue.

Each form has its ``parse_*`` beside it: the block and action ids are private to this file.
Parsing returns plain values; the domain validates them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import N_, _
from handlers.i18n.formats import clock, relative_day
from handlers.render.items import RESCHEDULE_OPTIONS
from handlers.render.kit import (
    Block,
    FieldBlocks,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    form_element,
    input_block,
    modal,
    option,
    overflow,
    section,
)
from handlers.slack import ids
from handlers.slack.metadata import metadata
from rules.clock import local_to_utc
from rules.op_result import OpResult, invalid
from rules.tasks.ops import edit_fingerprints
from rules.tasks.queries import bucket_named
from rules.tasks.wording import BUCKET_LABELS
from storage.models import Activity, TaskPriority, TaskType

PRIORITY_LABELS = {
    TaskPriority.NONE: N_("None"),
    TaskPriority.LOW: N_("Low"),
    TaskPriority.MEDIUM: N_("Medium"),
    TaskPriority.HIGH: N_("High"),
}
TYPE_LABELS = {
    TaskType.TODO: N_("To-do"),
    TaskType.CALL: N_("Call"),
    TaskType.EMAIL: N_("Email"),
    TaskType.LINKED_IN: N_("LinkedIn"),
}

_SUBJECT, _DATE, _TIME, _PRIORITY, _NOTES, _OWNER, _TYPE = (
    "subject",
    "due_date",
    "due_time",
    "priority",
    "notes",
    "owner",
    "task_type",
)


def _value(state: dict[str, Any], block_id: str) -> dict[str, Any]:
    return form_element(state, block_id)


def _text(state: dict[str, Any], block_id: str) -> str | None:
    value = _value(state, block_id).get("value")
    return value if isinstance(value, str) else None


def _selected(state: dict[str, Any], block_id: str) -> str | None:
    chosen = _value(state, block_id).get("selected_option") or {}
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return value if isinstance(value, str) else None


def _date(state: dict[str, Any], block_id: str) -> date | None:
    raw = _value(state, block_id).get("selected_date")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _time(state: dict[str, Any], block_id: str) -> time | None:
    raw = _value(state, block_id).get("selected_time")
    try:
        return time.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _priority_select(current: TaskPriority | None) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": _PRIORITY,
        "options": [option(_(label), value.value) for value, label in PRIORITY_LABELS.items()],
    }
    if current is not None:
        element["initial_option"] = option(_(PRIORITY_LABELS[current]), current.value)
    return element


def _due_inputs(due_local: datetime | None) -> list[Block]:
    date_element: Block = {"type": "datepicker", "action_id": _DATE}
    time_element: Block = {"type": "timepicker", "action_id": _TIME}
    if due_local is not None:
        date_element["initial_date"] = due_local.date().isoformat()
        time_element["initial_time"] = f"{due_local:%H:%M}"
    return [
        input_block(_DATE, _("Due date"), date_element),
        input_block(_TIME, _("Due time"), time_element),
    ]


def _subject_input(initial: str | None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": _SUBJECT, "max_length": 500}
    if initial:
        element["initial_value"] = initial[:500]
    return input_block(_SUBJECT, _("Subject"), element)


# Slack's text input holds at most this much: longer notes are shown cut.
NOTES_SHOWN = 3000


def _notes_input(initial: str | None) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": _NOTES,
        "multiline": True,
        "max_length": NOTES_SHOWN,
    }
    if initial:
        element["initial_value"] = initial[:NOTES_SHOWN]
    return input_block(_NOTES, _("Notes"), element, optional=True)


# Edit ---------------------------------------------------------------------------------


def edit_task_modal(task: Activity, zone: ZoneInfo, *, origin: dict[str, Any]) -> Block:
    due_local = task.due_at.astimezone(zone) if task.due_at else None
    return modal(
        ids.VIEW_TASK_EDIT,
        _("Edit task"),
        [
            _subject_input(task.subject),
            *_due_inputs(due_local),
            input_block(_PRIORITY, _("Priority"), _priority_select(task.priority)),
            _notes_input(task.body),
        ],
        submit=_("Save"),
        # What the form shows, so that saving writes only what the user changed.
        private_metadata=metadata(
            id=task.id, origin=origin, shown=edit_fingerprints(task, notes_limit=NOTES_SHOWN)
        ),
    )


@dataclass(frozen=True)
class TaskForm:
    """What a task form held; None where a field was absent or unreadable."""

    subject: str | None
    due_at: datetime | None
    priority: str | None
    notes: str | None
    task_type: str | None = None
    owner_slack_id: str | None = None


def parse_task_form(state: dict[str, Any], zone: ZoneInfo) -> TaskForm:
    """Read a task form; the due date and time are read in ``zone`` (the user's)."""
    day, at = _date(state, _DATE), _time(state, _TIME)
    due = local_to_utc(day, at, zone) if day is not None and at is not None else None
    owner = _value(state, _OWNER).get("selected_user")
    return TaskForm(
        subject=_text(state, _SUBJECT),
        due_at=due,
        priority=_selected(state, _PRIORITY),
        notes=_text(state, _NOTES) or "",
        task_type=_selected(state, _TYPE),
        owner_slack_id=owner if isinstance(owner, str) else None,
    )


def form_problem(form: TaskForm) -> OpResult | None:
    """What the form itself lacks (Slack shows it under the field), before the domain's checks."""
    if not (form.subject or "").strip():
        return invalid(N_("A task needs a subject."), field="subject")
    if form.due_at is None:
        return invalid(N_("Pick a due date and time."), field="due_at")
    return None


# The task forms' inputs, by the name of the field the domain refuses (``OpResult.field``).
TASK_FIELDS = FieldBlocks(
    default=_SUBJECT,
    blocks={
        "subject": _SUBJECT,
        "due_at": _DATE,
        "priority": _PRIORITY,
        "notes": _NOTES,
        "task_type": _TYPE,
        "owner_id": _OWNER,
    },
)


# Reassign -----------------------------------------------------------------------------


def reassign_modal(task: Activity, *, origin: dict[str, Any]) -> Block:
    return modal(
        ids.VIEW_TASK_REASSIGN,
        _("Reassign task"),
        [
            section("*" + escape(task.subject or _("Task")) + "*"),
            input_block(
                _OWNER,
                _("Assign to"),
                {"type": "users_select", "action_id": _OWNER},
                hint=_("Only people whose tasks you may manage."),
            ),
        ],
        submit=_("Reassign"),
        private_metadata=metadata(id=task.id, origin=origin),
    )


def parse_reassign(state: dict[str, Any]) -> str | None:
    """The picked Slack user id, or None."""
    picked = _value(state, _OWNER).get("selected_user")
    return picked if isinstance(picked, str) and picked else None


REASSIGN_FIELDS = FieldBlocks(default=_OWNER)


# Reschedule ----------------------------------------------------------------------------


def reschedule_menu(task_id: int) -> Block:
    """The overflow menu on a task row: Tomorrow / Next week / Pick a date…"""
    return overflow(
        ids.TASK_RESCHEDULE,
        [(label, f"{task_id}:{choice}") for label, choice in RESCHEDULE_OPTIONS],
    )


def pick_date_modal(task: Activity, today: date, *, origin: dict[str, Any]) -> Block:
    element: Block = {
        "type": "datepicker",
        "action_id": _DATE,
        "initial_date": today.isoformat(),
    }
    return modal(
        ids.VIEW_TASK_RESCHEDULE,
        _("Reschedule task"),
        [
            section("*" + escape(task.subject or _("Task")) + "*"),
            input_block(
                _DATE, _("New due date"), element, hint=_("The time of day stays the same.")
            ),
        ],
        submit=_("Reschedule"),
        private_metadata=metadata(id=task.id, origin=origin),
    )


def parse_picked_date(state: dict[str, Any]) -> date | None:
    return _date(state, _DATE)


PICK_DATE_FIELDS = FieldBlocks(default=_DATE)


# Create ---------------------------------------------------------------------------------


def create_task_modal(
    *,
    default_due: datetime,
    follow_up_of: Activity | None = None,
    deal_id: int | None = None,
    origin: dict[str, Any] | None = None,
) -> Block:
    """A new task (or a follow-up of ``follow_up_of``), due by default at ``default_due``
    (local to the user)."""
    blocks: list[Block] = []
    if follow_up_of is not None:
        blocks.append(
            context(
                _("Follow-up of *{subject}*").format(
                    subject=escape(follow_up_of.subject or _("a task"))
                )
            )
        )
    subject = (
        _("Follow up: {subject}").format(subject=follow_up_of.subject)
        if follow_up_of and follow_up_of.subject
        else None
    )
    type_element: Block = {
        "type": "static_select",
        "action_id": _TYPE,
        "options": [option(_(label), value.value) for value, label in TYPE_LABELS.items()],
        "initial_option": option(_(TYPE_LABELS[TaskType.TODO]), TaskType.TODO.value),
    }
    blocks += [
        _subject_input(subject),
        *_due_inputs(default_due),
        input_block(_TYPE, _("Type"), type_element),
        input_block(_PRIORITY, _("Priority"), _priority_select(TaskPriority.NONE)),
        _notes_input(None),
    ]
    return modal(
        ids.VIEW_TASK_CREATE,
        _("Follow-up task") if follow_up_of is not None else _("New task"),
        blocks,
        submit=_("Create"),
        private_metadata=metadata(
            follow_up_of=follow_up_of.id if follow_up_of is not None else None,
            deal=deal_id,
            origin=origin or {},
        ),
    )


# The task queue ---------------------------------------------------------------------------


def _queue_title(bucket: str) -> str:
    if bucket == "all":
        return _("All")
    try:
        return _(BUCKET_LABELS[bucket_named(bucket)])
    except ValueError:
        return _("queue")


def queue_notice(sentence: str) -> Block:
    """The queue's line about the last task (plain text), over the next one."""
    return context(escape(sentence))


def task_queue_view(
    task: Activity | None,
    *,
    bucket: str,
    position: int,
    total: int,
    done: list[int],
    skipped: list[int],
    zone: ZoneInfo,
    today: date,
    notice: str | None = None,
) -> Block:
    """One task of a queue, with Complete / Skip, or "all done" when ``task`` is None."""
    title = _("Tasks: {list}").format(list=_queue_title(bucket))
    blocks: list[Block] = []
    if notice:
        blocks.append(queue_notice(notice))
    if task is None:
        blocks.append(section(":tada: " + _("That's all the tasks in this list.")))
        return modal(
            ids.VIEW_TASK_QUEUE,
            title,
            blocks,
            close=_("Close"),
            private_metadata=metadata(bucket=bucket),
        )
    due = task.due_at.astimezone(zone) if task.due_at else None
    when = (
        _("{day} at {time}").format(day=relative_day(due.date(), today=today), time=clock(due))
        if due
        else _("no due date")
    )
    lines = ["*" + escape(task.subject or _("Task")) + "*", _("Due {when}").format(when=when)]
    if task.priority is TaskPriority.HIGH:
        lines.append(":red_circle: " + _("High priority"))
    if task.body:
        lines.append(escape(task.body[:500]))
    blocks += [
        context(_("Task {number} of {count}").format(number=position, count=total)),
        section("\n".join(lines)),
        *actions(
            [
                button(
                    _("Complete"),
                    action_id=ids.TASK_QUEUE_COMPLETE,
                    value=str(task.id),
                    style="primary",
                ),
                button(_("Skip"), action_id=ids.TASK_QUEUE_NEXT, value=str(task.id)),
            ],
            block_id=f"queue:{task.id}",
        ),
    ]
    return modal(
        ids.VIEW_TASK_QUEUE,
        title,
        blocks,
        close=_("Done"),
        # Only the last ids: enough for any real queue, and inside Slack's 3,000 characters.
        private_metadata=metadata(bucket=bucket, done=done[-120:], skipped=skipped[-120:]),
    )


# A task row's controls (for lists in messages and the Home tab) ------------------------


def task_controls(task_id: int, subject: str | None) -> Block:
    """The buttons of one task row: Complete, Edit, Reassign, Delete (confirmed), and the
    reschedule menu. Its block id names the task, so a result can replace it in place."""
    label = subject or _("this task")
    (block,) = actions(
        [
            button(_("Complete"), action_id=ids.TASK_COMPLETE, value=str(task_id), style="primary"),
            reschedule_menu(task_id),
            button(_("Edit"), action_id=ids.TASK_EDIT, value=str(task_id)),
            button(_("Reassign"), action_id=ids.TASK_REASSIGN, value=str(task_id)),
            button(
                _("Delete"),
                action_id=ids.TASK_DELETE,
                value=str(task_id),
                style="danger",
                confirm=confirm_dialog(
                    _("Delete task?"),
                    _("Delete “{task}” for everyone? This can't be undone.").format(task=label),
                    _("Delete"),
                    danger=True,
                ),
            ),
        ],
        block_id=f"task:{task_id}",
    )
    return block
