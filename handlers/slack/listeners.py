"""What every button and form listener shares: reading the click, running one write in its
own transaction as the CRM user behind the Slack user, and showing the result where the
click came from.

Nothing in a payload is trusted: ids go to the domain, which re-checks them and the
clicking user's rights; ``private_metadata`` is read defensively. Who is asking comes from
the request's ``user.id`` only (``handlers.identity.who_is_asking``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from handlers.home import publish_home
from handlers.identity import unmapped_text, who_is_asking
from handlers.navigation import BadState, ViewState
from handlers.render.blocks import Block
from handlers.render.results import replace_block, result_line, result_modal, result_text
from handlers.render.task_modals import read_metadata
from handlers.safely import after_ack
from handlers.services import Services
from rules.op_result import OpResult, OpStatus, forbidden
from storage.models import User

logger = logging.getLogger(__name__)

T = TypeVar("T")

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
    is_ephemeral: bool = False
    message_blocks: list[Block] = field(default_factory=list)
    response_url: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        selected = action.get("selected_option") or {}
        value = action.get("value")
        if value is None and isinstance(selected, dict):
            value = selected.get("value")
        message = body.get("message") or {}
        container = body.get("container") or {}
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
            is_ephemeral=bool(container.get("is_ephemeral")),
            message_blocks=list(message.get("blocks") or []),
            response_url=body.get("response_url"),
        )

    @property
    def in_home(self) -> bool:
        return self.container == "view" and self.view.get("type") == "home"

    def origin(self) -> dict[str, Any]:
        """Where a form opened from this click reports back to (goes in its metadata)."""
        if self.in_home:
            return {"kind": "home", "state": ViewState.from_view(self.view).encode()}
        if self.container == "message" and self.response_url:
            return {"kind": "message", "url": self.response_url}
        return {}


def _actor(
    services: Services, client: WebClient, session: Session, slack_user_id: str
) -> User | None:
    asker = who_is_asking(services, client, slack_user_id)
    return session.get(User, asker.user_id) if asker is not None else None


def write(
    services: Services,
    client: WebClient,
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
            actor = _actor(services, client, session, slack_user_id)
            if actor is None:
                return forbidden(unmapped_text(slack_user_id))
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
    client: WebClient,
    slack_user_id: str,
    reader: Callable[[Session, User, datetime], tuple[T | None, OpResult | None]],
) -> tuple[T | None, OpResult | None]:
    """Run a read for the CRM user behind ``slack_user_id`` (e.g. to render a form).

    The reader renders inside the session and returns (value, None) or (None, refusal).
    """
    now = services.clock()
    session = services.sessions()
    try:
        actor = _actor(services, client, session, slack_user_id)
        if actor is None:
            return None, forbidden(unmapped_text(slack_user_id))
        return reader(session, actor, now)
    finally:
        session.close()


def show_in_place(
    services: Services,
    click: Click,
    result: OpResult,
    *,
    client: WebClient,
    respond: Respond,
    replacement: list[Block] | None = None,
) -> None:
    """Show ``result`` where the click happened, updating that message or Home tab in place.

    In a message, a change (or an "already") replaces the clicked row's buttons with the
    result line (or ``replacement``); a refusal keeps the message and answers with a line
    only the clicking user sees. The Home tab is re-published where the user was, with the
    result under its header.

    A bot message is updated with ``chat.update`` (its ``response_url`` expires after 30
    minutes, and this morning's digest is clicked all day); an ephemeral message, which
    ``chat.update`` cannot reach, through its ``response_url``.
    """
    if click.container == "message":
        if result.refused:
            _tell_privately(click, result_text(result), client=client, respond=respond)
            return
        blocks = replace_block(
            click.message_blocks, click.block_id or "", replacement or [result_line(result)]
        )
        if click.channel_id and click.message_ts and not click.is_ephemeral:
            client.chat_update(
                channel=click.channel_id, ts=click.message_ts, text=result.message, blocks=blocks
            )
        else:
            respond(text=result.message, blocks=blocks, replace_original=True)
        return
    if click.in_home:
        publish_home(
            services,
            client,
            slack_user_id=click.user_id,
            state=ViewState.from_view(click.view),
            notice=result_line(result, block_id="button_result"),
        )
        return
    logger.warning("no place to show the result of %s", click.action_id)


def _tell_privately(click: Click, text: str, *, client: WebClient, respond: Respond) -> None:
    """A line only the clicking user sees, under the message they clicked."""
    if click.response_url:
        respond(text=text, response_type="ephemeral", replace_original=False)
    elif click.channel_id:
        client.chat_postEphemeral(channel=click.channel_id, user=click.user_id, text=text)


ClickWork = Callable[[Services, Click, WebClient, Respond], None]
FormWork = Callable[[Services, Ack, dict[str, Any], WebClient], "FollowUp | None"]
FollowUp = Callable[[], None]


def _ack(ack: Ack) -> None:
    ack()


def on_click(services: Services, work: ClickWork) -> dict[str, Any]:
    """Listener arguments for ``app.action(...)(**on_click(...))``: acknowledge at once in
    the request, then do ``work`` with the parsed click on the work pool."""

    def lazy(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        work(services, Click.from_body(body), client, respond)

    lazy.__name__ = getattr(work, "__name__", "click")
    return {"ack": _ack, "lazy": [after_ack(lazy)]}


def on_submit(services: Services, work: FormWork, pool: Executor) -> Callable[..., None]:
    """A view_submission listener. ``work`` writes and acknowledges (with field errors or a
    result view: the write takes milliseconds, well inside Slack's 3 seconds) and may
    return a follow-up (telling the origin) that runs on ``pool``, after the answer."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        follow_up = work(services, ack, body, client)
        if follow_up is not None:
            pool.submit(_logged(follow_up))

    listener.__name__ = getattr(work, "__name__", "submit")
    return listener


def _logged(follow_up: FollowUp) -> FollowUp:
    def run() -> None:
        try:
            follow_up()
        except Exception:
            logger.exception("telling the origin of a form failed")

    return run


def submit_form(
    services: Services,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    operation: Callable[[Session, User, datetime], OpResult],
    *,
    title: str,
    error_field: Callable[[str], str],
) -> FollowUp | None:
    """The whole of a form submission: ``write`` the operation as the submitting user,
    then ``finish_form`` (field errors or the result modal; the origin is told later).

    Args:
        services: The app's services.
        ack: The submission's acknowledgement.
        body: The view_submission payload (its view's metadata says where it came from).
        client: The Web API client.
        operation: The domain write, given the session, the acting CRM user and ``now``.
        title: The result modal's title.
        error_field: The input block under which a fixable message is shown.
    """
    slack_user_id = str((body.get("user") or {}).get("id") or "")
    origin = read_metadata(body.get("view") or {}).get("origin") or {}
    result = write(services, client, slack_user_id, operation)
    return finish_form(
        ack,
        result,
        title=title,
        error_field=error_field,
        origin=origin,
        services=services,
        client=client,
        slack_user_id=slack_user_id,
    )


def finish_form(
    ack: Ack,
    result: OpResult,
    *,
    title: str,
    error_field: Callable[[str], str],
    origin: dict[str, Any],
    services: Services,
    client: WebClient,
    slack_user_id: str,
) -> FollowUp | None:
    """Answer a form: fixable input gets errors under the field; anything else turns the
    modal into a one-line result (done, already, not allowed). Returns the follow-up that
    tells the origin (the Home tab, or the message the form came from) after a change."""
    if result.status is OpStatus.INVALID:
        ack(response_action="errors", errors={error_field(result.message): result.message})
        return None
    ack(response_action="update", view=result_modal(title, result))
    if not result.changed:
        return None
    return lambda: report_to_origin(
        origin, result, services=services, client=client, slack_user_id=slack_user_id
    )


def report_to_origin(
    origin: dict[str, Any],
    result: OpResult,
    *,
    services: Services,
    client: WebClient,
    slack_user_id: str,
) -> None:
    """After a form: refresh the Home tab it came from, or tell the message's conversation.

    Only a ``response_url`` from Slack (or from the configured local Web API, in tests) is
    ever posted to, so a form can't be made to call an arbitrary address.
    """
    if origin.get("kind") == "home":
        try:
            state = ViewState.decode(origin.get("state"))
        except BadState:
            state = ViewState()
        publish_home(
            services,
            client,
            slack_user_id=slack_user_id,
            state=state,
            notice=result_line(result, block_id="button_result"),
        )
        return
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


def open_modal(
    services: Services,
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
        show_in_place(services, click, refusal, client=client, respond=respond)
        return
    client.views_open(trigger_id=click.trigger_id or "", view=view)
