"""Sending nudges: claim what is due (once across replicas), then DM each rep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.digests.deliver import (
    Message,
    Pacer,
    PermanentSlackError,
    TransientSlackError,
    post_message,
)
from handlers.i18n import SOURCE_LANGUAGE
from handlers.i18n.users import speaking_to
from handlers.render.nudges import nudge_text, render_nudge
from rules.digests.nudges import claim_nudges, record_failed, record_sent
from storage.db import unit_of_work

logger = logging.getLogger(__name__)


def send_nudges(
    *,
    sessions: sessionmaker[Session],
    client: WebClient,
    clock: Callable[[], datetime],
    pacer: Pacer,
    default_language: str = SOURCE_LANGUAGE,
) -> int:
    """Claim the nudges due now and send them, each in its rep's language; return how many
    DMs went out.

    The claims are committed before anything is sent: a replica that claims the same action
    a moment later finds it taken. A DM Slack refuses is recorded as failed, not retried.
    """
    with unit_of_work(sessions) as session:
        nudges = claim_nudges(session, now=clock())
    sent = 0
    for nudge in nudges:
        with (
            sessions() as session,
            speaking_to(session, user_id=nudge.user_id, default=default_language),
        ):
            message = Message(
                channel=nudge.slack_user_id, text=nudge_text(nudge), blocks=render_nudge(nudge)
            )
        try:
            posted = post_message(client, message, pacer=pacer)
        except (PermanentSlackError, TransientSlackError):
            logger.warning("nudge to user %s not sent", nudge.user_id, exc_info=True)
            with unit_of_work(sessions) as session:
                record_failed(session, nudge)
            continue
        with unit_of_work(sessions) as session:
            record_sent(session, nudge, channel_id=posted.channel, message_ts=posted.ts)
        sent += 1
    return sent
