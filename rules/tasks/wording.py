"""What a user reads about tasks: bucket names and every sentence a task write answers with.

Kept apart from the logic so that rewording (or translating) a message never touches a rule.
Placeholders are named (``{task}``, ``{when}``...) and filled by ``rules.tasks.ops``.
"""

from __future__ import annotations

from rules.tasks.queries import TaskBucket
from rules.translatable import N_, N_plural, Phrase, phrase
from rules.wording import QUOTED, CantChange

BUCKET_LABELS: dict[TaskBucket, str] = {
    TaskBucket.OVERDUE: N_("Overdue"),
    TaskBucket.TODAY: N_("Due today"),
    TaskBucket.TOMORROW: N_("Due tomorrow"),
}

# Naming a task: its quoted subject (``rules.wording.QUOTED``), or a generic name
# mid-sentence / opening a sentence.
THE_TASK = N_("the task")
THE_TASK_OPENING = N_("The task")
THIS_TASK = N_("This task")

# Refusals and problems with what was asked.
NO_TASK_ID = N_("That button didn't say which task. Refresh the view and try again.")
CANT_CHANGE = CantChange(
    yours=N_("You can't change your task: your CRM user is inactive."),
    theirs=N_("You can't change {name}'s task."),
    unassigned=N_("You can't change this task."),
)
CANT_ASSIGN_TO = N_("You can't assign tasks to {name}.")
CANT_CREATE_FOR = N_("You can't create tasks for {name}.")
CANT_LINK_DEAL = N_("You can't link the task to that deal.")
PICK_RESCHEDULE = N_("Pick tomorrow, next week, or a date.")
PICK_FUTURE_DAY = N_("Pick today or a later date.")
PICK_ASSIGNEE = N_("Pick the person to assign the task to.")
INACTIVE_PERSON = N_("That person isn't an active user of the CRM.")
NEEDS_SUBJECT = N_("A task needs a subject.")
SUBJECT_TOO_LONG = N_plural(
    "Keep the subject under {count} character.", "Keep the subject under {count} characters."
)
NOTES_TOO_LONG = N_plural(
    "Keep the notes under {count} character.", "Keep the notes under {count} characters."
)
NEEDS_DUE = N_("A task needs a due date and time.")
DUE_WITHOUT_ZONE = N_("The due time has no time zone.")
PICK_PRIORITY = N_("Pick a priority from the list.")
PICK_TYPE = N_("Pick a task type from the list.")

# Already so: nothing changed. ``{by}`` is ``rules.wording.done_by`` ("by Dana").
ALREADY_COMPLETED = N_("{task} was already completed {by}.")
ALREADY_COMPLETED_AT = N_("{task} was already completed {by} {when}.")
ALREADY_DELETED = N_("{task} was already deleted {by} {when}.")
ALREADY_DUE = N_("{task} is already due {when}.")
ALREADY_ASSIGNED_TO_YOU = N_("{task} is already assigned to you.")
ALREADY_ASSIGNED = N_("{task} is already assigned to {name}.")
NOTHING_TO_CHANGE = N_("Nothing to change on {task}.")
CHANGED_SINCE_SHOWN = N_(
    "Someone changed {task} since you opened this form, so nothing was saved. "
    "Open it again to see what it says now."
)
PROMPT_ALREADY_OFF = N_("The follow-up prompt is already off.")
ALREADY_OPEN = N_("{task} is open: there is nothing to reopen.")

# Done.
COMPLETED = N_("Done: {task} completed.")
RESCHEDULED = N_("Done: {task} is now due {when}.")
REASSIGNED_TO_YOU = N_("Done: {task} is now assigned to you.")
REASSIGNED = N_("Done: {task} is now assigned to {name}.")
EDITED = N_("Done: {task} updated.")
DELETED = N_("Done: {task} deleted.")
CREATED = N_("Done: task {task} created, due {when}.")
REOPENED = N_("Done: {task} reopened.")
PROMPT_TURNED_OFF = N_(
    "Done: you won't be asked about follow-up tasks any more. "
    "Turn it back on with `/sales settings`."
)


def task_label(subject: str | None) -> Phrase:
    """How a task is named mid-sentence: its quoted subject, or "the task"."""
    return phrase(QUOTED, subject=subject) if subject else phrase(THE_TASK)


def task_title(subject: str | None) -> Phrase:
    """How a task is named at the start of a sentence."""
    return phrase(QUOTED, subject=subject) if subject else phrase(THE_TASK_OPENING)
