"""What a user reads about tasks: bucket names and every sentence a task write answers with.

Kept apart from the logic so that rewording (or translating) a message never touches a rule.
Placeholders are named (``{task}``, ``{when}``...) and filled by ``rules.tasks.ops``.
"""

from __future__ import annotations

from rules.tasks.queries import TaskBucket
from rules.translatable import N_

BUCKET_LABELS: dict[TaskBucket, str] = {
    TaskBucket.OVERDUE: N_("Overdue"),
    TaskBucket.TODAY: N_("Due today"),
    TaskBucket.TOMORROW: N_("Due tomorrow"),
}

# Naming a task: its quoted subject, or a generic name mid-sentence / opening a sentence.
QUOTED = "'{subject}'"
THE_TASK = "the task"
THE_TASK_OPENING = "The task"
THIS_TASK = "This task"

# Refusals and problems with what was asked.
NO_TASK_ID = "That button didn't say which task. Refresh the view and try again."
CANT_CHANGE = "You can't change {whose} task."
CANT_ASSIGN_TO = "You can't assign tasks to {name}."
CANT_CREATE_FOR = "You can't create tasks for {name}."
CANT_LINK_DEAL = "You can't link the task to that deal."
PICK_RESCHEDULE = "Pick tomorrow, next week, or a date."
PICK_FUTURE_DAY = "Pick today or a later date."
PICK_ASSIGNEE = "Pick the person to assign the task to."
INACTIVE_PERSON = "That person isn't an active user of the CRM."
NEEDS_SUBJECT = "A task needs a subject."
SUBJECT_TOO_LONG = "Keep the subject under {limit} characters."
NOTES_TOO_LONG = "Keep the notes under {limit} characters."
NEEDS_DUE = "A task needs a due date and time."
DUE_WITHOUT_ZONE = "The due time has no time zone."
PICK_PRIORITY = "Pick a priority from the list."
PICK_TYPE = "Pick a task type from the list."

# Already so: nothing changed.
ALREADY_COMPLETED = "{task} was already completed by {by}{when}."
ALREADY_DELETED = "{task} was already deleted by {by} {when}."
ALREADY_DUE = "{task} is already due {when}."
ALREADY_ASSIGNED = "{task} is already assigned to {who}."
NOTHING_TO_CHANGE = "Nothing to change on {task}."
CHANGED_SINCE_SHOWN = (
    "Someone changed {task} since you opened this form, so nothing was saved. "
    "Open it again to see what it says now."
)
PROMPT_ALREADY_OFF = "The follow-up prompt is already off."
ALREADY_OPEN = "{task} is open: there is nothing to reopen."

# Done.
COMPLETED = "Done: {task} completed."
RESCHEDULED = "Done: {task} is now due {when}."
REASSIGNED = "Done: {task} is now assigned to {who}."
EDITED = "Done: {task} updated."
DELETED = "Done: {task} deleted."
CREATED = "Done: task {task} created, due {when}."
REOPENED = "Done: {task} reopened."
PROMPT_TURNED_OFF = (
    "Done: you won't be asked about follow-up tasks any more. "
    "Turn it back on with `/sales settings`."
)


def task_label(subject: str | None) -> str:
    """How a task is named mid-sentence: its quoted subject, or "the task"."""
    return QUOTED.format(subject=subject) if subject else THE_TASK


def task_title(subject: str | None) -> str:
    """How a task is named at the start of a sentence."""
    return QUOTED.format(subject=subject) if subject else THE_TASK_OPENING
