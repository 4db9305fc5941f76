"""In ``salesbot serve``: the association sweep every N minutes, under the sync lease.

Association changes do not move a record's modified date, so the incremental sync misses
them; without webhooks they would wait for the next change of the record or a full sync.
``connectors.hubspot.associations`` re-reads the links of the records the rules read now;
here it runs on a timer, one replica at a time (the sync's lease: while a sync holds it,
the sweep waits a minute and tries again), and the guided actions of what changed are
re-evaluated and their owners' Home tabs published (docs/hubspot.md, "Association changes").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.crm_changes import apply_to_workspace
from connectors.hubspot import BudgetSpent, OfficialClient, Syncer, release_lease, take_lease
from connectors.hubspot.associations import SweepReport, sweep_associations
from storage.models import User

logger = logging.getLogger(__name__)

# While a sync holds the lease, the sweep tries again this much later.
RETRY_AFTER = timedelta(minutes=1)
BUSY = "another replica is syncing"


@dataclass(frozen=True)
class Swept:
    """One sweep: what it found, whose workspace changed, or why it did not run."""

    report: SweepReport = field(default_factory=SweepReport)
    users: set[int] = field(default_factory=set)
    skipped_reason: str | None = None


def sweep_and_apply(
    engine: Engine,
    client: OfficialClient,
    *,
    holder: str,
    lease_ttl: timedelta,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Swept:
    """One association sweep under the sync lease, then the guided actions of what changed."""
    with Session(engine) as session:
        if not take_lease(session, holder=holder, now=clock(), ttl=lease_ttl):
            session.rollback()
            return Swept(skipped_reason=BUSY)
        session.commit()
    try:
        syncer = Syncer(engine, client, clock=clock, lease=(holder, lease_ttl))
        report, stopped = SweepReport(), None
        try:
            report = sweep_associations(syncer, now=clock())
        except BudgetSpent as spent:
            logger.warning("hubspot: association sweep stopped: daily API budget spent (%s)", spent)
            stopped = "daily API budget spent"
        else:
            logger.info(
                "hubspot: association sweep checked %d records, %d changed",
                report.checked,
                report.changed,
            )
        # What was written before a stop counts too.
        users = apply_to_workspace(engine, syncer.result, full=False, now=clock())
    finally:
        with Session(engine) as session:
            release_lease(session, holder=holder)
            session.commit()
    return Swept(report, users, stopped)


class AssociationSweeper:
    """Runs ``sweep_and_apply`` every ``every`` in a thread; the first one ``every`` after
    the start (the start-up sync has just read every association it needed)."""

    def __init__(
        self,
        engine: Engine,
        client: OfficialClient,
        *,
        every: timedelta,
        holder: str,
        lease_ttl: timedelta,
        publish: Callable[[list[str]], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.client = client
        self.every = every
        # Its own holder name: the sync and the sweep of one replica never run at once.
        self.holder = f"{holder}/associations"
        self.lease_ttl = lease_ttl
        self.publish = publish
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AssociationSweeper:
        self._thread = threading.Thread(
            target=self._run, name="hubspot-association-sweep", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        wait = self.every
        while not self._stop.wait(timeout=wait.total_seconds()):
            wait = self.every
            try:
                swept = self.sweep_now()
            except Exception:
                logger.exception("hubspot: the association sweep failed; it runs again later")
                continue
            if swept.skipped_reason == BUSY:
                wait = min(RETRY_AFTER, self.every)

    def sweep_now(self) -> Swept:
        """Sweep once, and publish the Home tabs of the users whose workspace changed."""
        swept = sweep_and_apply(
            self.engine,
            self.client,
            holder=self.holder,
            lease_ttl=self.lease_ttl,
            clock=self.clock,
        )
        if swept.users:
            with Session(self.engine) as session:
                slack_ids = session.scalars(
                    select(User.slack_user_id).where(
                        User.id.in_(sorted(swept.users)), User.slack_user_id.is_not(None)
                    )
                )
                found = [s for s in slack_ids if s]
            if found:
                self.publish(found)
        return swept
