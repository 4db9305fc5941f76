"""``/sales``: views as ephemeral messages, help, settings, and ``as @user``.

``SUBCOMMANDS`` (at the end) lists every subcommand: the first word -> its handler.
Unknown input gets the help, never an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, Respond

from handlers import insights
from handlers.i18n import N_, _
from handlers.render.help import help_blocks, help_text
from handlers.render.kit import escape, fallback_text
from handlers.render.kit import mention as mention_of
from handlers.render.navigation import BadState, View, ViewState
from handlers.render.workspace import AccessDenied, UnknownSubject
from handlers.settings import open_settings
from handlers.slack import ids
from handlers.slack.context import acting
from handlers.slack.identity import unmapped_text, who_is_asking
from handlers.slack.listeners import CommandRequest, on_command
from handlers.slack.render_pool import render_view

logger = logging.getLogger(__name__)


Subcommand = Callable[[CommandRequest], None]

NOT_YOURS_TEXT = N_(
    "Sorry, only super admins (and managers, for their own team) can look at someone "
    "else's workspace."
)

# Slack escapes mentions when the command has should_escape: "<@U123|name>".
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def register(app: App) -> None:
    """The ``/sales`` command; its subcommands are ``SUBCOMMANDS`` (at the end)."""
    app.command(ids.SLASH_COMMAND)(on_command(sales))


def sales(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """Run ``/sales <subcommand> [args]`` for the linked CRM user behind the request."""
    who = acting(context)
    asker = who.asker()
    if asker is None:
        respond(text=fallback_text(unmapped_text(who.slack_user_id)), response_type="ephemeral")
        return
    text = " ".join(str(body.get("text") or "").split())
    word, _sep, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower(), _unknown)
    handler(
        CommandRequest(
            acting=who,
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
    try:
        rendered = render_view(
            request.acting.services, viewer_id=request.asker.user_id, state=state, surface="message"
        )
    except AccessDenied:
        request.respond(text=fallback_text(_(NOT_YOURS_TEXT)), response_type="ephemeral")
        return
    except UnknownSubject:
        request.respond(text=fallback_text(_("That person has no active CRM account.")))
        return
    except BadState as error:
        logger.info("/sales could not show %s: %s", state.view.value, error)
        _help(request, intro=_("I can't show that. Here is what I can do:"))
        return
    if rendered is None:
        request.respond(text=fallback_text(unmapped_text(request.asker.slack_user_id)))
        return
    request.respond(
        text=fallback_text(rendered.text), blocks=rendered.blocks, response_type="ephemeral"
    )


def _view_command(view: View) -> Subcommand:
    def handle(request: CommandRequest) -> None:
        state = ViewState(view=view)
        word = request.args.split(" ")[0].lower() if request.args else ""
        if word:
            try:
                state = state.with_filter(word)
            except BadState:
                intro = _("I don't know the filter “{word}” for /sales {view}.")
                _help(request, intro=intro.format(word=escape(word[:40]), view=view.value))
                return
        show_view(request, state)

    return handle


# Help and unknown input ---------------------------------------------------------------


def _help(request: CommandRequest, intro: str | None = None) -> None:
    request.respond(
        text=fallback_text(help_text(intro)), blocks=help_blocks(intro), response_type="ephemeral"
    )


def _unknown(request: CommandRequest) -> None:
    said = str(request.body.get("text") or "").strip()
    intro = _("I don't know “{said}”. Here is what I can do:").format(said=escape(said[:80]))
    _help(request, intro=intro)


# Looking at someone else's workspace ----------------------------------------------------


def _as_user(request: CommandRequest) -> None:
    mention, _sep, rest = request.args.partition(" ")
    match = MENTION.match(mention)
    if match is None:
        _help(request, intro=_("Say whose workspace: `/sales as @someone [view]`."))
        return
    subject_slack_id = match.group(1)
    # The same lookup as for the asker: linked id, else Slack email (then remembered).
    found = who_is_asking(request.acting.services, request.acting.client, subject_slack_id)
    subject_id = found.user_id if found is not None else None
    if subject_id is None:
        request.respond(
            text=fallback_text(
                _("{person} has no linked CRM account.").format(person=mention_of(subject_slack_id))
            ),
            response_type="ephemeral",
        )
        return
    view_word = rest.split(" ")[0].lower() if rest else ""
    try:
        view = View(view_word) if view_word else View.OVERVIEW
    except ValueError:
        intro = _("I don't know the view “{view}”.").format(view=escape(view_word[:40]))
        _help(request, intro=intro)
        return
    show_view(request, ViewState(view=view, subject_id=subject_id))


def _settings(request: CommandRequest) -> None:
    open_settings(
        request.acting.services,
        request.acting.client,
        asker=request.asker,
        trigger_id=request.trigger_id,
    )


# Every ``/sales`` subcommand: the first word -> its handler. Unknown words get the help.
SUBCOMMANDS: dict[str, Subcommand] = {
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
    "deal": insights.deal_command,
}
