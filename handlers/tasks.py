"""Task buttons and forms: complete (+ follow-up prompt), reopen, reschedule, reassign, edit,
delete, create, and the task queue. Each listener parses, calls ``rules.tasks.ops``, renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from slack_bolt import Ack, App, BoltContext, Respond
from sqlalchemy.orm import Session

from handlers.i18n import N_, _
from handlers.render.kit import Block
from handlers.render.results import completed_line, follow_up_prompt, result_sentence
from handlers.render.task_modals import (
    NOTES_SHOWN,
    PICK_DATE_FIELDS,
    REASSIGN_FIELDS,
    TASK_FIELDS,
    create_task_modal,
    edit_task_modal,
    form_problem,
    parse_picked_date,
    parse_reassign,
    parse_task_form,
    pick_date_modal,
    queue_notice,
    reassign_modal,
    task_queue_view,
)
from handlers.slack import ids
from handlers.slack.context import acting
from handlers.slack.identity import who_is_asking
from handlers.slack.listeners import (
    Click,
    FollowUp,
    Form,
    on_click,
    on_submit,
    open_form,
    read,
    show_in_place,
    submit_form,
    update_view,
    write,
)
from handlers.slack.metadata import read_metadata, shown_fingerprints
from rules.clock import local_to_utc, user_zone
from rules.crm_writes.queries import Progress
from rules.op_result import OpResult, done, invalid, parse_id
from rules.tasks.ops import (
    TaskDraft,
    TaskEdit,
    complete_task,
    create_follow_up_task,
    create_task,
    delete_task,
    edit_task,
    reassign_task,
    reopen_task,
    reschedule_task,
    task_for_change,
    task_to_follow_up,
    turn_off_follow_up_prompt,
)
from rules.tasks.queries import TaskBucket, bucket_named, next_in_queue, task_queue
from storage.models import Activity, User

# New tasks are due the next day at this local time unless the user picks another.
DEFAULT_NEW_TASK_TIME = time(9, 0)


def register(app: App) -> None:
    """Every task button and form."""
    app.action(ids.TASK_COMPLETE)(on_click(complete))
    app.action(ids.TASK_REOPEN)(on_click(reopen))
    app.action(ids.TASK_RESCHEDULE)(on_click(reschedule))
    app.action(ids.TASK_EDIT)(on_click(open_edit))
    app.action(ids.TASK_REASSIGN)(on_click(open_reassign))
    app.action(ids.TASK_DELETE)(on_click(delete))
    app.action(ids.TASK_CREATE)(on_click(open_create))
    app.action(ids.TASK_QUEUE_START)(on_click(start_queue))
    app.action(ids.TASK_QUEUE_COMPLETE)(on_click(complete_in_queue))
    app.action(ids.TASK_QUEUE_NEXT)(on_click(skip_in_queue))
    app.action(ids.FOLLOW_UP_CREATE)(on_click(open_follow_up))
    app.action(ids.FOLLOW_UP_NOT_NOW)(on_click(no_follow_up))
    app.action(ids.FOLLOW_UP_SETTINGS)(on_click(follow_up_off))
    app.view(ids.VIEW_TASK_EDIT)(on_submit(submit_edit))
    app.view(ids.VIEW_TASK_REASSIGN)(on_submit(submit_reassign))
    app.view(ids.VIEW_TASK_RESCHEDULE)(on_submit(submit_picked_date))
    app.view(ids.VIEW_TASK_CREATE)(on_submit(submit_create))


# Buttons ------------------------------------------------------------------------------


def complete(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: complete_task(s, actor, click.value, now=now),
    )
    show_in_place(
        context,
        click,
        result,
        respond=respond,
        replacement=lambda shown: _after_completion(click, shown),
    )


def _after_completion(click: Click, result: OpResult) -> list[Block] | None:
    """In a message: the result with Reopen (and the follow-up prompt when it is on).

    Not saved in the CRM (refused for good, or in conflict): the task is open again there
    and here, so neither Reopen nor a follow-up is offered: the plain result line (with
    Retry when it may help) says what happened.
    """
    if not (result.changed and result.record_id) or result.crm_state == Progress.NOT_SAVED:
        return None
    block_id = click.block_id or f"task:{result.record_id}"
    if not result.follow_up_prompt:
        return completed_line(result.record_id, result_sentence(result), block_id=block_id)
    return follow_up_prompt(result.record_id, result_sentence(result), block_id=block_id)


def reopen(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: reopen_task(s, actor, click.value, now=now),
    )
    show_in_place(context, click, result, respond=respond)


def reschedule(click: Click, context: BoltContext, respond: Respond) -> None:
    task_id, _sep, choice = (click.value or "").partition(":")
    if choice == "pick":
        open_form(
            context,
            click,
            read(
                context,
                lambda s, actor, now: _render_if_open(
                    s,
                    actor,
                    task_id,
                    now,
                    lambda task: pick_date_modal(
                        task, now.astimezone(user_zone(s, actor)).date(), origin=click.origin()
                    ),
                ),
            ),
            respond=respond,
        )
        return
    result = write(
        context,
        lambda s, actor, now: reschedule_task(s, actor, task_id, to=choice, now=now),
    )
    show_in_place(context, click, result, respond=respond)


def _render_if_open(
    session: Session,
    actor: User,
    task_id: object,
    now: datetime,
    render: Callable[[Activity], Block],
) -> tuple[Block | None, OpResult | None]:
    task, refusal = task_for_change(session, actor, task_id, now=now)
    return (render(task), None) if task is not None else (None, refusal)


def open_edit(click: Click, context: BoltContext, respond: Respond) -> None:
    open_form(
        context,
        click,
        read(
            context,
            lambda s, actor, now: _render_if_open(
                s,
                actor,
                click.value,
                now,
                lambda task: edit_task_modal(task, user_zone(s, actor), origin=click.origin()),
            ),
        ),
        respond=respond,
    )


def open_reassign(click: Click, context: BoltContext, respond: Respond) -> None:
    open_form(
        context,
        click,
        read(
            context,
            lambda s, actor, now: _render_if_open(
                s, actor, click.value, now, lambda task: reassign_modal(task, origin=click.origin())
            ),
        ),
        respond=respond,
    )


def delete(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: delete_task(s, actor, click.value, now=now),
    )
    show_in_place(context, click, result, respond=respond)


def _default_due(session: Session, actor: User, now: datetime) -> datetime:
    zone = user_zone(session, actor)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    # The form shows it on the user's wall clock.
    return local_to_utc(tomorrow, DEFAULT_NEW_TASK_TIME, zone).astimezone(zone)


def open_create(click: Click, context: BoltContext, respond: Respond) -> None:
    deal_id = parse_id(click.value)  # a "New task" button on a deal carries the deal's id
    open_form(
        context,
        click,
        read(
            context,
            lambda s, actor, now: (
                create_task_modal(
                    default_due=_default_due(s, actor, now), deal_id=deal_id, origin=click.origin()
                ),
                None,
            ),
        ),
        respond=respond,
    )


def open_follow_up(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        task, refusal = task_to_follow_up(s, actor, click.value, now=now)
        if task is None:
            return None, refusal
        view = create_task_modal(
            default_due=_default_due(s, actor, now), follow_up_of=task, origin=click.origin()
        )
        return view, None

    open_form(
        context,
        click,
        read(context, render),
        respond=respond,
    )


def no_follow_up(click: Click, context: BoltContext, respond: Respond) -> None:
    result = done(N_("OK, no follow-up task."), parse_id(click.value))
    show_in_place(context, click, result, respond=respond)


def follow_up_off(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: turn_off_follow_up_prompt(s, actor, now=now),
    )
    show_in_place(context, click, result, respond=respond)


# The task queue -----------------------------------------------------------------------


def start_queue(click: Click, context: BoltContext, respond: Respond) -> None:
    bucket = (click.value or "").strip()
    open_form(
        context,
        click,
        read(context, _queue_renderer(QueueState(bucket), None)),
        respond=respond,
    )


def _queue_bucket(name: str) -> TaskBucket | None:
    """The bucket a queue walks (None: all of them); ValueError for an unknown name."""
    return None if name == "all" else bucket_named(name)


@dataclass(frozen=True)
class QueueState:
    """Where a queue modal is: its bucket, and the tasks completed or skipped so far."""

    bucket: str
    done: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()


Renderer = Callable[[Session, User, datetime], tuple[Block | None, OpResult | None]]


def _queue_renderer(state: QueueState, notice: str | None) -> Renderer:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        try:
            bucket = _queue_bucket(state.bucket)
        except ValueError:
            return None, invalid(N_("That task list doesn't exist. Refresh the view."))
        queue = task_queue(s, actor, now=now, bucket=bucket)
        passed = set(state.done) | set(state.skipped)
        next_id = next_in_queue(queue, passed)
        done_here = [task_id for task_id in state.done if task_id not in queue]
        zone = user_zone(s, actor)
        view = task_queue_view(
            s.get(Activity, next_id) if next_id is not None else None,
            bucket=state.bucket,
            position=len(done_here) + sum(1 for t in queue if t in passed) + 1,
            total=len(done_here) + len(queue),
            done=list(state.done),
            skipped=list(state.skipped),
            zone=zone,
            today=now.astimezone(zone).date(),
            notice=notice,
        )
        return view, None

    return render


def _queue_state(click: Click) -> QueueState:
    meta = read_metadata(click.view)
    bucket = meta.get("bucket")

    def ids_of(key: str) -> tuple[int, ...]:
        raw = meta.get(key)
        values = raw if isinstance(raw, list) else []
        return tuple(v for v in (parse_id(item) for item in values) if v is not None)

    return QueueState(
        bucket=bucket if isinstance(bucket, str) else "",
        done=ids_of("done"),
        skipped=ids_of("skipped"),
    )


def _show_next(
    click: Click,
    context: BoltContext,
    respond: Respond,
    *,
    state: QueueState,
    result: OpResult | None,
) -> None:
    notice = result_sentence(result) if result is not None else None
    view, refusal = read(context, _queue_renderer(state, notice))
    if view is None:
        assert refusal is not None
        show_in_place(context, click, refusal, respond=respond)
        return
    view_id = click.view.get("id") or ""
    if result is None:
        acting(context).client.views_update(view_id=view_id, view=view)
        return
    # "Saving to HubSpot…" on the queue's line is updated once the write settles.
    update_view(
        context, view_id, view, result, lambda shown: [queue_notice(result_sentence(shown))]
    )


def complete_in_queue(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: complete_task(s, actor, click.value, now=now),
    )
    state = _queue_state(click)
    task_id = parse_id(click.value)
    if task_id is not None:
        if result.changed:
            state = replace(state, done=(*state.done, task_id))
        else:  # completed elsewhere, or not allowed: move past it
            state = replace(state, skipped=(*state.skipped, task_id))
    _show_next(click, context, respond, state=state, result=result)


def skip_in_queue(click: Click, context: BoltContext, respond: Respond) -> None:
    state = _queue_state(click)
    task_id = parse_id(click.value)
    if task_id is not None and task_id not in state.skipped:
        state = replace(state, skipped=(*state.skipped, task_id))
    _show_next(click, context, respond, state=state, result=None)


# Forms --------------------------------------------------------------------------------


def submit_edit(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    meta = form.metadata

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        fields = parse_task_form(form.state, user_zone(s, actor))
        problem = form_problem(fields)
        if problem is not None:
            return problem
        edit = TaskEdit(
            subject=fields.subject,
            due_at=fields.due_at,
            priority=fields.priority,
            notes=fields.notes,
            shown=shown_fingerprints(meta),
            notes_limit=NOTES_SHOWN,
        )
        return edit_task(s, actor, meta.get("id"), edit=edit, now=now)

    return submit_form(context, ack, form, operation, title=_("Edit task"), fields=TASK_FIELDS)


def submit_reassign(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    meta = form.metadata
    picked = parse_reassign(form.state)
    who = acting(context)
    # The picked Slack user's CRM user, found the way every request's acting user is.
    new_owner = who_is_asking(who.services, who.client, picked) if picked else None

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        if new_owner is None:
            return invalid(N_("That person isn't linked to a CRM user."), field="new_owner_id")
        return reassign_task(s, actor, meta.get("id"), new_owner_id=new_owner.user_id, now=now)

    return submit_form(
        context, ack, form, operation, title=_("Reassign task"), fields=REASSIGN_FIELDS
    )


def submit_picked_date(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    meta = form.metadata
    picked = parse_picked_date(form.state)

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        if picked is None:
            return invalid(N_("Pick a date."), field="to")
        return reschedule_task(s, actor, meta.get("id"), to=picked, now=now)

    return submit_form(
        context, ack, form, operation, title=_("Reschedule task"), fields=PICK_DATE_FIELDS
    )


def submit_create(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    meta = form.metadata

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        fields = parse_task_form(form.state, user_zone(s, actor))
        problem = form_problem(fields)
        if problem is not None or fields.due_at is None:
            return problem or invalid(N_("Pick a due date and time."), field="due_at")
        draft = TaskDraft(
            subject=fields.subject or "",
            due_at=fields.due_at,
            priority=fields.priority or "none",
            task_type=fields.task_type or "todo",
            notes=fields.notes,
            deal_id=meta.get("deal"),
        )
        if meta.get("follow_up_of") is not None:
            return create_follow_up_task(s, actor, meta.get("follow_up_of"), draft, now=now)
        return create_task(s, actor, draft, now=now)

    return submit_form(context, ack, form, operation, title=_("New task"), fields=TASK_FIELDS)
