"""Updating a click's "Saving to HubSpot…" answer once its write settled in the CRM.

``handlers.slack.listeners.show_in_place`` leaves on the click's outbox rows where its
answer is (``storage.outbox.await_reply``); the outbox worker calls ``answer_late`` when
those rows are sent, refused or in conflict. A bot message is updated with
``chat.update`` (it has no time limit); an ephemeral one, which ``chat.update`` cannot
reach, through its ``response_url`` (valid for 30 minutes: later, the Home tab and the
direct message about a failure still tell); a form's result modal with ``views.update``
(while it is open). The Home tab is re-published by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from handlers.i18n import _, use_language
from handlers.i18n.users import speaking_to
from handlers.render.crm_writes import late_answer_blocks, progress_text
from handlers.render.kit import Block, fallback_text, modal
from handlers.slack import ids
from handlers.slack.services import Services
from rules.crm_writes.queries import Progress, write_progress
from storage.outbox import DueReply

logger = logging.getLogger(__name__)


def answer_late(
    services: Services, client: WebClient, due: DueReply, *, default_language: str
) -> bool:
    """Update the answer ``due`` names; False when there was nothing to update."""
    reply = due.reply
    with services.sessions() as session:
        progress = write_progress(session, due.row_ids)
        if progress is None or progress.state is Progress.SAVING:
            return False
        with _speaking(session, due.actor_id, default_language):
            sentence = str(reply.get("sentence") or "")
            saved = _blocks(reply.get("saved"))
            region = late_answer_blocks(sentence, saved, progress)
            text = fallback_text(f"{sentence} {progress_text(progress)}")
            close = _("Close")
    kind = reply.get("kind")
    if kind == "view":
        # The form's result modal; closed by now, Slack answers an error (logged).
        title = str(reply.get("title") or "")
        client.views_update(
            view_id=str(reply.get("view_id")),
            view=modal(ids.VIEW_RESULT, title, region, close=close),
        )
    elif kind == "update":
        client.chat_update(
            channel=str(reply.get("channel")),
            ts=str(reply.get("ts")),
            text=text,
            blocks=_swapped(reply, region),
        )
    elif kind == "replace":
        _send(reply, {"text": text, "blocks": _swapped(reply, region), "replace_original": True})
    elif kind == "add":
        _send(
            reply,
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
