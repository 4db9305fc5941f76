""" "Add note": the button opens a modal, the modal writes the note."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, BoltContext, Respond
from sqlalchemy.orm import Session

from handlers.render.kit import Block
from handlers.render.note_modals import NOTE_FIELDS, note_modal, parse_note
from handlers.slack import ids
from handlers.slack.listeners import (
    Click,
    FollowUp,
    Form,
    on_click,
    on_submit,
    open_form,
    read,
    submit_form,
)
from rules.activity_log.ops import add_note, note_target
from rules.op_result import OpResult, parse_id
from storage.models import User


def register(app: App) -> None:
    """The "Add note" button and its modal."""
    app.action(ids.NOTE_ADD)(on_click(open_note))
    app.view(ids.VIEW_NOTE_ADD)(on_submit(submit_note))


def open_note(click: Click, context: BoltContext, respond: Respond) -> None:
    on, _, raw_id = (click.value or "").partition(":")

    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        name, refusal = note_target(s, actor, on=on, record_id=raw_id)
        record_id = parse_id(raw_id)
        if name is None or record_id is None:
            return None, refusal
        return note_modal(on, record_id, name, origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def submit_note(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    on, record_id = form.metadata.get("on"), form.metadata.get("id")
    body = parse_note(form.state)
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: add_note(s, actor, on=on, record_id=record_id, body=body, now=now),
        title="Add note",
        fields=NOTE_FIELDS,
    )
