"""The evidence a user may see about one deal, gathered once, before anything reads it.

Everything Deal Insights says (the CRM-only view and the model's sections) is computed from
an ``Evidence`` value; nothing else is read afterwards. The permission rule is applied in the
SQL (``rules.permissions``), so an activity the viewer may not see is never loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from rules.permissions import visible_deal_activities, visible_deals
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityKind,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    EmailDirection,
    MeetingOutcome,
    Pipeline,
    PipelineStage,
    StageState,
    User,
)

# Spec section 6: "the deal's data and its last 100 meetings, notes, emails and calls".
EVIDENCE_KINDS = (ActivityKind.MEETING, ActivityKind.NOTE, ActivityKind.EMAIL, ActivityKind.CALL)
EVIDENCE_LIMIT = 100
# Scheduled follow-ups shown and sent to the model (the soonest first).
FOLLOW_UP_LIMIT = 20
# Deal score readings kept (the most recent).
SCORE_LIMIT = 30


@dataclass(frozen=True)
class DealFacts:
    """The deal's own fields, as the viewer sees them."""

    id: int
    external_id: str
    name: str
    owner_name: str | None
    pipeline: str
    stage: str
    stage_state: StageState
    amount: Decimal | None
    currency: str
    close_date: date | None
    created_at: datetime
    stage_changed_at: datetime | None
    next_step: str | None
    company: str | None
    contacts: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        return self.stage_state is StageState.OPEN


@dataclass(frozen=True)
class ActivityEvidence:
    """One activity the viewer may see (a past one, or a scheduled follow-up)."""

    id: int
    kind: ActivityKind
    occurred_at: datetime
    owner_name: str | None
    subject: str | None
    body: str | None
    direction: EmailDirection | None = None
    outcome: str | None = None
    opened_at: datetime | None = None
    replied_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def title(self) -> str:
        """A one-line label: the subject, else the start of the body."""
        text = (self.subject or self.body or "").strip().splitlines()
        first = text[0] if text else ""
        return (first[:77] + "...") if len(first) > 80 else (first or f"({self.kind.value})")


@dataclass(frozen=True)
class ScoreReading:
    recorded_at: datetime
    score: int


@dataclass(frozen=True)
class Evidence:
    """What one viewer may see about one deal at ``as_of``."""

    deal: DealFacts
    # At most EVIDENCE_LIMIT meetings, notes, emails and calls up to ``as_of``, newest first.
    activities: tuple[ActivityEvidence, ...]
    # Open tasks due and meetings starting after ``as_of``, soonest first.
    follow_ups: tuple[ActivityEvidence, ...]
    # Oldest first.
    scores: tuple[ScoreReading, ...]
    as_of: datetime

    @property
    def citable_ids(self) -> frozenset[int]:
        """Ids of every activity in this evidence: the only ones an answer may cite."""
        return frozenset(a.id for a in (*self.activities, *self.follow_ups))

    def fingerprint(self) -> str:
        """A hash of everything the viewer could see (and the day it is judged on).

        Two viewers get the same fingerprint only if they see exactly the same evidence.
        """
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        payload = {
            "day": self.as_of.date().isoformat(),
            "deal": _plain(self.deal.__dict__),
            "activities": [_plain(a.__dict__) for a in self.activities],
            "follow_ups": [_plain(a.__dict__) for a in self.follow_ups],
            "scores": [[s.recorded_at.isoformat(), s.score] for s in self.scores],
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(values: dict[str, object]) -> dict[str, object]:
    return {
        key: value.isoformat() if isinstance(value, datetime | date) else value
        for key, value in values.items()
    }


def gather_evidence(
    session: Session, *, deal_id: int, viewer: User, now: datetime
) -> Evidence | None:
    """Load what ``viewer`` may see about deal ``deal_id``; None if they may not see the deal.

    Args:
        session: An open session (only read from).
        deal_id: The deal's primary key.
        viewer: The user asking; their deal visibility and the activity rules apply.
        now: The moment of the request; activities after it count as scheduled follow-ups.

    Returns:
        The evidence, or None when the deal does not exist or is not visible to ``viewer``.
    """
    deal = _deal_facts(session, deal_id=deal_id, viewer=viewer)
    if deal is None:
        return None
    return Evidence(
        deal=deal,
        activities=_recent_activities(session, deal_id=deal_id, viewer=viewer, now=now),
        follow_ups=_follow_ups(session, deal_id=deal_id, viewer=viewer, now=now),
        scores=_scores(session, deal_id=deal_id),
        as_of=now,
    )


def _deal_facts(session: Session, *, deal_id: int, viewer: User) -> DealFacts | None:
    row = session.execute(
        visible_deals(viewer)
        .where(Deal.id == deal_id)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .join(Pipeline, Pipeline.id == Deal.pipeline_id)
        .outerjoin(User, User.id == Deal.owner_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .add_columns(PipelineStage.label, PipelineStage.state, Pipeline.label, User.name)
        .add_columns(Company.name)
    ).first()
    if row is None:
        return None
    deal, stage_label, stage_state, pipeline_label, owner_name, company_name = row
    contacts = session.scalars(
        select(Contact)
        .join(DealContact, DealContact.contact_id == Contact.id)
        .where(DealContact.deal_id == deal_id)
        .order_by(Contact.id)
    ).all()
    return DealFacts(
        id=deal.id,
        external_id=deal.external_id,
        name=deal.name,
        owner_name=owner_name,
        pipeline=pipeline_label,
        stage=stage_label,
        stage_state=StageState(stage_state),
        amount=deal.amount,
        currency=deal.currency,
        close_date=deal.close_date,
        created_at=deal.created_at,
        stage_changed_at=deal.stage_changed_at,
        next_step=deal.next_step,
        company=company_name,
        contacts=tuple(c.full_name for c in contacts),
    )


# Plain columns, not ORM objects: evidence is read-only, and building 100 mapped objects
# costs more than the query.
_EVIDENCE_COLUMNS = (
    Activity.id,
    Activity.kind,
    Activity.occurred_at,
    User.name,
    Activity.subject,
    Activity.body,
    Activity.direction,
    Activity.outcome,
    Activity.opened_at,
    Activity.replied_at,
    Activity.updated_at,
)


def _evidence_rows(
    session: Session, query: Select[*tuple[Any, ...]]
) -> tuple[ActivityEvidence, ...]:
    return tuple(
        ActivityEvidence(
            id=row.id,
            kind=ActivityKind(row.kind),
            occurred_at=row.occurred_at,
            owner_name=row.name,
            subject=row.subject,
            body=row.body,
            direction=row.direction,
            outcome=row.outcome,
            opened_at=row.opened_at,
            replied_at=row.replied_at,
            updated_at=row.updated_at,
        )
        for row in session.execute(query)
    )


def _recent_activities(
    session: Session, *, deal_id: int, viewer: User, now: datetime
) -> tuple[ActivityEvidence, ...]:
    # Pick the ids first (narrow rows, permission rule applied), then load only those
    # rows: a deal with thousands of activities never has all its bodies read and sorted.
    newest = (
        visible_deal_activities(viewer, deal_id=deal_id, kinds=EVIDENCE_KINDS)
        .with_only_columns(Activity.id)
        .where(Activity.occurred_at <= now)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(EVIDENCE_LIMIT)
    )
    query = (
        select(*_EVIDENCE_COLUMNS)
        .outerjoin(User, User.id == Activity.owner_id)
        .where(Activity.id.in_(newest.scalar_subquery()))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
    )
    return _evidence_rows(session, query)


def _follow_ups(
    session: Session, *, deal_id: int, viewer: User, now: datetime
) -> tuple[ActivityEvidence, ...]:
    scheduled_meeting = (Activity.kind == ActivityKind.MEETING) & (
        Activity.outcome.is_(None)
        | Activity.outcome.in_([MeetingOutcome.SCHEDULED, MeetingOutcome.RESCHEDULED])
    )
    open_task = (Activity.kind == ActivityKind.TASK) & Activity.status.in_(OPEN_TASK_STATUSES)
    query = (
        visible_deal_activities(
            viewer, deal_id=deal_id, kinds=(ActivityKind.TASK, ActivityKind.MEETING)
        )
        .with_only_columns(*_EVIDENCE_COLUMNS)
        .outerjoin(User, User.id == Activity.owner_id)
        .where(Activity.occurred_at > now, or_(scheduled_meeting, open_task))
        .order_by(Activity.occurred_at, Activity.id)
        .limit(FOLLOW_UP_LIMIT)
    )
    return _evidence_rows(session, query)


def _scores(session: Session, *, deal_id: int) -> tuple[ScoreReading, ...]:
    rows = session.execute(
        select(DealScore.recorded_at, DealScore.score)
        .where(DealScore.deal_id == deal_id)
        .order_by(DealScore.recorded_at.desc())
        .limit(SCORE_LIMIT)
    ).all()
    return tuple(ScoreReading(recorded_at=at, score=score) for at, score in reversed(rows))
