"""``/sales``: views as ephemeral messages, help, settings, and ``as @user``.

``SUBCOMMANDS`` maps the first word to a handler; other surfaces add theirs (Deal Insights
registers ``deal``). Unknown input gets the help, never an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import ids
from handlers.identity import Asker, unmapped_text, who_is_asking
from handlers.navigation import BadState, View, ViewState
from handlers.render.help import help_blocks, help_text
from handlers.safely import after_ack
from handlers.services import Services
from handlers.workspace import AccessDenied, UnknownSubject, render_workspace
from storage.db import unit_of_work
from storage.models import User
from storage.people import user_by_slack_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandRequest:
    """One ``/sales`` invocation, after we know who is asking."""

    services: Services
    client: WebClient
    respond: Respond
    asker: Asker
    args: str  # the text after the subcommand word
    trigger_id: str
    body: dict[str, Any]


Subcommand = Callable[[CommandRequest], None]

# Filled below and by other surfaces' register(): first word -> handler.
SUBCOMMANDS: dict[str, Subcommand] = {}

# Slack escapes mentions when the command has should_escape: "<@U123|name>".
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def register(app: App, services: Services) -> None:
    """The ``/sales`` command."""

    def run(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        _run(services, body, client, respond)

    app.command(ids.SLASH_COMMAND)(ack=_ack, lazy=[after_ack(run)])


def _ack(ack: Ack) -> None:
    # Nothing to say yet: the answer follows through the response_url within a second.
    ack()


def _run(services: Services, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    slack_user_id = str(body.get("user_id", ""))
    asker = who_is_asking(services, client, slack_user_id)
    if asker is None:
        respond(text=unmapped_text(slack_user_id), response_type="ephemeral")
        return
    text = " ".join(str(body.get("text") or "").split())
    word, _, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower(), _unknown)
    handler(
        CommandRequest(
            services=services,
            client=client,
            respond=respond,
            asker=asker,
            args=rest,
            trigger_id=str(body.get("trigger_id", "")),
            body=body,
        )
    )


# Views ---------------------------------------------------------------------------------


def show_view(request: CommandRequest, state: ViewState) -> None:
    """Answer with ``state`` rendered as an ephemeral message (50 blocks, paginated)."""
    with unit_of_work(request.services.sessions) as session:
        viewer = session.get(User, request.asker.user_id)
        if viewer is None:
            request.respond(text=unmapped_text(request.asker.slack_user_id))
            return
        try:
            rendered = render_workspace(
                session,
                viewer=viewer,
                state=state,
                now=request.services.clock(),
                surface="message",
            )
        except AccessDenied:
            request.respond(
                text="Only super admins can look at someone else's workspace.",
                response_type="ephemeral",
            )
            return
        except UnknownSubject:
            request.respond(text="That person has no active CRM account.")
            return
    request.respond(text=rendered.text, blocks=rendered.blocks, response_type="ephemeral")


def _view_command(view: View) -> Subcommand:
    def handle(request: CommandRequest) -> None:
        state = ViewState(view=view)
        word = request.args.split(" ")[0].lower() if request.args else ""
        if word:
            try:
                state = state.with_filter(word)
            except BadState:
                _help(request, intro=f"I don't know the filter “{word}” for {view.value}.")
                return
        show_view(request, state)

    return handle


# Help and unknown input ---------------------------------------------------------------


def _help(request: CommandRequest, intro: str | None = None) -> None:
    request.respond(text=help_text(intro), blocks=help_blocks(intro), response_type="ephemeral")


def _unknown(request: CommandRequest) -> None:
    said = str(request.body.get("text") or "").strip()
    _help(request, intro=f"I don't know “{said[:80]}”. Here is what I can do:")


def _deal_placeholder(request: CommandRequest) -> None:
    request.respond(
        text="Deal Insights are not switched on in this workspace yet.", response_type="ephemeral"
    )


# Looking at someone else's workspace ----------------------------------------------------


def _as_user(request: CommandRequest) -> None:
    mention, _, rest = request.args.partition(" ")
    match = MENTION.match(mention)
    if match is None:
        _help(request, intro="Say whose workspace: `/sales as @someone [view]`.")
        return
    if not request.asker.is_super_admin:
        request.respond(
            text="Sorry, only super admins can look at someone else's workspace.",
            response_type="ephemeral",
        )
        return
    subject_slack_id = match.group(1)
    with unit_of_work(request.services.sessions) as session:
        subject = user_by_slack_id(session, subject_slack_id)
        subject_id = subject.id if subject is not None else None
    if subject_id is None:
        found = who_is_asking(request.services, request.client, subject_slack_id)
        subject_id = found.user_id if found is not None else None
    if subject_id is None:
        request.respond(
            text=f"<@{subject_slack_id}> has no linked CRM account.", response_type="ephemeral"
        )
        return
    view_word = rest.split(" ")[0].lower() if rest else ""
    try:
        view = View(view_word) if view_word else View.OVERVIEW
    except ValueError:
        view = View.OVERVIEW
    show_view(request, ViewState(view=view, subject_id=subject_id))


def _settings(request: CommandRequest) -> None:
    from handlers.settings import open_settings

    open_settings(
        request.services, request.client, asker=request.asker, trigger_id=request.trigger_id
    )


SUBCOMMANDS.update(
    {
        "": _view_command(View.OVERVIEW),
        "home": _view_command(View.OVERVIEW),
        "overview": _view_command(View.OVERVIEW),
        "tasks": _view_command(View.TASKS),
        "deals": _view_command(View.DEALS),
        "leads": _view_command(View.LEADS),
        "schedule": _view_command(View.SCHEDULE),
        "feed": _view_command(View.FEED),
        "help": _help,
        "settings": _settings,
        "as": _as_user,
        "deal": _deal_placeholder,
    }
)
