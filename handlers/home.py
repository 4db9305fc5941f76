"""The App Home tab: publishing it when it opens, and the navigation buttons on it.

Navigation buttons also appear on ``/sales`` answers (ephemeral messages): there a click
replaces the message through its ``response_url`` instead of re-publishing the Home tab.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App, BoltContext, Respond

from handlers.i18n import _
from handlers.render.kit import fallback_text
from handlers.render.navigation import BadState, ViewState
from handlers.render.workspace import AccessDenied, UnknownSubject
from handlers.slack import ids
from handlers.slack.context import acting
from handlers.slack.home_tab import publish_home
from handlers.slack.identity import unmapped_text
from handlers.slack.listeners import HOME_TICKET, Click, on_click, on_event
from handlers.slack.render_pool import render_view

logger = logging.getLogger(__name__)

# Buttons in one block need distinct action_ids: "home_nav:deals", "home_page:next"...
NAVIGATION = re.compile(
    rf"^({re.escape(ids.HOME_NAV)}|{re.escape(ids.HOME_PAGE)}|{re.escape(ids.HOME_FILTER)}"
    rf"|{re.escape(ids.ACTION_CATEGORY_FILTER)})(:[a-z0-9_.\-]+)?$"
)


def register(app: App) -> None:
    """The Home tab opening, and navigation (view, page, filter: ``NAVIGATION``)."""
    app.event("app_home_opened")(on_event(home_opened, home_ticket=True))
    app.action(NAVIGATION)(on_click(_navigate, home_ticket=True))


def home_opened(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
    """Publish the Home tab where the user left it, with their guided actions refreshed."""
    who = acting(context)
    if event.get("tab") != "home":
        return
    publish_home(
        who,
        state=ViewState.from_view(event.get("view")),
        ticket=context.get(HOME_TICKET),
        refresh_actions=True,
    )


def _navigate(click: Click, context: BoltContext, respond: Respond) -> None:
    who = acting(context)
    try:
        state = _requested_state(click)
    except BadState as error:
        logger.warning("refused a navigation value from %s: %s", click.user_id, error)
        return
    if click.container == "view":
        publish_home(who, state=state, ticket=click.home_ticket)
        return
    asker = who.asker()
    if asker is None:
        respond(text=fallback_text(unmapped_text(click.user_id)), response_type="ephemeral")
        return
    try:
        rendered = render_view(
            who.services, viewer_id=asker.user_id, state=state, surface="message"
        )
    except (AccessDenied, UnknownSubject):
        respond(
            text=fallback_text(_("Sorry, you can't view that workspace.")),
            response_type="ephemeral",
        )
        return
    except BadState as error:
        logger.warning("refused a navigation value from %s: %s", click.user_id, error)
        return
    if rendered is None:
        return
    respond(text=fallback_text(rendered.text), blocks=rendered.blocks, replace_original=True)


def _requested_state(click: Click) -> ViewState:
    """The state a navigation click asks for: a button's value or a select's choice."""
    if click.action_type == "button":
        return ViewState.decode(click.value)
    # A select carries "<state>|<filter>": the current state and the chosen filter.
    if click.value is None or "|" not in click.value:
        raise BadState("no selection")
    encoded, _sep, chosen = click.value.rpartition("|")
    return ViewState.decode(encoded).with_filter(chosen)
