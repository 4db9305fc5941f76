"""Deal buttons and forms: update stage / close date / next step, and create a deal."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, BoltContext, Respond
from sqlalchemy.orm import Session

from handlers.i18n import _
from handlers.render.deal_modals import (
    DEAL_FIELDS,
    deal_create_modal,
    deal_update_modal,
    parse_deal_form,
)
from handlers.render.kit import Block
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
from rules.deals.ops import (
    DealChange,
    DealDraft,
    all_deal_stages,
    create_deal,
    deal_stages,
    load_deal_for,
    update_deal,
)
from rules.op_result import OpResult
from storage.models import User


def register(app: App) -> None:
    """The deal buttons and their modals."""
    app.action(ids.DEAL_UPDATE)(on_click(open_update))
    app.action(ids.DEAL_CREATE)(on_click(open_create))
    app.view(ids.VIEW_DEAL_UPDATE)(on_submit(submit_update))
    app.view(ids.VIEW_DEAL_CREATE)(on_submit(submit_create))


def open_update(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        deal, refusal = load_deal_for(s, actor, click.value)
        if deal is None:
            return None, refusal
        return deal_update_modal(deal, deal_stages(s, deal), origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def open_create(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        return deal_create_modal(all_deal_stages(s), origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def submit_update(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    deal_id = form.metadata.get("id")
    fields = parse_deal_form(form.state)
    change = DealChange(
        stage_id=fields.stage_id, close_date=fields.close_date, next_step=fields.next_step
    )
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: update_deal(s, actor, deal_id, change=change, now=now),
        title=_("Update deal"),
        fields=DEAL_FIELDS,
    )


def submit_create(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    fields = parse_deal_form(form.state)
    draft = DealDraft(
        name=fields.name or "",
        stage_id=fields.stage_id,
        amount=fields.amount,
        close_date=fields.close_date,
    )
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: create_deal(s, actor, draft, now=now),
        title=_("New deal"),
        fields=DEAL_FIELDS,
    )
