"""Publishing a user's Home tab: the workspace view, latest request wins.

Every surface that changes what the Home tab shows re-publishes it through
``publish_home``; ``take_home_ticket`` in the ack keeps a slow render of an older request
from overwriting a newer view.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from handlers.i18n import _
from handlers.render.crm_writes import write_notice_blocks
from handlers.render.kit import MAX_BLOCKS, context, header, section
from handlers.render.navigation import BadState, ViewState
from handlers.render.workspace import AccessDenied, UnknownSubject
from handlers.slack.context import Acting
from handlers.slack.identity import unmapped_text
from handlers.slack.render_pool import render_view
from handlers.slack.services import PerStore, Services
from rules.crm_writes.queries import unsaved_notices
from rules.guided_actions import evaluate
from storage.db import unit_of_work
from storage.health import database_health, is_outage
from storage.published_homes import open_homes, remember_home

logger = logging.getLogger(__name__)

# Slack never says a Home tab closed: one published this recently counts as open.
OPEN_HOME_WINDOW = timedelta(hours=12)

HOME_PUBLISHES = Counter(
    "salesbot_home_publishes_total",
    "Home tab publishes by outcome (published, superseded by a newer request, failed).",
    ["outcome"],
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
        HOME_PUBLISHES.labels(outcome="superseded").inc()
        return
    with book.user_lock(slack_user_id):
        if ticket is not None and not book.is_latest(slack_user_id, ticket):
            HOME_PUBLISHES.labels(outcome="superseded").inc()
            return
        try:
            _render_and_publish(who, state, refresh_actions, notice)
        except Exception as error:
            HOME_PUBLISHES.labels(outcome="failed").inc()
            if is_outage(error):
                home_failed_in_outage(who.services, slack_user_id, state, error)
            raise
        HOME_PUBLISHES.labels(outcome="published").inc()
        book.published(slack_user_id)


def home_failed_in_outage(
    services: Services, slack_user_id: str, state: ViewState | None, error: BaseException
) -> None:
    """Remember a Home tab the database outage kept from being published (and the outage)."""
    database_health(services.sessions).failed(error)
    publish_tickets(services).failed_in_outage(slack_user_id, state)


def republish_failed_homes(services: Services, client: WebClient) -> int:
    """Publish the Home tabs that failed while the database was down; return how many."""
    failed = publish_tickets(services).take_failed()
    for slack_user_id, state in failed.items():
        try:
            publish_home(Acting(services, client, slack_user_id), state=state)
        except Exception as error:
            logger.warning(
                "Home tab of %s still not published: %s", slack_user_id, type(error).__name__
            )
    if failed:
        logger.info("published %d Home tab(s) that failed during the outage", len(failed))
    return len(failed)


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
        blocks = _with_unsaved_changes(services, asker.user_id, rendered.blocks)
        _publish(client, slack_user_id, blocks, rendered.state)
        _remember(services, asker.user_id, slack_user_id, rendered.state)


def _remember(services: Services, user_id: int, slack_user_id: str, state: ViewState) -> None:
    """Note the tab as open, so a change to the user's actions re-publishes it."""
    try:
        with unit_of_work(services.sessions) as session:
            remember_home(
                session,
                user_id=user_id,
                slack_user_id=slack_user_id,
                state=state.encode(),
                now=services.clock(),
            )
    except SQLAlchemyError:
        logger.warning("could not note the Home tab of user %s as open", user_id, exc_info=True)


def republish_open_homes(services: Services, client: WebClient, user_ids: set[int]) -> int:
    """Re-publish, where the user left it, each open Home tab of ``user_ids``; return how many.

    Called after the background evaluation changed these users' guided actions (a meeting
    ended an hour ago, a task became due today): a tab left open shows it without a click.
    A tab published within ``OPEN_HOME_WINDOW`` counts as open (Slack reports no closing).
    """
    since = services.clock() - OPEN_HOME_WINDOW
    with services.sessions() as session:
        homes = [
            (h.slack_user_id, h.state) for h in open_homes(session, user_ids=user_ids, since=since)
        ]
    published = 0
    for slack_user_id, encoded in homes:
        try:
            state = ViewState.decode(encoded)
        except BadState:
            state = ViewState()
        who = Acting(services, client, slack_user_id)
        try:
            publish_home(who, state=state, ticket=take_home_ticket(services, slack_user_id))
        except SlackApiError:
            logger.warning("could not re-publish the Home tab of %s", slack_user_id, exc_info=True)
            continue
        published += 1
    return published


def _with_unsaved_changes(
    services: Services, user_id: int, blocks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The view with the user's changes the CRM did not take under its header (with their
    Retry / Apply mine / Keep theirs buttons), while they fit Slack's 100 blocks."""
    with services.sessions() as session:
        notices = unsaved_notices(session, user_id, now=services.clock())
    extra = [block for notice in notices for block in write_notice_blocks(notice)]
    if not extra or len(blocks) + len(extra) > MAX_BLOCKS["home"]:
        return blocks
    return [*blocks[:1], *extra, *blocks[1:]]


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
        header(_("Your sales workspace")),
        section(unmapped_text(slack_user_id)),
        context(_("Once you are linked, open this tab again.")),
    ]
