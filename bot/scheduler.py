"""The digest scheduler: a minute tick that sends whatever is due, on every replica.

[choice] A minute tick, not one CronTrigger per user: users change their digest time, zone
and weekdays in Slack at any moment, and a tick that reads them from the database picks
that up without re-registering jobs, costs one query a minute, and makes catching up after
downtime the same code path as the normal send. Daylight saving is handled where the due
time is computed (``rules.digest_schedule``), with ``zoneinfo``.

APScheduler 3.x keeps its jobs per process. Every replica may run this scheduler: the claim
in the database (a unique row per recipient, kind and local date) makes each digest go out
once, whichever replica's tick gets there first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import Deliverer, DeliveryReport
from bot.metrics import count_digests
from rules.digest_schedule import CATCH_UP, DueDigest, due_digests, missed_digests
from storage.deliveries import release_claims
from storage.models import DigestKind
from storage.receipts import prune_receipts

logger = logging.getLogger(__name__)

# A tick that starts this late (a busy or paused process) still runs; later than that,
# APScheduler reports it missed (we log it) and the next tick catches up, because a due
# digest stays due for CATCH_UP after its time.
TICK_GRACE_SECONDS = 50
# Guided actions are re-evaluated for everyone this often, besides just before each digest.
ACTIONS_REFRESH_MINUTES = 15

# Slack retries an event within minutes; a day of receipts is plenty to apply each once.
RECEIPT_RETENTION = timedelta(days=1)

# (session, now, user ids or None for everyone) -> None; commits are the caller's.
ActionsRefresher = Callable[[Session, datetime, list[int] | None], None]


@dataclass
class DigestScheduler:
    """Ticks every minute: re-evaluates guided actions of due reps, then delivers.

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
    _scheduler: BackgroundScheduler | None = field(default=None, init=False)

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

    def prune_receipts(self, now: datetime | None = None) -> int:
        """Forget Slack receipts older than a day (housekeeping); return how many."""
        now = now or self.clock()
        with self.sessions() as session:
            removed = prune_receipts(session, older_than=now - RECEIPT_RETENTION)
            session.commit()
        return removed

    def refresh_all(self) -> None:
        """The periodic re-evaluation of everyone's guided actions."""
        if self.refresh_actions is None:
            return
        with self.sessions() as session:
            self.refresh_actions(session, self.clock(), None)
            session.commit()

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

    def start(self) -> BackgroundScheduler:
        """Start the background scheduler (a daemon thread) and return it."""
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": TICK_GRACE_SECONDS,
            },
        )
        scheduler.add_job(
            self.tick,
            CronTrigger(second=0, timezone=UTC),
            id="digest_tick",
            name="send due digests",
        )
        if self.refresh_actions is not None:
            scheduler.add_job(
                self.refresh_all,
                IntervalTrigger(minutes=ACTIONS_REFRESH_MINUTES, timezone=UTC),
                id="guided_actions_refresh",
                name="re-evaluate guided actions",
            )
        scheduler.add_job(
            self.prune_receipts,
            IntervalTrigger(hours=1, timezone=UTC),
            id="receipts_prune",
            name="forget old Slack receipts",
        )
        scheduler.add_listener(_log_job_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    def shutdown(self) -> None:
        """Stop ticking; sends in flight finish, digests not yet sent stay for the next tick."""
        self.deliverer.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        with self.sessions() as session:
            released = release_claims(session, claimer=self.deliverer.claimer)
            session.commit()
        if released:
            logger.info("released %d digest claim(s) for another replica to send", released)


def _log_job_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        logger.warning(
            "scheduler job %s missed its run at %s (beyond the %ss grace); "
            "the next tick catches up",
            event.job_id,
            event.scheduled_run_time,
            TICK_GRACE_SECONDS,
        )
    else:
        logger.error("scheduler job %s failed", event.job_id, exc_info=event.exception)
