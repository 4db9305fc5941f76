"""Deal Insights in Slack: ``/sales deal``, DM questions, thread follow-ups, Show more, feedback.

Listeners only translate: who asks (``acting(context)``), which deal (``insights.finder``,
among the deals they may see), the domain answer (``insights.service``), and blocks
(``handlers.render.insights``). Every click re-checks the clicking user: button values are
ids, never trusted. Model calls happen after the ack, never inside it.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from handlers import i18n
from handlers.i18n import N_, _
from handlers.render.insights import (
    FEEDBACK_INPUT_ACTION,
    FEEDBACK_INPUT_BLOCK,
    deal_choice_blocks,
    feedback_modal,
    follow_up_blocks,
    insight_blocks,
    insight_fallback_text,
    insight_modal,
    loading_modal,
    notice_modal,
    search_message,
)
from handlers.render.kit import escape, fallback_text
from handlers.slack import ids
from handlers.slack.context import Acting, acting
from handlers.slack.identity import unmapped_text
from handlers.slack.listeners import (
    Click,
    CommandRequest,
    DirectMessage,
    Form,
    on_click,
    on_submit,
)
from handlers.slack.services import Services
from insights.finder import find_deal
from insights.llm import InsightWriter, writer_for
from insights.questions import deal_question, names_a_deal_topic
from insights.service import (
    DealInsight,
    DealNotVisible,
    asked_deal_id,
    deal_of_thread,
    link_message,
    plan_insight,
    record_feedback,
    record_follow_up,
    record_insight,
    write_answer,
    write_sections,
)
from storage.db import unit_of_work
from storage.models import User

logger = logging.getLogger(__name__)

USAGE = N_("Which deal? Try `/sales deal acme` (part of the deal's name is enough).")
NOT_YOURS = N_("This answer was shown to someone else; ask for the deal yourself.")

DEAL_PICK_ACTION = re.compile(rf"^{re.escape(ids.DEAL_PICK)}(:\d+)?$")
FEEDBACK_ACTION = re.compile(rf"^{re.escape(ids.INSIGHTS_FEEDBACK)}(:\w+)?$")


def register(app: App) -> None:
    """The answer's buttons and the feedback form (``/sales deal`` is in
    ``commands.SUBCOMMANDS``, deal questions in ``direct_messages.DM_ANSWERERS``)."""
    app.action(DEAL_PICK_ACTION)(on_click(pick))
    app.action(ids.INSIGHTS_SHOW_MORE)(on_click(show_more))
    app.action(FEEDBACK_ACTION)(on_click(open_feedback))
    app.view(ids.VIEW_INSIGHTS_FEEDBACK)(on_submit(save_feedback))


@functools.lru_cache(maxsize=8)
def _cached_writer(
    api_key: str | None, model: str, base_url: str | None, timeout: float
) -> InsightWriter | None:
    return writer_for(api_key, model=model, base_url=base_url, timeout_seconds=timeout)


def insight_writer(services: Services) -> InsightWriter | None:
    """The configured model (one client per configuration), or None for the CRM view."""
    settings = services.settings
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return _cached_writer(
        key, settings.llm_model, settings.openai_base_url, settings.llm_timeout_seconds
    )


# /sales deal <name> --------------------------------------------------------------------


def deal_command(request: CommandRequest) -> None:
    """``/sales deal <name>``: the insights as an ephemeral answer, or choices."""
    query = request.args.strip()
    if not query:
        request.respond(text=fallback_text(_(USAGE)), response_type="ephemeral")
        return
    services = request.acting.services
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, request.asker.user_id)
        if viewer is None:
            request.respond(text=fallback_text(unmapped_text(request.asker.slack_user_id)))
            return
        search = find_deal(session, viewer=viewer, query=query)
    if search.deal is None:
        blocks = deal_choice_blocks(search)
        request.respond(
            text=fallback_text(escape(search_message(search))),
            blocks=blocks,
            response_type="ephemeral",
        )
        return
    insight = _insight(
        services, viewer_id=request.asker.user_id, deal_id=search.deal.id, source="slash_command"
    )
    _respond_with(request.respond, insight)


def _insight(
    services: Services, *, viewer_id: int, deal_id: int, source: str
) -> DealInsight | None:
    """The insights in three phases, so no transaction stays open while the model answers."""
    writer = insight_writer(services)
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, viewer_id)
        if viewer is None:
            return None
        try:
            plan = plan_insight(
                session,
                deal_id=deal_id,
                viewer=viewer,
                now=services.clock(),
                writer=writer,
                language=i18n.current().code,  # the reader's: in_their_language set it
            )
        except DealNotVisible:
            return None
    outcome = write_sections(plan, writer)
    with unit_of_work(services.sessions) as session:
        return record_insight(session, plan, outcome, source=source)


def _respond_with(respond: Respond, insight: DealInsight | None, **extra: Any) -> None:
    if insight is None:
        respond(
            text=fallback_text(_("No deal you can see matches that.")),
            response_type="ephemeral",
            **extra,
        )
        return
    respond(
        text=fallback_text(insight_fallback_text(insight)),
        blocks=insight_blocks(insight),
        response_type="ephemeral",
        **extra,
    )


# DMs: "how is the Acme deal?" and follow-ups in the answer's thread ---------------------


def answer_deal_question(message: DirectMessage) -> bool:
    """Answer a deal question or a follow-up in a DM; False when it is neither."""
    thread_ts = message.thread_ts
    if thread_ts and thread_ts != message.ts and _answer_follow_up(message, thread_ts):
        return True
    query = deal_question(message.text)
    if query is None:
        return False
    services = message.acting.services
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, message.asker.user_id)
        if viewer is None:
            return False
        search = find_deal(session, viewer=viewer, query=query)
        if search.not_found and not names_a_deal_topic(message.text):
            return False
    if search.deal is None:
        message.acting.client.chat_postMessage(
            channel=message.channel_id,
            text=fallback_text(escape(search_message(search))),
            blocks=deal_choice_blocks(search),
        )
        return True
    insight = _insight(
        services, viewer_id=message.asker.user_id, deal_id=search.deal.id, source="dm"
    )
    _post_insight(services, message.acting.client, message.channel_id, insight)
    return True


def _post_insight(
    services: Services, client: WebClient, channel_id: str, insight: DealInsight | None
) -> None:
    if insight is None:
        client.chat_postMessage(
            channel=channel_id, text=fallback_text(_("No deal you can see matches that."))
        )
        return
    posted = client.chat_postMessage(
        channel=channel_id,
        text=fallback_text(insight_fallback_text(insight)),
        blocks=insight_blocks(insight),
    )
    ts = posted.get("ts")
    if insight.request_id is not None and isinstance(ts, str):
        # Replies in this message's thread are follow-ups about the same deal.
        with unit_of_work(services.sessions) as session:
            link_message(session, request_id=insight.request_id, channel_id=channel_id, ts=ts)


def _answer_follow_up(message: DirectMessage, thread_ts: str) -> bool:
    services = message.acting.services
    writer = insight_writer(services)
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, message.asker.user_id)
        if viewer is None:
            return False
        deal_id = deal_of_thread(
            session, viewer=viewer, channel_id=message.channel_id, thread_ts=thread_ts
        )
        if deal_id is None:
            return False
        try:
            plan = plan_insight(
                session,
                deal_id=deal_id,
                viewer=viewer,
                now=services.clock(),
                writer=writer,
                use_cache=False,
                language=i18n.current().code,
            )
        except DealNotVisible:
            plan = None
    if plan is None:
        # Visibility changed since the first answer: say nothing about the deal.
        message.acting.client.chat_postMessage(
            channel=message.channel_id,
            thread_ts=thread_ts,
            text=fallback_text(_("You can no longer see this deal.")),
        )
        return True
    outcome = write_answer(plan, message.text, writer)
    with unit_of_work(services.sessions) as session:
        answer = record_follow_up(session, plan, outcome, question=message.text, source="thread")
    message.acting.client.chat_postMessage(
        channel=message.channel_id,
        thread_ts=thread_ts,
        text=fallback_text(_("About {deal}").format(deal=answer.deal.name)),
        blocks=follow_up_blocks(answer),
    )
    return True


# Buttons ------------------------------------------------------------------------------


def pick(click: Click, context: BoltContext, respond: Respond) -> None:
    """One of several matching deals was picked: answer about it where the choice was."""
    who = acting(context)
    value = click.value or ""
    if not value.isdigit():
        logger.warning("refused a deal pick with value %r from %s", value[:40], click.user_id)
        respond(
            text=fallback_text(_("That button was garbled; please ask again.")),
            response_type="ephemeral",
        )
        return
    asker = who.asker()
    if asker is None:
        respond(text=fallback_text(unmapped_text(click.user_id)), response_type="ephemeral")
        return
    # A pick in the bot's DM is answered there; one under a /sales answer replaces it.
    channel_id = click.channel_id if not click.is_ephemeral else None
    source = "dm" if channel_id else "slash_command"
    insight = _insight(who.services, viewer_id=asker.user_id, deal_id=int(value), source=source)
    if channel_id:
        _post_insight(who.services, who.client, channel_id, insight)
    else:
        _respond_with(respond, insight, replace_original=True)


def _own_request(who: Acting, request_id: int) -> tuple[int, int] | str:
    """(user id, deal id) of an answer the clicking user was shown, or why not."""
    asker = who.asker()
    if asker is None:
        return unmapped_text(who.slack_user_id)
    with unit_of_work(who.services.sessions) as session:
        deal_id = asked_deal_id(session, request_id=request_id, user_id=asker.user_id)
    return _(NOT_YOURS) if deal_id is None else (asker.user_id, deal_id)


def show_more(click: Click, context: BoltContext, respond: Respond) -> None:
    """The full answer in a modal."""
    who = acting(context)
    value = click.value or ""
    # The trigger expires in about 3 s: open the modal first, fill it in afterwards.
    opened = who.client.views_open(trigger_id=click.trigger_id or "", view=loading_modal())
    view_id = (opened.get("view") or {}).get("id")
    if not value.isdigit():
        logger.warning("refused Show more with value %r from %s", value[:40], click.user_id)
        who.client.views_update(view_id=view_id, view=notice_modal(_("That button was garbled.")))
        return
    owned = _own_request(who, int(value))
    if isinstance(owned, str):
        who.client.views_update(view_id=view_id, view=notice_modal(owned))
        return
    user_id, deal_id = owned
    insight = _insight(who.services, viewer_id=user_id, deal_id=deal_id, source="show_more")
    if insight is None:
        who.client.views_update(
            view_id=view_id, view=notice_modal(_("You can no longer see this deal."))
        )
        return
    who.client.views_update(view_id=view_id, view=insight_modal(insight))


def open_feedback(click: Click, context: BoltContext, respond: Respond) -> None:
    """Helpful / not helpful: a modal for an optional comment."""
    value = click.value or ""
    request_part, _sep, verdict = value.partition(":")
    if not request_part.isdigit() or verdict not in {"helpful", "not_helpful"}:
        logger.warning("refused feedback value %r from %s", value[:40], click.user_id)
        return
    acting(context).client.views_open(
        trigger_id=click.trigger_id or "",
        view=feedback_modal(request_id=int(request_part), helpful=verdict == "helpful"),
    )


def save_feedback(form: Form, ack: Ack, context: BoltContext) -> None:
    """Record the feedback; a garbled or foreign form gets an error under the comment."""
    who = acting(context)
    request_part, _sep, verdict = str(form.view.get("private_metadata") or "").partition(":")
    values = form.state.get("values") or {}
    field = (values.get(FEEDBACK_INPUT_BLOCK) or {}).get(FEEDBACK_INPUT_ACTION) or {}
    comment = field.get("value")
    if (
        not request_part.isdigit()
        or verdict not in {"helpful", "not_helpful"}
        or not (comment is None or isinstance(comment, str))
    ):
        logger.warning("refused a feedback submission from %s", form.user_id)
        ack(response_action="errors", errors={FEEDBACK_INPUT_BLOCK: _("This form was garbled.")})
        return
    asker = who.asker()
    if asker is None:
        ack(
            response_action="errors",
            errors={FEEDBACK_INPUT_BLOCK: _("Your account is not linked.")},
        )
        return
    with unit_of_work(who.services.sessions) as session:
        user = session.get(User, asker.user_id)
        try:
            if user is None:
                raise PermissionError("no user")
            record_feedback(
                session,
                request_id=int(request_part),
                user=user,
                helpful=verdict == "helpful",
                comment=comment,
                now=who.services.clock(),
            )
        except PermissionError:
            ack(response_action="errors", errors={FEEDBACK_INPUT_BLOCK: _(NOT_YOURS)})
            return
    ack()
