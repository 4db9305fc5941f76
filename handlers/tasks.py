"""Task buttons and forms: complete (+ follow-up prompt), reschedule, reassign, edit, delete,
create, and the task queue. Each listener parses, calls ``rules.task_ops``, renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from handlers import ids
from handlers.identity import who_is_asking
from handlers.interaction import (
    Click,
    FollowUp,
    on_click,
    on_submit,
    open_modal,
    read,
    show_in_place,
    submit_form,
    write,
)
from handlers.render.blocks import Block
from handlers.render.results import follow_up_prompt
from handlers.render.task_modals import (
    create_task_modal,
    date_field,
    edit_task_modal,
    error_field_for,
    form_errors,
    owner_field,
    parse_picked_date,
    parse_reassign,
    parse_task_form,
    pick_date_modal,
    read_metadata,
    reassign_modal,
    task_queue_view,
)
from handlers.services import Services
from rules.clock import local_to_utc, user_zone
from rules.op_result import OpResult, done, invalid, parse_id
from rules.task_ops import (
    TaskDraft,
    TaskEdit,
    complete_task,
    create_follow_up_task,
    create_task,
    delete_task,
    edit_task,
    reassign_task,
    reschedule_task,
    task_for_change,
    task_to_follow_up,
    turn_off_follow_up_prompt,
)
from rules.tasks import TaskBucket, bucket_named, next_in_queue, task_queue
from storage.models import Activity, User

# New tasks are due the next day at this local time unless the user picks another.
DEFAULT_NEW_TASK_TIME = time(9, 0)


def register(app: App, services: Services) -> None:
    """Wire every task button and form."""
    pool = app.listener_runner.listener_executor
    app.action(ids.TASK_COMPLETE)(**on_click(services, complete))
    app.action(ids.TASK_RESCHEDULE)(**on_click(services, reschedule))
    app.action(ids.TASK_EDIT)(**on_click(services, open_edit))
    app.action(ids.TASK_REASSIGN)(**on_click(services, open_reassign))
    app.action(ids.TASK_DELETE)(**on_click(services, delete))
    app.action(ids.TASK_CREATE)(**on_click(services, open_create))
    app.action(ids.TASK_QUEUE_START)(**on_click(services, start_queue))
    app.action(ids.TASK_QUEUE_COMPLETE)(**on_click(services, complete_in_queue))
    app.action(ids.TASK_QUEUE_NEXT)(**on_click(services, skip_in_queue))
    app.action(ids.FOLLOW_UP_CREATE)(**on_click(services, open_follow_up))
    app.action(ids.FOLLOW_UP_NOT_NOW)(**on_click(services, no_follow_up))
    app.action(ids.FOLLOW_UP_SETTINGS)(**on_click(services, follow_up_off))
    app.view(ids.VIEW_TASK_EDIT)(on_submit(services, submit_edit, pool))
    app.view(ids.VIEW_TASK_REASSIGN)(on_submit(services, submit_reassign, pool))
    app.view(ids.VIEW_TASK_RESCHEDULE)(on_submit(services, submit_picked_date, pool))
    app.view(ids.VIEW_TASK_CREATE)(on_submit(services, submit_create, pool))


# Buttons ------------------------------------------------------------------------------


def complete(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: complete_task(s, actor, click.value, now=now),
    )
    show_in_place(
        services,
        click,
        result,
        client=client,
        respond=respond,
        replacement=_after_completion(click, result),
    )


def _after_completion(click: Click, result: OpResult) -> list[Block] | None:
    if not (result.changed and result.follow_up_prompt and result.record_id):
        return None
    block_id = click.block_id or f"task:{result.record_id}"
    return follow_up_prompt(result.record_id, result.message, block_id=block_id)


def reschedule(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    task_id, _, choice = (click.value or "").partition(":")
    if choice == "pick":
        open_modal(
            services,
            click,
            read(
                services,
                client,
                click.user_id,
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
            client=client,
            respond=respond,
        )
        return
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: reschedule_task(s, actor, task_id, to=choice, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


def _render_if_open(
    session: Session,
    actor: User,
    task_id: object,
    now: datetime,
    render: Callable[[Activity], Block],
) -> tuple[Block | None, OpResult | None]:
    task, refusal = task_for_change(session, actor, task_id, now=now)
    return (render(task), None) if task is not None else (None, refusal)


def open_edit(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    open_modal(
        services,
        click,
        read(
            services,
            client,
            click.user_id,
            lambda s, actor, now: _render_if_open(
                s,
                actor,
                click.value,
                now,
                lambda task: edit_task_modal(task, user_zone(s, actor), origin=click.origin()),
            ),
        ),
        client=client,
        respond=respond,
    )


def open_reassign(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    open_modal(
        services,
        click,
        read(
            services,
            client,
            click.user_id,
            lambda s, actor, now: _render_if_open(
                s, actor, click.value, now, lambda task: reassign_modal(task, origin=click.origin())
            ),
        ),
        client=client,
        respond=respond,
    )


def delete(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: delete_task(s, actor, click.value, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


def _default_due(session: Session, actor: User, now: datetime) -> datetime:
    zone = user_zone(session, actor)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    # The form shows it on the user's wall clock.
    return local_to_utc(tomorrow, DEFAULT_NEW_TASK_TIME, zone).astimezone(zone)


def open_create(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    deal_id = parse_id(click.value)  # a "New task" button on a deal carries the deal's id
    open_modal(
        services,
        click,
        read(
            services,
            client,
            click.user_id,
            lambda s, actor, now: (
                create_task_modal(
                    default_due=_default_due(s, actor, now), deal_id=deal_id, origin=click.origin()
                ),
                None,
            ),
        ),
        client=client,
        respond=respond,
    )


def open_follow_up(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        task, refusal = task_to_follow_up(s, actor, click.value, now=now)
        if task is None:
            return None, refusal
        view = create_task_modal(
            default_due=_default_due(s, actor, now), follow_up_of=task, origin=click.origin()
        )
        return view, None

    open_modal(
        services,
        click,
        read(services, client, click.user_id, render),
        client=client,
        respond=respond,
    )


def no_follow_up(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = done("OK, no follow-up task.", parse_id(click.value))
    show_in_place(services, click, result, client=client, respond=respond)


def follow_up_off(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: turn_off_follow_up_prompt(s, actor, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


# The task queue -----------------------------------------------------------------------


def start_queue(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    bucket = (click.value or "").strip()
    open_modal(
        services,
        click,
        read(services, client, click.user_id, _queue_renderer(QueueState(bucket), None)),
        client=client,
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
            return None, invalid("That task list doesn't exist. Refresh the view.")
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
    services: Services,
    click: Click,
    client: WebClient,
    respond: Respond,
    *,
    state: QueueState,
    notice: str | None,
) -> None:
    view, refusal = read(services, client, click.user_id, _queue_renderer(state, notice))
    if view is None:
        assert refusal is not None
        show_in_place(services, click, refusal, client=client, respond=respond)
        return
    client.views_update(view_id=click.view.get("id") or "", view=view)


def complete_in_queue(
    services: Services, click: Click, client: WebClient, respond: Respond
) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: complete_task(s, actor, click.value, now=now),
    )
    state = _queue_state(click)
    task_id = parse_id(click.value)
    if task_id is not None:
        if result.changed:
            state = replace(state, done=(*state.done, task_id))
        else:  # completed elsewhere, or not allowed: move past it
            state = replace(state, skipped=(*state.skipped, task_id))
    _show_next(services, click, client, respond, state=state, notice=result.message)


def skip_in_queue(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    state = _queue_state(click)
    task_id = parse_id(click.value)
    if task_id is not None and task_id not in state.skipped:
        state = replace(state, skipped=(*state.skipped, task_id))
    _show_next(services, click, client, respond, state=state, notice=None)


# Forms --------------------------------------------------------------------------------


def submit_edit(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        form = parse_task_form(view.get("state") or {}, user_zone(s, actor))
        errors = form_errors(form)
        if errors:
            return invalid(next(iter(errors.values())))
        edit = TaskEdit(
            subject=form.subject, due_at=form.due_at, priority=form.priority, notes=form.notes
        )
        return edit_task(s, actor, meta.get("id"), edit=edit, now=now)

    return submit_form(
        services,
        ack,
        body,
        client,
        operation,
        title="Edit task",
        error_field=error_field_for,
    )


def submit_reassign(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)
    picked = parse_reassign(view.get("state") or {})
    # The picked Slack user's CRM user, found the way every request's asker is.
    new_owner = who_is_asking(services, client, picked) if picked else None

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        if new_owner is None:
            return invalid("That person isn't linked to a CRM user.")
        return reassign_task(s, actor, meta.get("id"), new_owner_id=new_owner.user_id, now=now)

    return submit_form(
        services,
        ack,
        body,
        client,
        operation,
        title="Reassign task",
        error_field=lambda _message: owner_field(),
    )


def submit_picked_date(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)
    picked = parse_picked_date(view.get("state") or {})

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        if picked is None:
            return invalid("Pick a date.")
        return reschedule_task(s, actor, meta.get("id"), to=picked, now=now)

    return submit_form(
        services,
        ack,
        body,
        client,
        operation,
        title="Reschedule task",
        error_field=lambda _message: date_field(),
    )


def submit_create(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)

    def operation(s: Session, actor: User, now: datetime) -> OpResult:
        form = parse_task_form(view.get("state") or {}, user_zone(s, actor))
        errors = form_errors(form)
        if errors or form.due_at is None:
            return invalid(next(iter(errors.values()), "Pick a due date and time."))
        draft = TaskDraft(
            subject=form.subject or "",
            due_at=form.due_at,
            priority=form.priority or "none",
            task_type=form.task_type or "todo",
            notes=form.notes,
            deal_id=meta.get("deal"),
        )
        if meta.get("follow_up_of") is not None:
            return create_follow_up_task(s, actor, meta.get("follow_up_of"), draft, now=now)
        return create_task(s, actor, draft, now=now)

    return submit_form(
        services,
        ack,
        body,
        client,
        operation,
        title="New task",
        error_field=error_field_for,
    )
