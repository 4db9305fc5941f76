"""Events: the Home tab opening, and direct messages to the bot.

Slack retries an event it believes was not acknowledged; each ``event_id`` is applied once
(``storage.receipts.claim_once``), which also holds across replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers.home import TICKET, publish_home, publish_tickets, take_home_ticket
from handlers.identity import Asker, unmapped_text, who_is_asking
from handlers.navigation import ViewState
from handlers.render.help import help_blocks, help_text
from handlers.safely import after_ack
from handlers.services import Services
from storage.db import unit_of_work
from storage.health import database_health, describe, is_outage
from storage.receipts import claim_once

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectMessage:
    """A message someone sent the bot in its DM."""

    services: Services
    client: WebClient
    asker: Asker
    channel_id: str
    text: str
    ts: str
    # Set when the message is a reply in a thread (Deal Insights' follow-ups).
    thread_ts: str | None = None


# Each answerer returns True when it answered. The Deal Insights surface appends one that
# answers deal questions; when none answers, the sender gets the help.
DmAnswerer = Callable[[DirectMessage], bool]
DM_ANSWERERS: list[DmAnswerer] = []


def register(app: App, services: Services) -> None:
    """``app_home_opened`` and ``message`` (DMs only)."""

    def reserve_publish(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        # The event is claimed here, in the ack, before a ticket is taken: a retry that
        # arrives while the original is still working must neither take the Home tab's
        # ticket from it (the original would then skip its publish as outdated) nor work.
        try:
            first = claim_delivery(services, body, context)
        except SQLAlchemyError as error:
            if not is_outage(error) or event.get("tab") != "home":
                raise
            # Acknowledged all the same: the tab is published once the database is back.
            context[FIRST_DELIVERY] = False
            database_health(services.sessions).failed(error)
            publish_tickets(services).failed_in_outage(
                str(event.get("user", "")), ViewState.from_view(event.get("view"))
            )
            logger.warning("Home tab not published: database unavailable (%s)", describe(error))
            return
        if first:
            take_home_ticket(services, body, context)

    def home_opened(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        if event.get("tab") != "home" or not context.get(FIRST_DELIVERY):
            return
        state = ViewState.from_view(event.get("view"))
        publish_home(
            services,
            client,
            slack_user_id=event.get("user", ""),
            state=state,
            ticket=context.get(TICKET),
            refresh_actions=True,
        )

    def reserve_answer(body: dict[str, Any], context: BoltContext) -> None:
        if _is_person_in_dm(body.get("event") or {}):
            claim_delivery(services, body, context)

    def direct_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not _is_person_in_dm(event) or not context.get(FIRST_DELIVERY):
            return
        _answer_dm(services, client, event)

    app.event("app_home_opened")(ack=reserve_publish, lazy=[after_ack(home_opened)])
    app.event("message")(ack=reserve_answer, lazy=[after_ack(direct_message)])


FIRST_DELIVERY = "salesbot_first_delivery"


def claim_delivery(services: Services, body: dict[str, Any], context: BoltContext) -> bool:
    """In an ack: claim the event, and note in ``context`` whether this is its first delivery."""
    first = first_delivery(services, body)
    context[FIRST_DELIVERY] = first
    return first


def first_delivery(services: Services, body: dict[str, Any]) -> bool:
    """Claim the event's ``event_id``; False when it was already applied (a retry)."""
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return True  # nothing to de-duplicate on; Slack always sends one
    with unit_of_work(services.sessions) as session:
        return claim_once(session, f"event:{event_id}"[:255], now=services.clock())


def _is_person_in_dm(event: dict[str, Any]) -> bool:
    # Our own replies come back as events too: answering them would loop forever.
    return (
        event.get("channel_type") == "im"
        and not event.get("bot_id")
        and not event.get("subtype")
        and bool(event.get("user"))
    )


def _answer_dm(services: Services, client: WebClient, event: dict[str, Any]) -> None:
    channel = event.get("channel", "")
    asker = who_is_asking(services, client, event.get("user", ""))
    if asker is None:
        client.chat_postMessage(channel=channel, text=unmapped_text(event.get("user", "")))
        return
    message = DirectMessage(
        services=services,
        client=client,
        asker=asker,
        channel_id=channel,
        text=str(event.get("text") or ""),
        ts=str(event.get("ts") or ""),
        thread_ts=str(event["thread_ts"]) if event.get("thread_ts") else None,
    )
    for answer in DM_ANSWERERS:
        if answer(message):
            return
    client.chat_postMessage(
        channel=channel,
        text=help_text("Here is what I can do:"),
        blocks=help_blocks("Here is what I can do:"),
    )
