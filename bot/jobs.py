"""The background jobs of ``salesbot serve``: one APScheduler (a daemon thread) per process.

- every minute, the digest tick (``bot.digests.schedule.DigestScheduler.tick``);
- every 20 seconds, the guided-action tick (``rules.guided_actions.timing.tick``): only the
  records whose time boundary passed since the last tick are evaluated (a meeting ended an
  hour ago, a local midnight made a task due today), then the open Home tabs of the users
  whose actions changed are re-published and the nudges due are sent;
- every hour, Slack receipts older than a day forgotten.

Every replica runs them: claims in the database keep each digest to one send and each
guided-action window to one evaluation; receipt pruning is safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.digests.compose import slack_home_url
from bot.digests.deliver import DEFAULT_RATE_PER_SECOND, Pacer, claimer_name
from bot.digests.schedule import DigestScheduler, build_digest_scheduler
from bot.nudges import send_nudges
from connectors.hubspot.state import prune_applied_events
from handlers.slack.home_tab import republish_open_homes
from handlers.slack.services import Services
from rules.guided_actions.timing import Tick, tick
from storage.deliveries import release_claims
from storage.outbox import prune_settled
from storage.receipts import prune_receipts

logger = logging.getLogger(__name__)

# A tick that starts this late (a busy or paused process) still runs; later than that,
# APScheduler reports it missed (we log it) and the next tick catches up, because a due
# digest stays due for CATCH_UP after its time.
TICK_GRACE_SECONDS = 50
# The guided-action tick: an action is at most this late (plus the tick's own run time).
ACTIONS_TICK_SECONDS = 20

# Slack retries an event within minutes; a day of receipts is plenty to apply each once.
RECEIPT_RETENTION = timedelta(days=1)
WEBHOOK_EVENT_RETENTION = timedelta(days=3)
SETTLED_WRITE_RETENTION = timedelta(days=30)


@dataclass
class BackgroundJobs:
    """The digest tick and the housekeeping around it, on one background scheduler.

    Args:
        digests: The digest tick; its sessions, clock and guided-action refresher serve the
            other jobs too.
    """

    digests: DigestScheduler
    on_actions_changed: Callable[[set[int]], object] | None = None
    # Sends the nudges due (after each guided-action tick): rules.digests.nudges, bot.nudges.
    nudge: Callable[[], object] | None = None
    _scheduler: BackgroundScheduler | None = field(default=None, init=False)

    def prune_receipts(self, now: datetime | None = None) -> int:
        """Housekeeping: forget Slack receipts older than a day, applied HubSpot webhook
        events older than three days and settled HubSpot writes older than 30 days, so
        these tables stay small for years; return how many rows went."""
        now = now or self.digests.clock()
        with self.digests.sessions() as session:
            removed = prune_receipts(session, older_than=now - RECEIPT_RETENTION)
            removed += prune_applied_events(session, older_than=now - WEBHOOK_EVENT_RETENTION)
            removed += prune_settled(session, older_than=now - SETTLED_WRITE_RETENTION)
            session.commit()
        return removed

    def tick_actions(self, now: datetime | None = None) -> Tick | None:
        """Evaluate the guided actions whose time boundary passed since the last tick (on one
        replica), then tell ``on_actions_changed`` whose actions changed."""
        now = now or self.digests.clock()
        with self.digests.sessions() as session:
            done = tick(session, now=now)
            session.commit()
        if self.nudge is not None:
            # Every tick, not only when actions changed: "a meeting in 30 minutes" comes due
            # with no change to the action.
            self.nudge()
        if done is None:
            return None
        users = done.report.users
        if done.full:
            logger.info("guided actions: full pass at %s (%s)", now.isoformat(), done.report)
        if users and self.on_actions_changed is not None:
            self.on_actions_changed(users)
        return done

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
        scheduler.add_job(
            self.tick_actions,
            IntervalTrigger(seconds=ACTIONS_TICK_SECONDS, timezone=UTC),
            id="guided_actions_tick",
            name="evaluate guided actions whose time came",
        )
        scheduler.add_job(
            self.prune_receipts,
            IntervalTrigger(hours=1, timezone=UTC),
            id="receipts_prune",
            name="forget old Slack receipts, webhook events and settled writes",
        )
        scheduler.add_listener(_log_job_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    def shutdown(self) -> None:
        """Stop the scheduler: a running job finishes, but digests not yet sent are not sent;
        the claims this replica took for them are released for another replica's next tick.
        """
        self.digests.deliverer.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        try:
            with self.digests.sessions() as session:
                released = release_claims(session, claimer=self.digests.deliverer.claimer)
                session.commit()
        except SQLAlchemyError as error:
            logger.warning("digest claims not released (%s): they expire with their lease", error)
            return
        if released:
            logger.info("released %d digest claim(s) for another replica to send", released)


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
    pacer = Pacer(DEFAULT_RATE_PER_SECOND)
    publisher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="salesbot-home")
    jobs = BackgroundJobs(
        digests,
        # Rendering Home tabs takes a while per user: off the tick's thread, so the next tick
        # (and its lateness) never waits for it.
        on_actions_changed=lambda users: publisher.submit(
            republish_open_homes, services, client, users
        ),
        nudge=lambda: send_nudges(
            sessions=services.sessions,
            client=client,
            clock=services.clock,
            pacer=pacer,
            default_language=services.settings.default_language,
        ),
    )
    jobs.start()
    logger.info("background jobs started (digests a minute, guided actions every 20 s)")
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
