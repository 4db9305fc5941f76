"""What every button and form listener shares: reading the click, running one write in its
own transaction, and showing the result where the click came from.

Nothing in a payload is trusted: ids go to the domain, which re-checks them and the
clicking user's rights; ``private_metadata`` is read defensively.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from handlers.render.blocks import Block
from handlers.render.results import replace_block, result_line, result_modal, result_text
from handlers.services import Services
from rules.op_result import OpResult, OpStatus, forbidden
from rules.people import user_by_slack_id
from storage.models import User

logger = logging.getLogger(__name__)

T = TypeVar("T")

NOT_LINKED = (
    "I can't find your CRM user, so I can't change anything for you yet. "
    "Ask your admin to link your Slack account to your CRM user."
)
# SQLite may refuse a write whose read snapshot went stale under a concurrent click; the
# whole unit of work is safe to run again (the domain re-reads everything).
_WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Click:
    """A ``block_actions`` payload, reduced to what listeners use."""

    user_id: str
    action_id: str
    value: str | None
    block_id: str | None
    trigger_id: str | None
    container: str  # "message", "view" or ""
    view: dict[str, Any] = field(default_factory=dict)
    channel_id: str | None = None
    message_ts: str | None = None
    message_blocks: list[Block] = field(default_factory=list)
    response_url: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        selected = action.get("selected_option") or {}
        value = action.get("value")
        if value is None and isinstance(selected, dict):
            value = selected.get("value")
        container = body.get("container") or {}
        message = body.get("message") or {}
        return cls(
            user_id=str((body.get("user") or {}).get("id") or ""),
            action_id=str(action.get("action_id") or ""),
            value=value if isinstance(value, str) else None,
            block_id=action.get("block_id"),
            trigger_id=body.get("trigger_id"),
            container=str(container.get("type") or ""),
            view=body.get("view") or {},
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=message.get("ts") or container.get("message_ts"),
            message_blocks=list(message.get("blocks") or []),
            response_url=body.get("response_url"),
        )

    @property
    def in_home(self) -> bool:
        return self.container == "view" and self.view.get("type") == "home"

    @property
    def in_modal(self) -> bool:
        return self.container == "view" and self.view.get("type") == "modal"

    def origin(self) -> dict[str, Any]:
        """Where a form opened from this click should report back to."""
        if self.in_home:
            return {"kind": "home"}
        if self.container == "message" and self.response_url:
            return {"kind": "message", "url": self.response_url}
        return {}


def write(
    services: Services,
    slack_user_id: str,
    operation: Callable[[Session, User, datetime], OpResult],
) -> OpResult:
    """Run one write for the CRM user behind ``slack_user_id``, in its own transaction.

    Only a DONE result is committed: a refusal or an "already" leaves nothing behind, even
    if the operation had started to change something.
    """
    now = services.clock()
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        session = services.sessions()
        try:
            actor = user_by_slack_id(session, slack_user_id)
            if actor is None:
                return forbidden(NOT_LINKED)
            result = operation(session, actor, now)
            if result.changed:
                session.commit()
            else:
                session.rollback()
            return result
        except OperationalError as error:
            session.rollback()
            if attempt == _WRITE_ATTEMPTS or "locked" not in str(error).lower():
                raise
            logger.info("database busy, running the write again (attempt %d)", attempt + 1)
        finally:
            session.close()
    raise AssertionError("unreachable")


def read(
    services: Services,
    slack_user_id: str,
    reader: Callable[[Session, User, datetime], tuple[T | None, OpResult | None]],
) -> tuple[T | None, OpResult | None]:
    """Run a read for the CRM user behind ``slack_user_id`` (e.g. to render a form).

    The reader renders inside the session and returns (value, None) or (None, refusal).
    """
    now = services.clock()
    session = services.sessions()
    try:
        actor = user_by_slack_id(session, slack_user_id)
        if actor is None:
            return None, forbidden(NOT_LINKED)
        return reader(session, actor, now)
    finally:
        session.close()


def show_in_place(
    click: Click,
    result: OpResult,
    *,
    client: WebClient,
    respond: Respond,
    replacement: list[Block] | None = None,
) -> None:
    """Show ``result`` where the click happened, updating that message or Home tab in place.

    A change (or an "already") replaces the clicked row's buttons with the result line (or
    ``replacement``); a refusal keeps the buttons and adds the reason (an ephemeral reply
    under a message, a line under the row in the Home tab).
    """
    if click.container == "message":
        if result.refused:
            respond(text=result_text(result), response_type="ephemeral", replace_original=False)
            return
        blocks = replace_block(
            click.message_blocks, click.block_id or "", replacement or [result_line(result)]
        )
        respond(text=result.message, blocks=blocks, replace_original=True)
        return
    if click.in_home:
        _update_home(click, result, client=client, replacement=replacement)
        return
    logger.warning("no place to show a result for %s", click.action_id)


def _update_home(
    click: Click, result: OpResult, *, client: WebClient, replacement: list[Block] | None
) -> None:
    block_id = click.block_id or ""
    notice_id = f"{block_id}:notice"[:255]
    blocks = [b for b in click.view.get("blocks") or [] if b.get("block_id") != notice_id]
    if result.refused:
        clicked = next((b for b in blocks if b.get("block_id") == block_id), None)
        new_rows = ([clicked] if clicked else []) + [result_line(result, block_id=notice_id)]
    else:
        new_rows = replacement or [result_line(result, block_id=notice_id)]
    view = {
        "type": "home",
        "blocks": replace_block(blocks, block_id, new_rows)[:100],
        "private_metadata": click.view.get("private_metadata") or "",
    }
    if click.view.get("callback_id"):
        view["callback_id"] = click.view["callback_id"]
    try:
        client.views_publish(user_id=click.user_id, view=view, hash=click.view.get("hash"))
    except SlackApiError as error:
        # hash_conflict: the Home changed since the click; publish without the guard.
        if error.response.get("error") != "hash_conflict":
            raise
        client.views_publish(user_id=click.user_id, view=view)


def report_to_origin(
    origin: dict[str, Any], result: OpResult, *, services: Services, slack_user_id: str
) -> None:
    """After a form: tell the conversation the form was opened from what happened.

    Only a ``response_url`` from Slack (or from the configured Web API host, in tests) is
    ever posted to, so a form can't be made to call an arbitrary address.
    """
    del slack_user_id
    url = origin.get("url") if origin.get("kind") == "message" else None
    if not isinstance(url, str) or not _trusted_response_url(url, services):
        return
    WebhookClient(url).send_dict(
        {"text": result_text(result), "response_type": "ephemeral", "replace_original": False}
    )


def _trusted_response_url(url: str, services: Services) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    api = urlsplit(services.settings.slack_api_url)
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc) and api.hostname in {
        "127.0.0.1",
        "localhost",
    }


ClickWork = Callable[[Services, Click, WebClient, Respond], None]
FormWork = Callable[[Services, Any, dict[str, Any], WebClient], None]


def on_click(services: Services, work: ClickWork) -> Callable[..., None]:
    """A Bolt listener that acknowledges at once, then does ``work`` with the parsed click."""

    def listener(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        work(services, Click.from_body(body), client, respond)

    listener.__name__ = getattr(work, "__name__", "listener")
    return listener


def on_submit(services: Services, work: FormWork) -> Callable[..., None]:
    """A Bolt view_submission listener; ``work`` acks itself (with field errors, or a result
    view), after a write that takes milliseconds, well inside Slack's 3 seconds."""

    def listener(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        work(services, ack, body, client)

    listener.__name__ = getattr(work, "__name__", "listener")
    return listener


def finish_form(
    ack: Any,
    result: OpResult,
    *,
    title: str,
    error_field: Callable[[str], str],
    origin: dict[str, Any],
    services: Services,
    slack_user_id: str,
) -> None:
    """Answer a form: fixable input gets errors under the field; anything else turns the
    modal into a one-line result (done, already, not allowed), and the conversation the
    form came from is told."""
    if result.status is OpStatus.INVALID:
        ack(response_action="errors", errors={error_field(result.message): result.message})
        return
    ack(response_action="update", view=result_modal(title, result))
    if result.changed:
        report_to_origin(origin, result, services=services, slack_user_id=slack_user_id)


def open_modal(
    click: Click,
    rendered: tuple[Block | None, OpResult | None],
    *,
    client: WebClient,
    respond: Respond,
) -> None:
    """Open the rendered modal, or show the refusal where the click happened."""
    view, refusal = rendered
    if view is None:
        assert refusal is not None
        show_in_place(click, refusal, client=client, respond=respond)
        return
    client.views_open(trigger_id=click.trigger_id or "", view=view)
