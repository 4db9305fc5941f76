"""Write-back in ``salesbot serve``: the outbox worker, and what its users hear.

With a portal connected, every session the app writes with queues its writes in the
outbox (``storage.outbox.enable_outbox``), and each commit that queued one wakes this
worker. The worker sends them (``connectors.hubspot.writeback``), lets the guided actions
see any local copy it restored, and tells each user in a direct message about a change
that was not saved (with "Apply mine" / "Keep HubSpot's", or "Retry"), or that was saved
after all, in that user's language. Stopping it mid-send is safe: rows are sent exactly
once across restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.crm_changes import apply_to_workspace
from bot.settings import Settings
from connectors.hubspot.sync import SyncResult
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import Delivered, OutboxSender
from rules.crm_writes.queries import write_notice
from storage.models import OutboxWrite, User
from storage.outbox import enable_outbox, to_notify

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from handlers.slack.services import Services

logger = logging.getLogger(__name__)

CRM_NAME = "HubSpot"
# With nothing to send, the worker still looks this often (retries fall due, other
# replicas' claims run out).
IDLE_SECONDS = 5.0


class OutboxWorker:
    """Sends the outbox in a thread; ``wake`` makes it go at once."""

    def __init__(
        self,
        engine: Engine,
        sender: OutboxSender,
        *,
        tell: Callable[[str, int], None],
        publish: Callable[[list[str]], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.tell = tell
        self.publish = publish
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> OutboxWorker:
        self._thread = threading.Thread(target=self._run, name="hubspot-outbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                logger.exception("hubspot: sending the outbox failed; it goes on shortly")
            self._wake.wait(timeout=IDLE_SECONDS)

    def run_once(self) -> Delivered:
        """Send what is due, then tell the users concerned."""
        report = self.sender.deliver()
        if report.touched:
            users = apply_to_workspace(
                self.engine, SyncResult(touched=report.touched), full=False, now=self.clock()
            )
            self._publish(users)
        self._tell(report.notify)
        return report

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
    assert settings.hubspot_token is not None
    client = WritingClient(
        token=settings.hubspot_token.get_secret_value(), api_url=settings.hubspot_api_url
    )

    def tell(slack_user_id: str, row_id: int) -> None:
        message = notice_message(services, row_id, default_language=settings.default_language)
        if message is not None:
            text, blocks = message
            slack.chat_postMessage(channel=slack_user_id, text=text, blocks=blocks)

    sender = OutboxSender(engine, client, holder=holder)
    worker = OutboxWorker(engine, sender, tell=tell, publish=publish).start()
    enable_outbox(services.sessions, crm_name=CRM_NAME, wake=worker.wake)
    return worker
