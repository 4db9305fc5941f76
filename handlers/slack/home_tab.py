"""Publishing a user's Home tab: the workspace view, latest request wins.

Every surface that changes what the Home tab shows re-publishes it through
``publish_home``; ``take_home_ticket`` in the ack keeps a slow render of an older request
from overwriting a newer view.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers.render.kit import context, header, section
from handlers.render.navigation import BadState, ViewState
from handlers.render.workspace import AccessDenied, UnknownSubject
from handlers.slack.context import Acting
from handlers.slack.identity import unmapped_text
from handlers.slack.render_pool import render_view
from handlers.slack.services import PerStore, Services
from rules.guided_actions import evaluate
from storage.db import unit_of_work

logger = logging.getLogger(__name__)


class PublishTickets:
    """Latest-wins ordering of Home tab publishes, per Slack user.

    Each request that will publish a user's Home tab takes a ticket when it is acknowledged.
    Work holding an older ticket is skipped (a newer click will publish), and publishing is
    serialised per user, so a slow render of an old click can never overwrite a newer view.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, int] = {}
        self._user_locks: dict[str, threading.Lock] = {}
        self._counter = 0

    def take(self, slack_user_id: str) -> int:
        with self._lock:
            self._counter += 1
            self._latest[slack_user_id] = self._counter
            return self._counter

    def is_latest(self, slack_user_id: str, ticket: int) -> bool:
        with self._lock:
            return self._latest.get(slack_user_id) == ticket

    def user_lock(self, slack_user_id: str) -> threading.Lock:
        with self._lock:
            return self._user_locks.setdefault(slack_user_id, threading.Lock())


_tickets: PerStore[PublishTickets] = PerStore()


def publish_tickets(services: Services) -> PublishTickets:
    """The ticket book of this store's app (one per app in a process)."""
    return _tickets.get_or_make(services, PublishTickets)


def take_home_ticket(services: Services, slack_user_id: str) -> int:
    """In an ack: reserve the next Home publish for ``slack_user_id`` (see PublishTickets)."""
    return publish_tickets(services).take(slack_user_id)


def publish_home(
    who: Acting,
    *,
    state: ViewState | None = None,
    ticket: int | None = None,
    refresh_actions: bool = False,
    notice: dict[str, Any] | None = None,
) -> None:
    """Render and publish the acting user's Home tab (the overview unless ``state``).

    Buttons call this after a change so the Home tab updates in place; pass the state
    read with ``ViewState.from_view(body["view"])`` to keep the user where they were.

    Args:
        who: The request's acting user (whose Home tab), with the services and client.
        state: Where the user is; the overview when None.
        ticket: From ``take_home_ticket`` in the ack; the publish is skipped when a newer
            request for the same user has arrived since (it will publish instead).
        refresh_actions: Bring the user's guided actions up to date first (opening the tab).
        notice: A block under the header saying what a button just did.
    """
    book = publish_tickets(who.services)
    slack_user_id = who.slack_user_id
    if ticket is not None and not book.is_latest(slack_user_id, ticket):
        return
    with book.user_lock(slack_user_id):
        if ticket is not None and not book.is_latest(slack_user_id, ticket):
            return
        _render_and_publish(who, state, refresh_actions, notice)


def _render_and_publish(
    who: Acting, state: ViewState | None, refresh_actions: bool, notice: dict[str, Any] | None
) -> None:
    services, client, slack_user_id = who.services, who.client, who.slack_user_id
    asker = who.asker()
    if asker is None:
        _publish(client, slack_user_id, _unmapped_view(slack_user_id), ViewState())
        return
    if refresh_actions:
        _refresh_actions(services, asker.user_id)
    state = state or ViewState()
    try:
        rendered = render_view(
            services, viewer_id=asker.user_id, state=state, surface="home", notice=notice
        )
    except (AccessDenied, UnknownSubject, BadState):
        # A stale or tampered state: back to the viewer's own overview.
        rendered = render_view(
            services, viewer_id=asker.user_id, state=ViewState(), surface="home", notice=notice
        )
    if rendered is not None:
        _publish(client, slack_user_id, rendered.blocks, rendered.state)


def _refresh_actions(services: Services, user_id: int) -> None:
    """Evaluate the user's guided actions as of now; on a clash, show what is stored.

    A scheduled pass may evaluate the same records at the same moment; the loser's
    transaction fails on the episode guard, and the stored actions are then fresh anyway.
    """
    try:
        with unit_of_work(services.sessions) as session:
            evaluate(session, now=services.clock(), user_ids=[user_id])
    except SQLAlchemyError:
        logger.warning("guided actions not refreshed for user %s", user_id, exc_info=True)


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
