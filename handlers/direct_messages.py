"""Direct messages to the bot: each answerer in ``DM_ANSWERERS`` gets a try, else the help."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext

from handlers import insights
from handlers.i18n import _
from handlers.render.help import help_blocks, help_text
from handlers.render.kit import fallback_text
from handlers.slack.context import acting
from handlers.slack.identity import unmapped_text
from handlers.slack.listeners import DirectMessage, on_event

# Each answerer returns True when it answered; they are asked in this order.
DmAnswerer = Callable[[DirectMessage], bool]
DM_ANSWERERS: tuple[DmAnswerer, ...] = (
    insights.answer_deal_question,  # "how is the Acme deal?", and follow-ups in its thread
)


def register(app: App) -> None:
    """``message`` events (only people's messages in the bot's DM are answered)."""
    app.event("message")(on_event(direct_message))


def direct_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
    who = acting(context)
    if not _is_person_in_dm(event):
        return
    channel = str(event.get("channel") or "")
    asker = who.asker()
    if asker is None:
        who.client.chat_postMessage(
            channel=channel, text=fallback_text(unmapped_text(who.slack_user_id))
        )
        return
    message = DirectMessage(
        acting=who,
        asker=asker,
        channel_id=channel,
        text=str(event.get("text") or ""),
        ts=str(event.get("ts") or ""),
        thread_ts=str(event["thread_ts"]) if event.get("thread_ts") else None,
    )
    for answer in DM_ANSWERERS:
        if answer(message):
            return
    intro = _("Here is what I can do:")
    who.client.chat_postMessage(
        channel=channel, text=fallback_text(help_text(intro)), blocks=help_blocks(intro)
    )


def _is_person_in_dm(event: dict[str, Any]) -> bool:
    # Our own replies come back as events too: answering them would loop forever.
    return (
        event.get("channel_type") == "im"
        and not event.get("bot_id")
        and not event.get("subtype")
        and bool(event.get("user"))
    )
