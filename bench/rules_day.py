"""A simulated stretch of a working day for ``python -m bench rules --day HOURS``.

The organisation is loaded around ``start``; then the clock advances tick by tick. Within
each tick, CRM changes arrive at ``rate`` per second (a meeting outcome logged, a task
completed, a buyer's email arriving, a contact reassigned, a deal's next step edited, a
meeting booked for later today), each followed by the change-driven evaluation
(``evaluate(object_refs=...)``, what a button's write or a sync runs). At the end of the
tick, the time-driven evaluation runs for the window (``rules.guided_actions.timing.tick``).

Lateness of an item = when it was evaluated (simulated time of the change or tick, plus the
wall time the evaluation took) minus the instant it became due: the change's instant, or the
earliest boundary of its record in the window (a local midnight for rules 12 and 13). Every
simulated hour a full pass audits the result: whatever it still creates or expires was
missed by both paths, and counts as late by the hour.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.orm import Session

from rules.guided_actions import RULES, ObjectRef, RefKind, evaluate
from rules.guided_actions.timing import LOCAL_DAY_RULES, due_records, midnight_between, tick
from storage.models import (
    Activity,
    ActivityContact,
    ActivityKind,
    Contact,
    Deal,
    GuidedActionItem,
    User,
    UserPreferences,
)
from storage.types import utc


@dataclass
class DayResult:
    hours: float
    tick_seconds: int
    changes: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds, every item
    tick_lateness: list[float] = field(default_factory=list)
    change_lateness: list[float] = field(default_factory=list)
    change_cpu: list[float] = field(default_factory=list)  # seconds per change evaluation
    tick_cpu: float = 0.0
    missed: int = 0
    unexplained: int = 0  # items a tick changed with no boundary found (counted as a window)

    @property
    def cpu_per_hour(self) -> float:
        return (self.tick_cpu + sum(self.change_cpu)) / self.hours

    def quantile(self, values: list[float], q: float) -> float:
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def simulate_day(
    engine: Engine,
    *,
    start: datetime,
    hours: float,
    tick_seconds: int = 20,
    rate: float = 1.0,
    seed: int = 5,
    progress: Callable[[str], None] | None = None,
) -> DayResult:
    """Run the day; the organisation must already be loaded around ``start``."""
    rng = random.Random(seed)
    result = DayResult(hours=hours, tick_seconds=tick_seconds)
    with Session(engine, expire_on_commit=False) as session:
        tick(session, now=start)  # first start: the full pass, and the clock row
        session.commit()
        changes = _Changes(session, rng, start)
        zones = _zones(session)
        now = start
        end = start + timedelta(hours=hours)
        next_audit = start + timedelta(hours=1)
        owed = 0.0
        while now < end:
            window_end = now + timedelta(seconds=tick_seconds)
            owed += rate * tick_seconds
            while owed >= 1:
                owed -= 1
                at = now + timedelta(seconds=rng.uniform(0, tick_seconds))
                _one_change(session, changes, at, result)
            _one_tick(session, now, window_end, zones, result)
            now = window_end
            if now >= next_audit or now >= end:
                audit = evaluate(session, now=now)
                session.commit()
                missed = audit.created + audit.expired
                result.missed += missed
                result.lateness.extend([3600.0] * missed)
                next_audit += timedelta(hours=1)
                if progress is not None:
                    progress(f"{now - start} simulated: {result.changes} changes, {missed} missed")
    return result


def _one_change(session: Session, changes: _Changes, at: datetime, result: DayResult) -> None:
    ref = changes.make(at)
    session.flush()
    wall, cpu = time.perf_counter(), time.process_time()
    report = evaluate(session, now=at, object_refs=[ref])
    session.commit()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result.changes += 1
    result.change_cpu.append(cpu)
    touched = report.created + report.expired
    result.change_lateness.extend([wall] * touched)
    result.lateness.extend([wall] * touched)


def _one_tick(
    session: Session,
    since: datetime,
    now: datetime,
    zones: dict[int, str],
    result: DayResult,
) -> None:
    # What the window's boundaries were, read before the tick and outside its timing.
    due = {rule.type.value: due_records(session, rule, since, now) for rule in RULES}
    session.rollback()
    wall, cpu = time.perf_counter(), time.process_time()
    done = tick(session, now=now)
    session.commit()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result.tick_cpu += cpu
    if done is None:
        return
    item = GuidedActionItem
    changed = session.execute(
        select(item.action_type, item.object_id, item.user_id).where(
            or_(item.created_at == now, item.closed_at == now)
        )
    ).all()
    for action_type, object_id, user_id in changed:
        instant = due.get(action_type, {}).get(object_id)
        zone = zones.get(user_id, "UTC")
        by_day = action_type in {t.value for t in LOCAL_DAY_RULES}
        if instant is None and by_day and midnight_between(zone, since, now):
            instant = _midnight_in(zone, since, now)
        if instant is None:
            result.unexplained += 1
            instant = since
        late = (now - instant).total_seconds() + wall
        result.tick_lateness.append(late)
        result.lateness.append(late)


def _midnight_in(zone: str, since: datetime, now: datetime) -> datetime:
    # Bisect to the second: the window is short.
    low, high = since, now
    while (high - low) > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if midnight_between(zone, since, mid):
            high = mid
        else:
            low = mid
    return high


def _zones(session: Session) -> dict[int, str]:
    rows = session.execute(
        select(User.id, User.timezone, UserPreferences.timezone_override).outerjoin(
            UserPreferences, UserPreferences.user_id == User.id
        )
    ).all()
    return {user_id: override or zone or "UTC" for user_id, zone, override in rows}


class _Changes:
    """Realistic CRM changes, each returning the record it touched."""

    def __init__(self, session: Session, rng: random.Random, start: datetime) -> None:
        self.session = session
        self.rng = rng
        self.users = list(session.scalars(select(User.id)))
        self.max_contact = session.scalar(select(func.max(Contact.id))) or 1
        self.max_deal = session.scalar(select(func.max(Deal.id))) or 1
        self.counter = 0
        self.kinds: list[Callable[[datetime], ObjectRef | None]] = [
            self._meeting_outcome,
            self._task_completed,
            self._buyer_email,
            self._buyer_email,
            self._reassign_contact,
            self._next_step,
            self._meeting_booked,
        ]

    def make(self, at: datetime) -> ObjectRef:
        while True:
            ref = self.rng.choice(self.kinds)(at)
            if ref is not None:
                return ref

    def _pick(self, kind: ActivityKind, where: list[Any], at: datetime) -> Activity | None:
        anchor = at - timedelta(hours=self.rng.uniform(0, 48))
        return self.session.scalar(
            select(Activity)
            .where(Activity.kind == kind, Activity.occurred_at >= anchor, *where)
            .order_by(Activity.occurred_at)
            .limit(1)
        )

    def _meeting_outcome(self, at: datetime) -> ObjectRef | None:
        meeting = self._pick(
            ActivityKind.MEETING,
            [
                Activity.ends_at <= at,
                or_(Activity.outcome.is_(None), Activity.outcome == "scheduled"),
            ],
            at,
        )
        if meeting is None:
            return None
        meeting.outcome = "completed"
        return ObjectRef(RefKind.ACTIVITY, meeting.id)

    def _task_completed(self, at: datetime) -> ObjectRef | None:
        task = self._pick(ActivityKind.TASK, [Activity.status != "completed"], at)
        if task is None:
            return None
        task.status = "completed"  # type: ignore[assignment]
        task.completed_at = at
        return ObjectRef(RefKind.ACTIVITY, task.id)

    def _contact(self) -> Contact | None:
        return self.session.get(Contact, self.rng.randint(1, self.max_contact))

    def _new_activity(self, contact: Contact, kind: ActivityKind, **values: Any) -> ObjectRef:
        self.counter += 1
        activity_id = self.session.execute(
            insert(Activity)
            .values(external_id=f"bench-day-{self.counter}", kind=kind, **values)
            .returning(Activity.id)
        ).scalar_one()
        self.session.execute(
            insert(ActivityContact).values(activity_id=activity_id, contact_id=contact.id)
        )
        return ObjectRef(RefKind.ACTIVITY, activity_id)

    def _buyer_email(self, at: datetime) -> ObjectRef | None:
        contact = self._contact()
        if contact is None or contact.owner_id is None:
            return None
        owner = self.session.get(User, contact.owner_id)
        assert owner is not None
        return self._new_activity(
            contact,
            ActivityKind.EMAIL,
            owner_id=owner.id,
            created_at=at,
            occurred_at=at,
            subject="Re: your proposal",
            direction="incoming",
            primary_recipient=owner.email,
            from_email=contact.email,
            tracked=True,
        )

    def _reassign_contact(self, at: datetime) -> ObjectRef | None:
        contact = self._contact()
        if contact is None:
            return None
        contact.owner_id = self.rng.choice(self.users)
        contact.owner_assigned_at = at
        return ObjectRef(RefKind.CONTACT, contact.id)

    def _next_step(self, at: datetime) -> ObjectRef | None:
        deal = self.session.get(Deal, self.rng.randint(1, self.max_deal))
        if deal is None:
            return None
        deal.next_step = "Send the proposal"
        deal.next_step_updated_at = at
        return ObjectRef(RefKind.DEAL, deal.id)

    def _meeting_booked(self, at: datetime) -> ObjectRef | None:
        contact = self._contact()
        if contact is None or contact.owner_id is None:
            return None
        begins = utc(at) + timedelta(minutes=self.rng.randint(30, 300))
        return self._new_activity(
            contact,
            ActivityKind.MEETING,
            owner_id=contact.owner_id,
            created_at=at,
            occurred_at=begins,
            starts_at=begins,
            ends_at=begins + timedelta(minutes=30),
            outcome="scheduled",
            subject="Demo",
        )


def summary_rows(label: str, result: DayResult) -> list[str]:
    q = result.quantile
    return [
        label,
        f"{result.hours:g}",
        f"{result.changes:,}",
        f"{len(result.lateness):,}",
        f"{q(result.lateness, 0.5):.1f}",
        f"{q(result.lateness, 0.99):.1f}",
        f"{max(result.lateness, default=0):.1f}",
        f"{q(result.tick_lateness, 0.5):.1f} / {q(result.tick_lateness, 0.99):.1f}",
        f"{result.missed}",
        f"{statistics.median(result.change_cpu) * 1000 if result.change_cpu else 0:.0f}",
        f"{q(result.change_cpu, 0.99) * 1000:.0f}",
        f"{result.tick_cpu / result.hours:.1f}",
        f"{result.cpu_per_hour:.1f}",
        f"{result.cpu_per_hour / 3600 * 100:.2f}%",
    ]


SUMMARY_COLUMNS = (
    "db scale",
    "hours",
    "changes",
    "items",
    "late p50 s",
    "late p99 s",
    "late max s",
    "by time: p50 / p99 s",
    "missed",
    "change cpu ms p50",
    "change cpu ms p99",
    "tick cpu s/h",
    "cpu s/h",
    "of a core",
)

__all__ = ["SUMMARY_COLUMNS", "DayResult", "simulate_day", "summary_rows"]
