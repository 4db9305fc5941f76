"""Writes on tasks: complete, reopen, follow up, reschedule, reassign, edit, delete, create.

Each operation takes the acting :class:`User`, re-checks that they may act for the task's
owner (whatever the Slack payload said), and is idempotent: a second identical call changes
nothing and returns ``ALREADY`` with who did it and when. The caller commits.

Deleting is a hard delete that leaves a tombstone in ``record_changes`` (see
docs/buttons.md): readers never need a "not deleted" filter, and a late click on the deleted
task can still say who deleted it and when.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rules.clock import local_to_utc, user_zone
from rules.op_result import (
    OpResult,
    already,
    done,
    forbidden,
    invalid,
    not_found,
    parse_id,
    refused_change,
)
from rules.permissions import can_act_for, can_view_activity, can_view_deal
from rules.shown_values import fingerprints, moved, touched
from rules.tasks import wording as say
from rules.tasks.wording import task_label, task_title
from rules.translatable import phrase
from rules.wording import QUOTED, describe_due, describe_moment, done_by, person
from rules.write_hooks import after_write, record_write
from storage.changes import last_change, log_change
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    ChangeKind,
    OwnedObject,
    TaskPriority,
    TaskStatus,
    TaskType,
    User,
    UserPreferences,
)
from storage.outbox import Changes, enqueue_write
from storage.ownership import assign

SUBJECT_MAX = 500
NOTES_MAX = 10_000
# A task with no due time that gets rescheduled lands at this local time.
DEFAULT_DUE_TIME = time(9, 0)


class RescheduleChoice(StrEnum):
    """The quick choices on a task's reschedule menu ("pick a date" is a modal)."""

    TOMORROW = "tomorrow"
    NEXT_WEEK = "next_week"


@dataclass(frozen=True)
class TaskEdit:
    """Fields to change on a task; None leaves a field as it is (``notes=""`` clears them).

    ``shown`` holds the :func:`edit_fingerprints` of the form the values come from (None:
    no form, every given field is meant). With it, a field left as the form showed it is not
    written, and a field changed by someone else since the form opened is not overwritten.
    ``notes_limit`` is how much of the notes the form could show.
    """

    subject: str | None = None
    due_at: datetime | None = None
    priority: TaskPriority | str | None = None
    notes: str | None = None
    shown: Mapping[str, str] | None = None
    notes_limit: int = NOTES_MAX


@dataclass(frozen=True)
class TaskDraft:
    """A new task. ``owner_id`` None means the acting user."""

    subject: str
    due_at: datetime
    priority: TaskPriority | str = TaskPriority.NONE
    task_type: TaskType | str = TaskType.TODO
    notes: str | None = None
    owner_id: int | None = None
    deal_id: int | None = None
    contact_ids: tuple[int, ...] = field(default_factory=tuple)


# Loading and checking -----------------------------------------------------------------


def _load_task(
    session: Session, actor: User, raw_id: object, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """The task ``raw_id`` names, if ``actor`` may act on it; else the refusal to return."""
    task_id = parse_id(raw_id)
    if task_id is None:
        return None, invalid(say.NO_TASK_ID)
    task = session.get(Activity, task_id)
    if task is None or task.kind is not ActivityKind.TASK:
        if task is None:
            tombstone = _deleted(session, actor, task_id, now)
            if tombstone is not None:
                return None, tombstone
        return None, not_found("task", task_id)
    if not can_act_for(session, actor, task.owner_id):
        return None, refused_change(
            session,
            actor,
            sentences=say.CANT_CHANGE,
            noun="task",
            record_id=task_id,
            owner_id=task.owner_id,
            visible=can_view_activity(session, actor, task_id),
        )
    return task, None


def _deleted(session: Session, actor: User, task_id: int, now: datetime) -> OpResult | None:
    """ "Already deleted by Dana at 9:14", if ``task_id`` was deleted and ``actor`` may know."""
    row = last_change(
        session, object_type=OwnedObject.ACTIVITY, object_id=task_id, kind=ChangeKind.DELETED
    )
    if row is None:
        return None
    if not can_act_for(session, actor, row.detail.get("owner_id")):
        return not_found("task", task_id)
    when = describe_moment(row.at, user_zone(session, actor), now=now)
    subject = row.detail.get("subject")
    label = phrase(QUOTED, subject=subject) if subject else phrase(say.THIS_TASK)
    return already(
        say.ALREADY_DELETED,
        task_id,
        by_name=person(session, row.actor_id, actor=actor),
        at=row.at,
        task=label,
        by=done_by(session, row.actor_id, actor=actor),
        when=when,
    )


def _already_completed(session: Session, actor: User, task: Activity, now: datetime) -> OpResult:
    at = task.completed_at
    by_name = person(session, task.completed_by_id, actor=actor)
    by = done_by(session, task.completed_by_id, actor=actor)
    title = task_title(task.subject)
    if at is None:
        return already(say.ALREADY_COMPLETED, task.id, by_name=by_name, task=title, by=by)
    when = describe_moment(at, user_zone(session, actor), now=now)
    return already(
        say.ALREADY_COMPLETED_AT, task.id, by_name=by_name, at=at, task=title, by=by, when=when
    )


def _open_task(
    session: Session, actor: User, raw_id: object, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """Like ``_load_task``, and an ALREADY result when the task is completed."""
    task, refusal = _load_task(session, actor, raw_id, now)
    if task is None:
        return None, refusal
    if task.status is TaskStatus.COMPLETED:
        return None, _already_completed(session, actor, task, now)
    return task, None


# Operations ---------------------------------------------------------------------------


def complete_task(session: Session, actor: User, task_id: object, *, now: datetime) -> OpResult:
    """Mark a task completed by ``actor`` at ``now``.

    Args:
        session: The unit of work (the caller commits).
        actor: Who clicked.
        task_id: The task's id as the payload carried it (checked here).
        now: The time of the click.

    Returns:
        DONE with ``follow_up_prompt`` set from the actor's task settings; ALREADY with who
        completed it and when; or a refusal, with nothing changed.
    """
    task, refusal = _open_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    seen_status = task.status
    # Compare-and-set: of two concurrent clicks only one sees the task still open.
    claimed = session.execute(
        update(Activity)
        .where(
            Activity.id == task.id,
            or_(Activity.status.is_(None), Activity.status != TaskStatus.COMPLETED),
        )
        .values(
            status=TaskStatus.COMPLETED,
            completed_at=now,
            completed_by_id=actor.id,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        return _already_completed(session, actor, task, now)
    _record_task_write(
        session,
        task,
        ChangeKind.COMPLETED,
        actor,
        now,
        changes={"status": (seen_status, TaskStatus.COMPLETED), "completed_at": (None, now)},
    )
    return done(
        say.COMPLETED,
        task.id,
        follow_up_prompt=follow_up_prompt_on(session, actor),
        task=task_label(task.subject),
    )


def reopen_task(session: Session, actor: User, task_id: object, *, now: datetime) -> OpResult:
    """Make a completed task open again (``not_started``), as "complete" undone.

    Who may reopen is who may complete (``can_act_for`` the task's owner). The completion's
    who and when are cleared: the task reads as if it had never been completed.

    Args:
        session: The unit of work (the caller commits).
        actor: Who clicked.
        task_id: The task's id as the payload carried it (checked here).
        now: The time of the click.

    Returns:
        DONE; ALREADY when the task is open; or a refusal, with nothing changed.
    """
    task, refusal = _load_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    # Compare-and-set: of two concurrent clicks only one sees the task still completed.
    claimed = session.execute(
        update(Activity)
        .where(Activity.id == task.id, Activity.status == TaskStatus.COMPLETED)
        .values(
            status=TaskStatus.NOT_STARTED,
            completed_at=None,
            completed_by_id=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        return already(say.ALREADY_OPEN, task.id, task=task_title(task.subject))
    _record_task_write(
        session,
        task,
        ChangeKind.REOPENED,
        actor,
        now,
        changes={"status": (TaskStatus.COMPLETED, TaskStatus.NOT_STARTED)},
    )
    return done(say.REOPENED, task.id, task=task_label(task.subject))


def follow_up_prompt_on(session: Session, user: User) -> bool:
    """Whether completing a task asks this user about a follow-up (on unless turned off)."""
    prefs = session.get(UserPreferences, user.id)
    return True if prefs is None else bool(prefs.follow_up_prompt)


def turn_off_follow_up_prompt(session: Session, actor: User, *, now: datetime) -> OpResult:
    """Stop asking ``actor`` about a follow-up task after each completed task."""
    prefs = session.get(UserPreferences, actor.id)
    if prefs is not None and not prefs.follow_up_prompt:
        return already(say.PROMPT_ALREADY_OFF)
    if prefs is None:
        prefs = UserPreferences(user_id=actor.id)
        session.add(prefs)
    prefs.follow_up_prompt = False
    prefs.updated_at = now
    session.flush()
    return done(say.PROMPT_TURNED_OFF)


def reschedule_task(
    session: Session,
    actor: User,
    task_id: object,
    *,
    to: RescheduleChoice | date | str,
    now: datetime,
) -> OpResult:
    """Move a task's due time, keeping its local time of day in the actor's zone.

    Args:
        session: The unit of work.
        actor: Who clicked.
        task_id: The task's id from the payload.
        to: ``tomorrow`` or ``next_week`` (7 days from today), a picked ``date``, or either
            as the payload's string (``"2026-03-20"``).
        now: The time of the click; "tomorrow" is relative to the actor's local today.

    Returns:
        DONE, ALREADY (already due then, or completed), or a refusal.
    """
    zone = user_zone(session, actor)
    today = now.astimezone(zone).date()
    target_day = _target_day(to, today)
    if target_day is None:
        return invalid(say.PICK_RESCHEDULE, field="to")
    if target_day < today:
        return invalid(say.PICK_FUTURE_DAY, field="to")
    task, refusal = _open_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    local_time = task.due_at.astimezone(zone).timetz() if task.due_at else DEFAULT_DUE_TIME
    due = local_to_utc(target_day, local_time, zone)
    when = describe_due(due.astimezone(zone), today=today)
    if task.due_at == due:
        return already(say.ALREADY_DUE, task.id, task=task_title(task.subject), when=when)
    previous = task.due_at
    task.due_at = due
    task.occurred_at = due
    task.updated_at = now
    _record_task_write(
        session,
        task,
        ChangeKind.RESCHEDULED,
        actor,
        now,
        detail={"from": previous.isoformat() if previous else None, "to": due.isoformat()},
        changes={"due_at": (previous, due)},
    )
    return done(say.RESCHEDULED, task.id, task=task_label(task.subject), when=when)


def _target_day(to: RescheduleChoice | date | str, today: date) -> date | None:
    if isinstance(to, date):
        return to
    choice = to.strip() if isinstance(to, str) else to
    if choice == RescheduleChoice.TOMORROW:
        return today + timedelta(days=1)
    if choice == RescheduleChoice.NEXT_WEEK:
        return today + timedelta(days=7)
    if isinstance(choice, str):
        try:
            return date.fromisoformat(choice)
        except ValueError:
            return None
    return None


def reassign_task(
    session: Session, actor: User, task_id: object, *, new_owner_id: object, now: datetime
) -> OpResult:
    """Give a task to another user; both the current and the new owner must be people
    ``actor`` may act for (themselves, their team as a manager, anyone as a super admin).
    The ownership history is kept (``storage.ownership.assign``).
    """
    owner_id = parse_id(new_owner_id)
    if owner_id is None:
        return invalid(say.PICK_ASSIGNEE, field="new_owner_id")
    new_owner = session.get(User, owner_id)
    if new_owner is None or not new_owner.is_active:
        return invalid(say.INACTIVE_PERSON, field="new_owner_id")
    task, refusal = _open_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    to_self = new_owner.id == actor.id
    if task.owner_id == new_owner.id:
        if to_self:
            return already(say.ALREADY_ASSIGNED_TO_YOU, task.id, task=task_title(task.subject))
        return already(
            say.ALREADY_ASSIGNED, task.id, task=task_title(task.subject), name=new_owner.name
        )
    if not can_act_for(session, actor, new_owner.id):
        return forbidden(say.CANT_ASSIGN_TO, task.id, name=new_owner.name)
    previous = task.owner_id
    assign(session, task, new_owner.id, at=now)
    task.updated_at = now
    _record_task_write(
        session,
        task,
        ChangeKind.REASSIGNED,
        actor,
        now,
        detail={"from": previous, "to": new_owner.id},
        changes={"owner_id": (previous, new_owner.id)},
    )
    if to_self:
        return done(say.REASSIGNED_TO_YOU, task.id, task=task_label(task.subject))
    return done(say.REASSIGNED, task.id, task=task_label(task.subject), name=new_owner.name)


def edit_task(
    session: Session, actor: User, task_id: object, *, edit: TaskEdit, now: datetime
) -> OpResult:
    """Change a task's subject, due time, priority or notes (only those given)."""
    changes, problem = _validated_edit(edit)
    if problem is not None:
        return problem
    task, refusal = _open_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    if edit.shown is not None:
        changes = touched(changes, edit.shown)
        if moved(changes, edit.shown, edit_fingerprints(task, notes_limit=edit.notes_limit)):
            return invalid(say.CHANGED_SINCE_SHOWN, task=task_label(task.subject))
    changed = {name: value for name, value in changes.items() if getattr(task, name) != value}
    if not changed:
        return already(say.NOTHING_TO_CHANGE, task.id, task=task_label(task.subject))
    seen = {name: getattr(task, name) for name in changed}
    for name, value in changed.items():
        setattr(task, name, value)
    if "due_at" in changed:
        task.occurred_at = changed["due_at"]
    task.updated_at = now
    _record_task_write(
        session,
        task,
        ChangeKind.EDITED,
        actor,
        now,
        detail={"fields": sorted(changed)},
        changes={name: (seen[name], value) for name, value in changed.items()},
    )
    return done(say.EDITED, task.id, task=task_label(task.subject))


def edit_fingerprints(task: Activity, *, notes_limit: int = NOTES_MAX) -> dict[str, str]:
    """What an edit form shows of ``task`` (notes cut to the form's limit), fingerprinted
    for :attr:`TaskEdit.shown`."""
    return fingerprints(
        {
            "subject": task.subject,
            "due_at": task.due_at,
            "priority": task.priority,
            "body": (task.body or "")[:notes_limit],
        }
    )


def _validated_edit(edit: TaskEdit) -> tuple[dict[str, Any], OpResult | None]:
    changes: dict[str, Any] = {}
    if edit.subject is not None:
        subject = edit.subject.strip()
        if not subject:
            return {}, invalid(say.NEEDS_SUBJECT, field="subject")
        if len(subject) > SUBJECT_MAX:
            return {}, invalid(say.SUBJECT_TOO_LONG, field="subject", count=SUBJECT_MAX)
        changes["subject"] = subject
    if edit.due_at is not None:
        if edit.due_at.tzinfo is None:
            return {}, invalid(say.DUE_WITHOUT_ZONE, field="due_at")
        changes["due_at"] = edit.due_at
    if edit.priority is not None:
        try:
            changes["priority"] = TaskPriority(edit.priority)
        except ValueError:
            return {}, invalid(say.PICK_PRIORITY, field="priority")
    if edit.notes is not None:
        if len(edit.notes) > NOTES_MAX:
            return {}, invalid(say.NOTES_TOO_LONG, field="notes", count=NOTES_MAX)
        changes["body"] = edit.notes.strip() or None
    return changes, None


def delete_task(session: Session, actor: User, task_id: object, *, now: datetime) -> OpResult:
    """Delete a task for good, leaving a tombstone (who, when, subject) in ``record_changes``.

    Follow-up tasks that pointed at it stay, unlinked. Completed tasks can be deleted too.
    """
    task, refusal = _load_task(session, actor, task_id, now)
    if task is None:
        assert refusal is not None
        return refusal
    task_id_int, label = task.id, task_label(task.subject)
    log_change(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=task.id,
        external_id=task.external_id,
        kind=ChangeKind.DELETED,
        actor_id=actor.id,
        at=now,
        detail={"subject": task.subject, "owner_id": task.owner_id},
    )
    enqueue_write(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=task.id,
        kind=ChangeKind.DELETED,
        actor_id=actor.id,
        at=now,
        external_id=task.external_id,
    )
    session.execute(
        update(Activity)
        .where(Activity.follow_up_of_id == task.id)
        .values(follow_up_of_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(task)
    after_write(session, now=now, refs=[(OwnedObject.ACTIVITY, task_id_int)])
    return done(say.DELETED, task_id_int, task=label)


def create_task(session: Session, actor: User, draft: TaskDraft, *, now: datetime) -> OpResult:
    """Create a task owned by ``draft.owner_id`` (default: the actor).

    The owner must be someone the actor may act for; a linked deal must be one the actor
    may see.
    """
    return _create(session, actor, draft, now=now, follow_up_of=None)


def create_follow_up_task(
    session: Session, actor: User, completed_task_id: object, draft: TaskDraft, *, now: datetime
) -> OpResult:
    """Create a follow-up of a task: linked to it and to the same contacts, companies, deals
    and leads.
    """
    parent, refusal = _load_task(session, actor, completed_task_id, now)
    if parent is None:
        assert refusal is not None
        return refusal
    return _create(session, actor, draft, now=now, follow_up_of=parent)


def _create(
    session: Session,
    actor: User,
    draft: TaskDraft,
    *,
    now: datetime,
    follow_up_of: Activity | None,
) -> OpResult:
    problem = _draft_problem(draft)
    if problem is not None:
        return problem
    owner_id = actor.id if draft.owner_id is None else parse_id(draft.owner_id)
    owner = session.get(User, owner_id) if owner_id is not None else None
    if owner is None or not owner.is_active:
        return invalid(say.INACTIVE_PERSON, field="owner_id")
    if not can_act_for(session, actor, owner.id):
        return forbidden(say.CANT_CREATE_FOR, name=owner.name)
    deal_id = None
    if draft.deal_id is not None:
        deal_id = parse_id(draft.deal_id)
        if deal_id is None or not can_view_deal(session, actor, deal_id):
            return invalid(say.CANT_LINK_DEAL, field="deal_id")
    task = Activity(
        external_id=f"salesbot-{uuid.uuid4().hex}",
        kind=ActivityKind.TASK,
        owner_id=owner.id,
        created_at=now,
        updated_at=now,
        occurred_at=draft.due_at,
        subject=draft.subject.strip(),
        body=(draft.notes or "").strip() or None,
        due_at=draft.due_at,
        status=TaskStatus.NOT_STARTED,
        priority=TaskPriority(draft.priority),
        task_type=TaskType(draft.task_type),
        follow_up_of_id=follow_up_of.id if follow_up_of is not None else None,
    )
    session.add(task)
    session.flush()
    assign(session, task, owner.id, at=now)
    _link(session, task, follow_up_of, deal_id)
    _record_task_write(session, task, ChangeKind.CREATED, actor, now)
    zone = user_zone(session, actor)
    when = describe_due(draft.due_at.astimezone(zone), today=now.astimezone(zone).date())
    return done(say.CREATED, task.id, task=task_label(task.subject), when=when)


def _draft_problem(draft: TaskDraft) -> OpResult | None:
    subject = draft.subject.strip() if isinstance(draft.subject, str) else ""
    if not subject:
        return invalid(say.NEEDS_SUBJECT, field="subject")
    if len(subject) > SUBJECT_MAX:
        return invalid(say.SUBJECT_TOO_LONG, field="subject", count=SUBJECT_MAX)
    if not isinstance(draft.due_at, datetime) or draft.due_at.tzinfo is None:
        return invalid(say.NEEDS_DUE, field="due_at")
    if draft.notes is not None and len(draft.notes) > NOTES_MAX:
        return invalid(say.NOTES_TOO_LONG, field="notes", count=NOTES_MAX)
    try:
        TaskPriority(draft.priority)
    except ValueError:
        return invalid(say.PICK_PRIORITY, field="priority")
    try:
        TaskType(draft.task_type)
    except ValueError:
        return invalid(say.PICK_TYPE, field="task_type")
    return None


def _link(
    session: Session, task: Activity, follow_up_of: Activity | None, deal_id: int | None
) -> None:
    """Associate a new task with its parent's records and the chosen deal."""
    links: list[Any] = []
    if follow_up_of is not None:
        pairs: list[tuple[type[Any], str]] = [
            (ActivityContact, "contact_id"),
            (ActivityCompany, "company_id"),
            (ActivityDeal, "deal_id"),
            (ActivityLead, "lead_id"),
        ]
        for table, column in pairs:
            ids = session.scalars(
                select(getattr(table, column)).where(table.activity_id == follow_up_of.id)
            )
            links.extend(table(activity_id=task.id, **{column: value}) for value in ids)
    if deal_id is not None and not any(
        isinstance(link, ActivityDeal) and link.deal_id == deal_id for link in links
    ):
        links.append(ActivityDeal(activity_id=task.id, deal_id=deal_id))
    session.add_all(links)
    session.flush()


def task_for_change(
    session: Session, actor: User, task_id: object, *, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """The open task ``task_id`` names if ``actor`` may change it (to fill a form);
    otherwise None and the result to show instead (refusal, or "already completed by…")."""
    return _open_task(session, actor, task_id, now)


def task_to_follow_up(
    session: Session, actor: User, task_id: object, *, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """The task (open or completed) ``actor`` may create a follow-up of; else the refusal."""
    return _load_task(session, actor, task_id, now)


def _record_task_write(
    session: Session,
    task: Activity,
    kind: ChangeKind,
    actor: User,
    now: datetime,
    detail: dict[str, Any] | None = None,
    changes: Changes | None = None,
) -> None:
    """Log a change to ``task`` by ``actor``, queue it for the CRM, let the guided actions
    see it (``record_write``)."""
    record_write(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=task.id,
        external_id=task.external_id,
        kind=kind,
        actor_id=actor.id,
        at=now,
        detail=detail,
        changes=changes,
    )
