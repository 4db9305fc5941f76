"""The App Home tab: publishing the workspace, and the navigation buttons on it.

Navigation buttons also appear on ``/sales`` answers (ephemeral messages): there a click
replaces the message through its ``response_url`` instead of re-publishing the Home tab.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import ids
from handlers.identity import unmapped_text, who_is_asking
from handlers.navigation import BadState, ViewState
from handlers.render.kit import context, header, section
from handlers.safely import after_ack
from handlers.services import Services
from handlers.workspace import AccessDenied, UnknownSubject, render_workspace
from storage.db import unit_of_work
from storage.models import User

logger = logging.getLogger(__name__)

# Buttons in one block need distinct action_ids: "home_nav:deals", "home_page:next"...
NAVIGATION = re.compile(
    rf"^({re.escape(ids.HOME_NAV)}|{re.escape(ids.HOME_PAGE)}|{re.escape(ids.HOME_FILTER)}"
    rf"|{re.escape(ids.ACTION_CATEGORY_FILTER)})(:[a-z0-9_\-]+)?$"
)


def register(app: App, services: Services) -> None:
    """Navigation (view, page, filter) on the Home tab and on ``/sales`` messages."""

    def navigate(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        _navigate(services, body, client, respond)

    app.action(NAVIGATION)(ack=_ack, lazy=[after_ack(navigate)])


def _ack(ack: Ack) -> None:
    ack()


def publish_home(
    services: Services,
    client: WebClient,
    *,
    slack_user_id: str,
    state: ViewState | None = None,
    notice: dict[str, Any] | None = None,
) -> None:
    """Render and publish ``slack_user_id``'s Home tab (the overview unless ``state``).

    Buttons call this after a change so the Home tab updates in place; pass the state
    read with ``ViewState.from_view(body["view"])`` to keep the user where they were,
    and a ``notice`` block to say what the button did.
    """
    asker = who_is_asking(services, client, slack_user_id)
    if asker is None:
        _publish(client, slack_user_id, _unmapped_view(slack_user_id), ViewState())
        return
    state = state or ViewState()
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, asker.user_id)
        if viewer is None:
            return
        try:
            rendered = render_workspace(
                session,
                viewer=viewer,
                state=state,
                now=services.clock(),
                surface="home",
                notice=notice,
            )
        except (AccessDenied, UnknownSubject):
            # A stale view of someone else's workspace: back to the viewer's own.
            rendered = render_workspace(
                session,
                viewer=viewer,
                state=ViewState(),
                now=services.clock(),
                surface="home",
                notice=notice,
            )
    _publish(client, slack_user_id, rendered.blocks, rendered.state)


def _publish(
    client: WebClient, slack_user_id: str, blocks: list[dict[str, Any]], state: ViewState
) -> None:
    client.views_publish(
        user_id=slack_user_id,
        view={"type": "home", "blocks": blocks, "private_metadata": state.encode()},
    )


def _unmapped_view(slack_user_id: str) -> list[dict[str, Any]]:
    return [
        header("Your sales workspace"),
        section(unmapped_text(slack_user_id)),
        context("Once you are linked, open this tab again."),
    ]


def _navigate(
    services: Services, body: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    slack_user_id = (body.get("user") or {}).get("id", "")
    try:
        state = _requested_state(body)
    except BadState as error:
        logger.warning("refused a navigation value from %s: %s", slack_user_id, error)
        return
    in_home = (body.get("container") or {}).get("type") == "view"
    if in_home:
        publish_home(services, client, slack_user_id=slack_user_id, state=state)
        return
    asker = who_is_asking(services, client, slack_user_id)
    if asker is None:
        respond(text=unmapped_text(slack_user_id), response_type="ephemeral")
        return
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, asker.user_id)
        if viewer is None:
            return
        try:
            rendered = render_workspace(
                session, viewer=viewer, state=state, now=services.clock(), surface="message"
            )
        except (AccessDenied, UnknownSubject):
            respond(text="Sorry, you can't view that workspace.", response_type="ephemeral")
            return
    respond(text=rendered.text, blocks=rendered.blocks, replace_original=True)


def _requested_state(body: dict[str, Any]) -> ViewState:
    """The state a navigation click asks for: a button's value or a select's choice."""
    (action,) = body.get("actions") or [None]
    if not isinstance(action, dict):
        raise BadState("no action")
    if action.get("type") == "button":
        return ViewState.decode(action.get("value"))
    selected = (action.get("selected_option") or {}).get("value")
    # A select carries "<state>|<filter>": the current state and the chosen filter.
    if not isinstance(selected, str) or "|" not in selected:
        raise BadState("no selection")
    encoded, _, chosen = selected.rpartition("|")
    return ViewState.decode(encoded).with_filter(chosen)
