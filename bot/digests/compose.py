"""Composing a digest: data (rules) + blocks (handlers) -> a Slack message, or a reason not to."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.digests.deliver import Message, Nothing, Outgoing, Undeliverable
from handlers.i18n import N_, _, use_language
from handlers.i18n.formats import first_weekday
from handlers.i18n.users import speaking_to
from handlers.render.digest import (
    home_url,
    manager_digest_text,
    render_manager_digest,
    render_rep_digest,
    rep_digest_text,
)
from handlers.slack.services import AppSettings
from insights.risks import RiskKind, crm_risks
from rules.digests.content import DigestSources, manager_digest, rep_digest
from rules.digests.schedule import DueDigest
from storage.models import DigestKind, User

logger = logging.getLogger(__name__)

METADATA_EVENT = "salesbot_digest"


def digest_metadata(due: DueDigest) -> dict[str, Any]:
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {
            "kind": str(due.kind),
            "recipient_id": due.recipient_id,
            "local_date": due.local_date.isoformat(),
        },
    }


@dataclass
class DigestComposer:
    """Composes the digest a ``DueDigest`` names, as of ``now``.

    Args:
        sources: Guided actions and deal risks (and the default zone).
        home: The Home tab deep link, when the app's team and app ids are known.
    """

    sources: DigestSources = field(default_factory=DigestSources)
    home: str | None = None
    # The workspace default (SALESBOT_DEFAULT_LANGUAGE): team channels, and reps with no
    # language of their own.
    default_language: str = "en"

    def __call__(self, session: Session, due: DueDigest, now: datetime) -> Outgoing:
        if due.kind is DigestKind.REP:
            return self.rep(session, due, now)
        return self.manager(session, due, now)

    def rep(self, session: Session, due: DueDigest, now: datetime) -> Outgoing:
        with speaking_to(session, user_id=due.recipient_id, default=self.default_language):
            return self._rep(session, due, now)

    def _rep(self, session: Session, due: DueDigest, now: datetime) -> Outgoing:
        try:
            digest = rep_digest(
                session,
                user_id=due.recipient_id,
                now=now,
                sources=self.sources,
                first_weekday=first_weekday(),  # the rep's locale's (speaking_to set it)
            )
        except LookupError:
            return Undeliverable("user no longer exists")
        if not digest.slack_user_id:
            return Undeliverable("user has no Slack account linked")
        if digest.is_empty and digest.when_empty == "skip":
            return Nothing("nothing to do, and the rep chose no empty digests")
        return Message(
            channel=digest.slack_user_id,  # posting to a user id lands in the app's DM
            text=rep_digest_text(digest),
            blocks=render_rep_digest(digest, home=self.home),
            metadata=digest_metadata(due),
        )

    def manager(self, session: Session, due: DueDigest, now: datetime) -> Outgoing:
        # A channel is shared: it reads the workspace's language.
        with use_language(self.default_language):
            return self._manager(session, due, now)

    def _manager(self, session: Session, due: DueDigest, now: datetime) -> Outgoing:
        digest = manager_digest(session, team_id=due.recipient_id, now=now, sources=self.sources)
        if digest is None:
            return Undeliverable("team has no manager")
        if not digest.channel_id:
            return Undeliverable("team has no digest channel")
        return Message(
            channel=digest.channel_id,
            text=manager_digest_text(digest),
            blocks=render_manager_digest(digest, home=self.home),
            metadata=digest_metadata(due),
        )


# Short names for the CRM-derived risks of Deal Insights, as a team digest line shows them.
RISK_LABELS: dict[RiskKind, str] = {
    RiskKind.DECLINING_SCORE: N_("deal score falling"),
    RiskKind.CLOSE_DATE_PASSED: N_("close date passed"),
    RiskKind.CLOSE_DATE_NEAR: N_("closes within a week"),
    RiskKind.STALLED: N_("stalled in stage"),
    RiskKind.BUYER_UNRESPONSIVE: N_("buyer not replying"),
    RiskKind.NO_CONTACT: N_("no contact"),
}


def crm_risk_source(
    session: Session, viewer: User, deal_ids: list[int], now: datetime
) -> dict[int, str]:
    """Deals at risk by Deal Insights' CRM-derived risks, as ``viewer`` may see them.

    "No follow-up scheduled" is left out: the team digest lists those deals under "No
    activity scheduled" already. The reason names up to two risks, most pressing first.
    """
    reasons = {}
    for deal_id in deal_ids:
        labels = [
            _(RISK_LABELS[risk.kind])
            for risk in crm_risks(session, deal_id=deal_id, viewer=viewer, now=now)
            if risk.kind in RISK_LABELS
        ]
        if labels:
            reasons[deal_id] = ", ".join(labels[:2])
    return reasons


def digest_sources(settings: AppSettings) -> DigestSources:
    """Where digests get guided actions and deal risks from, in this build."""
    return DigestSources(risks=crm_risk_source, default_zone=settings.default_timezone)


def slack_home_url(client: WebClient) -> str | None:
    """The Home tab link for this workspace and app, or None if Slack will not say."""
    try:
        auth = client.auth_test()
        app_id = auth.get("app_id")
        if not app_id and auth.get("bot_id"):
            bot: dict[str, Any] = client.bots_info(bot=auth["bot_id"]).get("bot") or {}
            app_id = bot.get("app_id")
        return home_url(auth.get("team_id"), app_id)
    except Exception:  # a missing link is cosmetic: log it, never stop the digests
        logger.warning("could not work out the Home tab link", exc_info=True)
        return None
