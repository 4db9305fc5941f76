"""Updating a click's "Saving to HubSpot…" answer once its write settled in the CRM.

``handlers.slack.listeners.show_in_place`` leaves on the click's outbox rows where its
answer is (``storage.outbox.await_reply``); the outbox worker calls ``answer_late`` when
those rows are sent, refused or in conflict. A bot message is updated with
``chat.update`` (it has no time limit); an ephemeral one, which ``chat.update`` cannot
reach, through its ``response_url`` (valid for 30 minutes: later, the Home tab and the
direct message about a failure still tell); a modal (a form's result, the task queue)
with ``views.update``, while it is open and still shows that answer. A form's line under
the message it came from is ephemeral, which nothing can edit: the answer comes as a new
line under it. The Home tab is re-published by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from handlers.i18n import use_language
from handlers.i18n.users import speaking_to
from handlers.render.crm_writes import late_answer_blocks, progress_text
from handlers.render.kit import Block, escape, fallback_text
from handlers.slack.services import Services
from rules.crm_writes.queries import Progress, write_progress
from storage.outbox import DueReply

logger = logging.getLogger(__name__)


def answer_late(
    services: Services, client: WebClient, due: DueReply, *, default_language: str
) -> bool:
    """Update the answers ``due`` names; False when there was nothing to update."""
    reply = due.reply
    # One click, one place; a form tells its result modal and the message it came from.
    places = [p for p in reply.get("places", [reply]) if isinstance(p, dict)]
    with services.sessions() as session:
        progress = write_progress(session, due.row_ids)
        if progress is None or progress.state is Progress.SAVING:
            return False
        with _speaking(session, due.actor_id, default_language):
            sentence = str(reply.get("sentence") or "")
            text = fallback_text(f"{escape(sentence)} {progress_text(progress)}")
            regions = [
                late_answer_blocks(sentence, _blocks(p.get("saved")), progress) for p in places
            ]
    answered = False
    for place, region in zip(places, regions, strict=True):
        answered = _answer(client, place, region, text) or answered
    return answered


def _answer(client: WebClient, place: dict[str, Any], region: list[Block], text: str) -> bool:
    kind = place.get("kind")
    if kind == "view":
        shape = place.get("view")
        view = {**(shape if isinstance(shape, dict) else {}), "blocks": _swapped(place, region)}
        try:
            client.views_update(
                view_id=str(place.get("view_id")),
                hash=place.get("hash"),  # another view by now: Slack refuses (hash_conflict)
                view=view,
            )
        except SlackApiError as error:
            # Closed (not_found) or moved on (hash_conflict): nothing there to correct; the
            # Home tab and the direct message about a failure still tell.
            logger.info("a late answer could not reach its modal (%s)", error.response.get("error"))
            return False
    elif kind == "update":
        client.chat_update(
            channel=str(place.get("channel")),
            ts=str(place.get("ts")),
            text=text,
            blocks=_swapped(place, region),
        )
    elif kind == "replace":
        _send(place, {"text": text, "blocks": _swapped(place, region), "replace_original": True})
    elif kind == "add":
        _send(
            place,
            {
                "text": text,
                "blocks": region,
                "response_type": "ephemeral",
                "replace_original": False,
            },
        )
    else:
        return False  # the Home tab: re-published by the worker
    return True


@contextmanager
def _speaking(session: Any, user_id: int | None, default: str) -> Iterator[None]:
    if user_id is None:
        with use_language(default):
            yield
        return
    with speaking_to(session, user_id=user_id, default=default):
        yield


def _blocks(value: object) -> list[Block]:
    if not isinstance(value, list):
        return []
    return [b for b in value if isinstance(b, dict)]


def _swapped(reply: dict[str, Any], region: list[Block]) -> list[Block]:
    """The message as posted, with the click's answer swapped for ``region``."""
    blocks = _blocks(reply.get("blocks"))
    start, count = reply.get("start"), reply.get("count")
    if not isinstance(start, int) or not isinstance(count, int):
        return [*blocks, *region]
    return [*blocks[:start], *region, *blocks[start + count :]]


def _send(reply: dict[str, Any], payload: dict[str, Any]) -> None:
    url = reply.get("url")
    if not isinstance(url, str):
        return
    answer = WebhookClient(url).send_dict(payload)
    if answer.status_code != 200:
        # Expired (30 minutes) or used up: the Home tab and the direct message still tell.
        logger.info("a late answer could not reach its message (%s)", answer.status_code)
