"""Guided-action buttons: the check mark on an item, done, dismiss, feedback, and the queue
that walks through an action's items one at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from slack_bolt import App, BoltContext, Respond
from sqlalchemy.orm import Session

from handlers.i18n import _
from handlers.render.action_queue import action_queue_view
from handlers.render.kit import Block
from handlers.render.results import add_line_after, result_line, result_modal, result_sentence
from handlers.slack import ids
from handlers.slack.context import acting
from handlers.slack.listeners import Click, on_click, open_form, read, show_in_place, write
from handlers.slack.metadata import read_metadata
from rules.guided_actions.ops import (
    action_for_queue,
    complete_action_item,
    complete_guided_action,
    dismiss_guided_action,
    give_feedback,
)
from rules.op_result import OpResult, parse_id
from storage.models import User


def register(app: App) -> None:
    """The guided-action buttons (on the Home tab, in digests, and in the item queue)."""
    app.action(ids.ACTION_ITEM_DONE)(on_click(item_done))
    app.action(ids.ACTION_DONE)(on_click(action_done))
    app.action(ids.ACTION_DISMISS)(on_click(dismiss))
    app.action(ids.ACTION_FEEDBACK)(on_click(feedback))
    app.action(ids.ACTION_QUEUE_START)(on_click(start_queue))
    app.action(ids.ACTION_QUEUE_NEXT)(on_click(skip_in_queue))


def item_done(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: complete_action_item(s, actor, click.value, now=now),
    )
    if click.view.get("callback_id") == ids.VIEW_ACTION_QUEUE:
        state = _queue_state(click)
        item_id = parse_id((click.value or "").partition(":")[2])
        if item_id is not None:
            if result.changed:
                state = replace(state, done=(*state.done, item_id))
            else:  # done elsewhere, or not allowed: move past it
                state = replace(state, skipped=(*state.skipped, item_id))
        _show_queue(click, context, respond, state=state, note=result_sentence(result))
        return
    show_in_place(context, click, result, respond=respond)


def action_done(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: complete_guided_action(s, actor, click.value, now=now),
    )
    show_in_place(context, click, result, respond=respond)


def dismiss(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: dismiss_guided_action(s, actor, click.value, now=now),
    )
    show_in_place(context, click, result, respond=respond)


def feedback(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(
        context,
        lambda s, actor, now: give_feedback(s, actor, click.value, now=now),
    )
    # Feedback leaves the suggestion (and its buttons) in place: the thanks goes under it.
    block_id = click.block_id or ""
    line = result_line(result, block_id=f"{block_id}:feedback"[:255])
    if click.container == "message" and not result.refused:
        blocks = add_line_after(click.message_blocks, block_id, line)
        # The line is now in the message: "replacing" it with itself keeps the rest as is.
        show_in_place(
            context,
            replace(click, message_blocks=blocks, block_id=line["block_id"]),
            result,
            respond=respond,
            replacement=lambda _shown: [line],
        )
        return
    show_in_place(context, click, result, respond=respond)


# The queue of an action's items ------------------------------------------------------------


@dataclass(frozen=True)
class QueueState:
    action_id: int | None
    done: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()


def _queue_state(click: Click) -> QueueState:
    meta = read_metadata(click.view)

    def ids_of(key: str) -> tuple[int, ...]:
        raw = meta.get(key)
        values = raw if isinstance(raw, list) else []
        return tuple(v for v in (parse_id(item) for item in values) if v is not None)

    return QueueState(parse_id(meta.get("action")), ids_of("done"), ids_of("skipped"))


Renderer = Callable[[Session, User, datetime], tuple[Block | None, OpResult | None]]


def _renderer(state: QueueState, note: str | None) -> Renderer:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        action, refusal = action_for_queue(s, actor, state.action_id, now=now)
        if action is None and state.action_id is not None and (state.done or state.skipped):
            # The last item was just done: the action closed; say so in the queue.
            view = action_queue_view(
                None,
                action_id=state.action_id,
                done=list(state.done),
                skipped=list(state.skipped),
                note=note,
            )
            return view, None
        if action is None:
            return None, refusal
        view = action_queue_view(
            action,
            action_id=action.id,
            done=list(state.done),
            skipped=list(state.skipped),
            note=note,
        )
        return view, None

    return render


def start_queue(click: Click, context: BoltContext, respond: Respond) -> None:
    state = QueueState(parse_id(click.value))
    rendered = read(context, _renderer(state, None))
    open_form(context, click, rendered, respond=respond)


def skip_in_queue(click: Click, context: BoltContext, respond: Respond) -> None:
    state = _queue_state(click)
    item_id = parse_id(click.value)
    if item_id is not None and item_id not in state.skipped:
        state = replace(state, skipped=(*state.skipped, item_id))
    _show_queue(click, context, respond, state=state, note=None)


def _show_queue(
    click: Click,
    context: BoltContext,
    respond: Respond,
    *,
    state: QueueState,
    note: str | None,
) -> None:
    view, refusal = read(context, _renderer(state, note))
    if view is None:
        assert refusal is not None
        view = result_modal(_("Suggestion"), refusal)
    acting(context).client.views_update(view_id=click.view.get("id") or "", view=view)
