"""The background jobs of ``salesbot serve``: one APScheduler (a daemon thread) per process.

- every minute, the digest tick (``bot.digests.schedule.DigestScheduler.tick``);
- every 15 minutes, everyone's guided actions re-evaluated;
- every hour, Slack receipts older than a day forgotten.

Every replica runs them: claims in the database keep each digest to one send, and the other
two jobs are safe to run twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.digests.compose import slack_home_url
from bot.digests.deliver import claimer_name
from bot.digests.schedule import DigestScheduler, build_digest_scheduler
from handlers.slack.services import Services
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


@dataclass
class BackgroundJobs:
    """The digest tick and the housekeeping around it, on one background scheduler.

    Args:
        digests: The digest tick; its sessions, clock and guided-action refresher serve the
            other jobs too.
    """

    digests: DigestScheduler
    _scheduler: BackgroundScheduler | None = field(default=None, init=False)

    def prune_receipts(self, now: datetime | None = None) -> int:
        """Forget Slack receipts older than a day (housekeeping); return how many."""
        now = now or self.digests.clock()
        with self.digests.sessions() as session:
            removed = prune_receipts(session, older_than=now - RECEIPT_RETENTION)
            session.commit()
        return removed

    def refresh_all(self) -> None:
        """The periodic re-evaluation of everyone's guided actions."""
        refresh = self.digests.refresh_actions
        if refresh is None:
            return
        with self.digests.sessions() as session:
            refresh(session, self.digests.clock(), None)
            session.commit()

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
            self.digests.tick,
            CronTrigger(second=0, timezone=UTC),
            id="digest_tick",
            name="send due digests",
        )
        if self.digests.refresh_actions is not None:
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
        """Stop the scheduler, letting a running job finish."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None


def start_background_jobs(services: Services, client: WebClient) -> BackgroundJobs:
    """Start the jobs next to the app (every replica may; claims keep each digest once)."""
    digests = build_digest_scheduler(
        settings=services.settings,
        sessions=services.sessions,
        client=client,
        claimer=claimer_name(),
        clock=services.clock,
        home=slack_home_url(client),
    )
    jobs = BackgroundJobs(digests)
    jobs.start()
    logger.info("background jobs started (a digest tick a minute)")
    return jobs


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
