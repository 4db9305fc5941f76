"""The App Home tab: publishing the workspace, and the navigation buttons on it.

Navigation buttons also appear on ``/sales`` answers (ephemeral messages): there a click
replaces the message through its ``response_url`` instead of re-publishing the Home tab.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from weakref import WeakKeyDictionary

from prometheus_client import Counter
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from handlers import ids
from handlers.identity import unmapped_text, who_is_asking
from handlers.navigation import BadState, ViewState
from handlers.render.kit import context, header, section
from handlers.render_pool import render_view
from handlers.safely import after_ack
from handlers.services import Services
from handlers.workspace import AccessDenied, UnknownSubject
from rules.actions import evaluate
from storage.db import unit_of_work
from storage.health import database_health, is_outage

logger = logging.getLogger(__name__)

HOME_PUBLISHES = Counter(
    "salesbot_home_publishes_total",
    "Home tab publishes by outcome (published, superseded by a newer request, failed).",
    ["outcome"],
)

# Buttons in one block need distinct action_ids: "home_nav:deals", "home_page:next"...
NAVIGATION = re.compile(
    rf"^({re.escape(ids.HOME_NAV)}|{re.escape(ids.HOME_PAGE)}|{re.escape(ids.HOME_FILTER)}"
    rf"|{re.escape(ids.ACTION_CATEGORY_FILTER)})(:[a-z0-9_.\-]+)?$"
)


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
        # Home tabs that could not be published because the database was down, by user:
        # where the user was. Published again when the database is back.
        self._failed: dict[str, ViewState | None] = {}

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

    def failed_in_outage(self, slack_user_id: str, state: ViewState | None) -> None:
        with self._lock:
            self._failed[slack_user_id] = state

    def published(self, slack_user_id: str) -> None:
        with self._lock:
            self._failed.pop(slack_user_id, None)

    def take_failed(self) -> dict[str, ViewState | None]:
        with self._lock:
            failed, self._failed = self._failed, {}
            return failed


_tickets: WeakKeyDictionary[sessionmaker[Session], PublishTickets] = WeakKeyDictionary()
_tickets_lock = threading.Lock()


def publish_tickets(services: Services) -> PublishTickets:
    """The ticket book of this store's app (one per app in a process)."""
    with _tickets_lock:
        book = _tickets.get(services.sessions)
        if book is None:
            book = _tickets[services.sessions] = PublishTickets()
        return book


TICKET = "salesbot_home_ticket"


def take_home_ticket(services: Services, body: dict[str, Any], context: BoltContext) -> None:
    """In an ack: reserve the next Home publish for the clicking user (see PublishTickets)."""
    user = (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    if user:
        context[TICKET] = publish_tickets(services).take(str(user))


def register(app: App, services: Services) -> None:
    """Navigation (view, page, filter) on the Home tab and on ``/sales`` messages."""
    pool = app.listener_runner.listener_executor

    def navigate(
        body: dict[str, Any], client: WebClient, respond: Respond, ticket: int | None
    ) -> None:
        _navigate(services, body, client, respond, ticket)

    safe_navigate = after_ack(navigate)

    def acknowledge(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        ticket = None
        if (body.get("container") or {}).get("type") == "view":
            user = (body.get("user") or {}).get("id")
            ticket = publish_tickets(services).take(str(user)) if user else None
        # Straight to the work pool: Bolt's lazy listeners deep-copy the whole request in
        # this (acknowledging) thread first; the work needs only the body.
        respond = Respond(response_url=body.get("response_url"))
        pool.submit(safe_navigate, body=body, client=client, respond=respond, ticket=ticket)

    app.action(NAVIGATION)(acknowledge)


def publish_home(
    services: Services,
    client: WebClient,
    *,
    slack_user_id: str,
    state: ViewState | None = None,
    ticket: int | None = None,
    refresh_actions: bool = False,
    notice: dict[str, Any] | None = None,
) -> None:
    """Render and publish ``slack_user_id``'s Home tab (the overview unless ``state``).

    Buttons call this after a change so the Home tab updates in place; pass the state
    read with ``ViewState.from_view(body["view"])`` to keep the user where they were.

    Args:
        services: The app's services.
        client: The Web API client.
        slack_user_id: Whose Home tab.
        state: Where the user is; the overview when None.
        ticket: From ``take_home_ticket`` in the ack; the publish is skipped when a newer
            request for the same user has arrived since (it will publish instead).
        refresh_actions: Bring the user's guided actions up to date first (opening the tab).
        notice: A block under the header saying what a button just did.
    """
    book = publish_tickets(services)
    if ticket is not None and not book.is_latest(slack_user_id, ticket):
        HOME_PUBLISHES.labels(outcome="superseded").inc()
        return
    with book.user_lock(slack_user_id):
        if ticket is not None and not book.is_latest(slack_user_id, ticket):
            HOME_PUBLISHES.labels(outcome="superseded").inc()
            return
        try:
            _render_and_publish(services, client, slack_user_id, state, refresh_actions, notice)
        except Exception as error:
            HOME_PUBLISHES.labels(outcome="failed").inc()
            if is_outage(error):
                database_health(services.sessions).failed(error)
                book.failed_in_outage(slack_user_id, state)
            raise
        HOME_PUBLISHES.labels(outcome="published").inc()
        book.published(slack_user_id)


def republish_failed_homes(services: Services, client: WebClient) -> int:
    """Publish the Home tabs that failed while the database was down; return how many."""
    failed = publish_tickets(services).take_failed()
    for slack_user_id, state in failed.items():
        try:
            publish_home(services, client, slack_user_id=slack_user_id, state=state)
        except Exception as error:
            logger.warning(
                "Home tab of %s still not published: %s", slack_user_id, type(error).__name__
            )
    if failed:
        logger.info("published %d Home tab(s) that failed during the outage", len(failed))
    return len(failed)


def _render_and_publish(
    services: Services,
    client: WebClient,
    slack_user_id: str,
    state: ViewState | None,
    refresh_actions: bool,
    notice: dict[str, Any] | None,
) -> None:
    asker = who_is_asking(services, client, slack_user_id)
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
    except SQLAlchemyError as error:
        if is_outage(error):
            raise  # nothing can be shown either; the caller reports it once
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


def _navigate(
    services: Services,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    ticket: int | None,
) -> None:
    slack_user_id = (body.get("user") or {}).get("id", "")
    try:
        state = _requested_state(body)
    except BadState as error:
        logger.warning("refused a navigation value from %s: %s", slack_user_id, error)
        return
    in_home = (body.get("container") or {}).get("type") == "view"
    if in_home:
        publish_home(services, client, slack_user_id=slack_user_id, state=state, ticket=ticket)
        return
    asker = who_is_asking(services, client, slack_user_id)
    if asker is None:
        respond(text=unmapped_text(slack_user_id), response_type="ephemeral")
        return
    try:
        rendered = render_view(services, viewer_id=asker.user_id, state=state, surface="message")
    except (AccessDenied, UnknownSubject):
        respond(text="Sorry, you can't view that workspace.", response_type="ephemeral")
        return
    except BadState as error:
        logger.warning("refused a navigation value from %s: %s", slack_user_id, error)
        return
    if rendered is None:
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
