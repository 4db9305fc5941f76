"""Helpers for digest tests: a plain composer and a deliverer wired to the stand-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.digests.deliver import Deliverer, Message, Outgoing, Pacer, SendPolicy, Undeliverable
from rules.digests.schedule import DueDigest
from storage.db import session_factory
from storage.models import DigestKind, Team, User


def hello_composer(session: Session, due: DueDigest, now: datetime) -> Outgoing:
    """A one-line digest to the rep's DM or the team channel (content is tested elsewhere)."""
    if due.kind is DigestKind.REP:
        user = session.get(User, due.recipient_id)
        if user is None or not user.slack_user_id:
            return Undeliverable("no Slack user")
        channel = user.slack_user_id
    else:
        team = session.get(Team, due.recipient_id)
        if team is None or not team.digest_channel_id:
            return Undeliverable("no channel")
        channel = team.digest_channel_id
    text = f"digest for {due.local_date}"
    return Message(channel, text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def standin_deliverer(
    engine: Engine,
    api_url: str,
    *,
    clock: Callable[[], datetime],
    claimer: str = "test",
    rate_per_second: float = 200.0,
    workers: int = 4,
) -> Deliverer:
    """A deliverer on ``engine`` sending to the stand-in, with fast retries."""
    return Deliverer(
        sessions=session_factory(engine),
        client=WebClient(token="xoxb-test", base_url=api_url),
        compose=hello_composer,
        claimer=claimer,
        clock=clock,
        pacer=Pacer(rate_per_second, channel_interval=0.0),
        workers=workers,
        policy=SendPolicy(attempts=3, initial_wait=0.01, max_wait=0.05),
    )
