"""Write-back in ``salesbot serve``: the outbox worker, and what its users hear.

With a portal connected, every session the app writes with queues its writes in the
outbox (``storage.outbox.enable_outbox``), and each commit that queued one wakes this
worker. The worker sends them (``connectors.hubspot.writeback``), lets the guided actions
see any local copy it restored, and tells each user in a direct message about a change
that was not saved (with "Apply mine" / "Keep HubSpot's", or "Retry"), or that was saved
after all, in that user's language. A click answered "Saving to HubSpot…" is updated once
its write settles (``handlers.slack.crm_replies``), and its user's Home tab re-published.
Stopping it mid-send is safe: rows are sent exactly once across restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.crm_changes import apply_to_workspace
from bot.settings import Settings
from bot.worker import BackgroundWorker
from connectors.hubspot.setup import SetupCheck, check_properties
from connectors.hubspot.sync import SyncResult
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import Delivered, OutboxSender
from rules.crm_writes.queries import write_notice
from storage.models import OutboxWrite, User
from storage.outbox import DueReply, enable_outbox, replies_due, take_reply, to_notify

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from handlers.slack.services import Services

logger = logging.getLogger(__name__)

CRM_NAME = "HubSpot"
# With nothing to send, the worker still looks this often (retries fall due, other
# replicas' claims run out).
IDLE_SECONDS = 5.0
# When the start-up check of salesbot's HubSpot properties could not reach HubSpot.
SETUP_RECHECK = timedelta(minutes=10)


class OutboxWorker(BackgroundWorker):
    """Sends the outbox in a thread; ``wake`` makes it go at once."""

    thread_name = "hubspot-outbox"
    failure_message = "sending the outbox failed; it goes on shortly"
    idle_seconds = IDLE_SECONDS

    def __init__(
        self,
        engine: Engine,
        sender: OutboxSender,
        *,
        tell: Callable[[str, int], None],
        publish: Callable[[list[str]], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        attribute: bool = False,
        reply: Callable[[DueReply], object] | None = None,
    ) -> None:
        """
        Args:
            attribute: Name the acting user in HubSpot (``salesbot_acted_by``) where the
                portal has the property (``SALESBOT_HUBSPOT_AUTHOR_PROPERTY``).
            reply: Updates a click's "Saving to HubSpot…" answer once its rows settled.
        """
        super().__init__()
        self.engine = engine
        self.sender = sender
        self.tell = tell
        self.publish = publish
        self.reply = reply
        self.clock = clock
        self.attribute = attribute
        self.setup: SetupCheck | None = None
        self._recheck_at = clock()

    def step(self) -> None:
        if self.setup is None or (
            self.setup.error is not None and self.clock() >= self._recheck_at
        ):
            self.check_setup()
        self.run_once()

    def check_setup(self) -> SetupCheck:
        """Ask HubSpot once whether salesbot's properties exist; say so when they don't."""
        found = check_properties(self.sender.api)
        self.setup = found
        # HubSpot unreachable: ask again later, not every round.
        self._recheck_at = self.clock() + SETUP_RECHECK
        if found.complete:
            logger.info("hubspot: %s", found.describe())
        else:
            logger.warning("hubspot: %s", found.describe())
        self.sender.actor_types = found.actor_types if self.attribute else frozenset()
        self.sender.unique_types = found.unique_types
        return found

    def run_once(self) -> Delivered:
        """Send what is due, then tell the users concerned."""
        report = self.sender.deliver()
        if report.touched:
            users = apply_to_workspace(
                self.engine, SyncResult(touched=report.touched), full=False, now=self.clock()
            )
            self._publish(users)
        self._tell(report.notify)
        self._answer()
        return report

    def _answer(self) -> None:
        """Update the answers of clicks whose writes settled; re-publish their users' Home
        tabs (which showed "saving", or now list the failure)."""
        with Session(self.engine) as session:
            due = replies_due(session)
        users: set[int] = set()
        for one in due:
            with Session(self.engine) as session:
                taken = take_reply(session, one.key)  # one replica answers each click
                session.commit()
            if not taken:
                continue
            try:
                if self.reply is not None:
                    self.reply(one)
            except Exception:
                # Slack refused or was unreachable: the Home tab and the direct message
                # about a failure still tell; the answer is not tried again.
                logger.exception("hubspot: updating the answer of a click failed")
            if one.actor_id is not None:
                users.add(one.actor_id)
        if users:
            self._publish(users)

    def _tell(self, row_ids: list[int]) -> None:
        with Session(self.engine) as session:
            wanted = list(dict.fromkeys([*row_ids, *to_notify(session)]))
            for row_id in wanted:
                row = session.get(OutboxWrite, row_id)
                actor = session.get(User, row.actor_id) if row and row.actor_id else None
                if row is None:
                    continue
                if actor is not None and actor.slack_user_id:
                    try:
                        self.tell(actor.slack_user_id, row_id)
                    except Exception:
                        logger.exception(
                            "hubspot: telling %s about row %s failed", actor.id, row_id
                        )
                        continue
                row.notified_at = self.clock()
                session.commit()

    def _publish(self, user_ids: set[int]) -> None:
        with Session(self.engine) as session:
            slack_ids = [
                u.slack_user_id
                for u in (session.get(User, i) for i in sorted(user_ids))
                if u is not None and u.slack_user_id
            ]
        if slack_ids:
            self.publish(slack_ids)


def writing_client(settings: Settings) -> WritingClient:
    """The write-back's client for the configured portal (a token must be set)."""
    assert settings.hubspot_token is not None
    return WritingClient(
        token=settings.hubspot_token.get_secret_value(), api_url=settings.hubspot_api_url
    )


def notice_message(
    services: Services, row_id: int, *, default_language: str
) -> tuple[str, list[dict[str, Any]]] | None:
    """The direct message about a row (fallback text, blocks), in the language of the user
    whose change it was; None when there is nothing to tell."""
    from handlers.i18n.users import speaking_to
    from handlers.render.crm_writes import write_notice_blocks, write_notice_text
    from handlers.render.kit import fallback_text

    with services.sessions() as session:
        notice = write_notice(session, row_id, now=services.clock())
        if notice is None or notice.user_id is None:
            return None
        with speaking_to(session, user_id=notice.user_id, default=default_language):
            return fallback_text(write_notice_text(notice)), write_notice_blocks(notice)


def start_writeback(
    settings: Settings,
    engine: Engine,
    services: Services,
    slack: WebClient,
    *,
    publish: Callable[[list[str]], None],
    holder: str,
) -> OutboxWorker:
    """Turn the outbox on for the app's sessions and start its worker.

    Args:
        holder: This replica's name (``bot.hubspot.replica_name``), on the outbox rows it
            claims.
    """
    client = writing_client(settings)

    def tell(slack_user_id: str, row_id: int) -> None:
        message = notice_message(services, row_id, default_language=settings.default_language)
        if message is not None:
            text, blocks = message
            slack.chat_postMessage(channel=slack_user_id, text=text, blocks=blocks)

    def reply(due: DueReply) -> None:
        from handlers.slack.crm_replies import answer_late

        answer_late(services, slack, due, default_language=settings.default_language)

    sender = OutboxSender(engine, client, holder=holder)
    worker = OutboxWorker(
        engine,
        sender,
        tell=tell,
        publish=publish,
        attribute=settings.hubspot_author_property,
        reply=reply,
    ).start()
    enable_outbox(services.sessions, crm_name=CRM_NAME, wake=worker.wake)
    return worker
