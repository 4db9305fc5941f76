"""The digest tick: every minute, send whatever is due, on every replica.

[choice] A minute tick, not one CronTrigger per user: users change their digest time, zone
and weekdays in Slack at any moment, and a tick that reads them from the database picks
that up without re-registering jobs, costs one query a minute, and makes catching up after
downtime the same code path as the normal send. Daylight saving is handled where the due
time is computed (``rules.digests.schedule``), with ``zoneinfo``.

APScheduler 3.x keeps its jobs per process (``bot.jobs`` runs the tick). Every replica may
run it: the claim in the database (a unique row per recipient, kind and local date) makes each
digest go out once, whichever replica's tick gets there first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.digests.compose import DigestComposer, digest_sources
from bot.digests.deliver import DEFAULT_RATE_PER_SECOND, Deliverer, DeliveryReport, SharedPacer
from handlers.slack.services import AppSettings
from rules.clock import local_date, user_zone, zone_or_utc
from rules.digests.schedule import CATCH_UP, DueDigest, due_digests, missed_digests
from rules.guided_actions import evaluate
from storage.deliveries import record_missed
from storage.models import DigestKind, Team, User

logger = logging.getLogger(__name__)

DIGESTS = Counter(
    "salesbot_digests_total",
    "Digests by kind and outcome (sent, skipped, failed, not_claimed).",
    ["kind", "outcome"],
)


def count_digests(report: DeliveryReport) -> None:
    """Count a delivery run's digests by kind and outcome."""
    outcomes = {
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": [due for due, _reason in report.failed],
        "not_claimed": report.not_claimed,
    }
    for outcome, digests in outcomes.items():
        for due in digests:
            DIGESTS.labels(kind=str(due.kind), outcome=outcome).inc()


# (session, now, user ids or None for everyone) -> None; commits are the caller's.
ActionsRefresher = Callable[[Session, datetime, list[int] | None], None]


@dataclass
class DigestScheduler:
    """A tick (every minute, from ``bot.jobs``): re-evaluates guided actions of due reps, then
    delivers.

    Args:
        sessions: Session factory.
        deliverer: Claims, composes and sends.
        clock: The time source.
        default_zone: For users whose zone is unknown or invalid.
        refresh_actions: Re-evaluates guided actions (None until that part is wired).
        catch_up: How long after its time a missed digest is still sent.
    """

    sessions: sessionmaker[Session]
    deliverer: Deliverer
    clock: Callable[[], datetime]
    default_zone: str = "UTC"
    refresh_actions: ActionsRefresher | None = None
    catch_up: timedelta = CATCH_UP
    _last_tick: datetime | None = field(default=None, init=False)

    def tick(self, now: datetime | None = None) -> DeliveryReport:
        """Send every digest due at ``now`` (default: the clock); log the ones missed."""
        now = now or self.clock()
        with self.sessions() as session:
            due = due_digests(
                session, now=now, default_zone=self.default_zone, catch_up=self.catch_up
            )
            self._log_missed(session, now)
        self._last_tick = now
        if not due:
            return DeliveryReport()
        self._refresh_before(due, now)
        report = self.deliverer.deliver(due)
        count_digests(report)
        logger.info("digest tick at %s: %s", now.isoformat(), report.summary())
        return report

    def _refresh_before(self, due: list[DueDigest], now: datetime) -> None:
        if self.refresh_actions is None:
            return
        reps = sorted({d.recipient_id for d in due if d.kind is DigestKind.REP})
        try:
            with self.sessions() as session:
                self.refresh_actions(session, now, reps or None)
                session.commit()
        except Exception:
            # Stale actions are better than no digest: log, and send what is there.
            logger.exception("re-evaluating guided actions before the digests failed")

    def _log_missed(self, session: Session, now: datetime) -> None:
        # First tick after a start: look back a day, so digests lost while every replica
        # was down are reported too.
        since = self._last_tick or now - timedelta(days=1)
        missed = missed_digests(
            session,
            since=since,
            until=now,
            default_zone=self.default_zone,
            catch_up=self.catch_up,
        )
        for digest in missed:
            record_missed(
                session,
                kind=digest.kind,
                recipient_id=digest.recipient_id,
                local_date=digest.local_date,
                reason=f"not sent within {self.catch_up} of its time",
                now=now,
            )
        session.commit()
        if missed:
            shown = ", ".join(
                f"{m.kind} {m.recipient_id} on {m.local_date} (due {m.due_at:%H:%M} UTC)"
                for m in missed[:20]
            )
            more = f" and {len(missed) - 20} more" if len(missed) > 20 else ""
            logger.error(
                "%d digest(s) not sent within %s of their time, now missed: %s%s",
                len(missed),
                self.catch_up,
                shown,
                more,
            )


# Wiring ----------------------------------------------------------------------------------


def build_digest_scheduler(
    *,
    settings: AppSettings,
    sessions: sessionmaker[Session],
    client: WebClient,
    claimer: str,
    clock: Callable[[], datetime],
    home: str | None = None,
    rate_per_second: float = DEFAULT_RATE_PER_SECOND,
) -> DigestScheduler:
    """The digest tick the server runs (``bot.jobs``) on every replica."""
    deliverer = Deliverer(
        sessions=sessions,
        client=client,
        compose=DigestComposer(
            sources=digest_sources(settings),
            home=home,
            default_language=settings.default_language,
        ),
        claimer=claimer,
        clock=clock,
        pacer=SharedPacer(sessions, rate_per_second),
    )
    return DigestScheduler(
        sessions=sessions,
        deliverer=deliverer,
        clock=clock,
        default_zone=settings.default_timezone,
        refresh_actions=refresh_guided_actions,
    )


def refresh_guided_actions(session: Session, now: datetime, user_ids: list[int] | None) -> None:
    """Bring guided actions up to date (for ``user_ids``, or everyone); the caller commits."""
    evaluate(session, now=now, user_ids=user_ids)


# One recipient's digest due now (``salesbot digest preview`` and ``send``, the demo) -------


def due_now_for_user(session: Session, user: User, now: datetime) -> DueDigest:
    """The rep digest of ``user`` for their own today."""
    # The user's zone as every view resolves it (rules.clock), so "today" agrees.
    return _due_now(
        kind=DigestKind.REP, recipient_id=user.id, now=now, zone=user_zone(session, user)
    )


def due_now_for_team(team: Team, now: datetime, default_zone: str) -> DueDigest:
    """The manager digest of ``team`` for the team's today."""
    zone = zone_or_utc(team.timezone, default_zone)
    return _due_now(kind=DigestKind.MANAGER, recipient_id=team.id, now=now, zone=zone)


def _due_now(*, kind: DigestKind, recipient_id: int, now: datetime, zone: ZoneInfo) -> DueDigest:
    return DueDigest(kind, recipient_id, local_date(zone, now), now, zone.key)
