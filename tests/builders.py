"""Builders for CRM records: sensible defaults, keyword overrides, flushed on return."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Base,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    DealVisibility,
    EmailDirection,
    Lead,
    Pipeline,
    PipelineObject,
    PipelineStage,
    Role,
    Sequence,
    SequenceEnrollment,
    TaskPriority,
    TaskStatus,
    TaskType,
    Team,
    User,
    WorkspaceSettings,
)
from storage.ownership import assign

_Row = TypeVar("_Row", bound=Base)


class CRM:
    """Makes records in ``session`` relative to ``now``; every method flushes and returns."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._ids = itertools.count(1)
        self.deal_pipeline, self.lead_pipeline = ensure_default_pipelines(session)

    def _next(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _add(self, record: _Row) -> _Row:
        self.session.add(record)
        self.session.flush()
        return record

    # Pipelines -----------------------------------------------------------------------

    def stage(
        self, external_id: str, object_type: PipelineObject = PipelineObject.DEAL
    ) -> PipelineStage:
        pipeline = self.deal_pipeline if object_type is PipelineObject.DEAL else self.lead_pipeline
        stage = self.session.scalar(
            select(PipelineStage).where(
                PipelineStage.pipeline_id == pipeline.id, PipelineStage.external_id == external_id
            )
        )
        if stage is None:
            raise KeyError(f"no stage {external_id!r} in {pipeline.external_id!r}")
        return stage

    def pipeline(self, object_type: PipelineObject) -> Pipeline:
        return self.deal_pipeline if object_type is PipelineObject.DEAL else self.lead_pipeline

    # People --------------------------------------------------------------------------

    def team(self, **overrides: Any) -> Team:
        values: dict[str, Any] = {"external_id": self._next("team"), "name": "Team"}
        values.update(overrides)
        return self._add(Team(**values))

    def user(self, **overrides: Any) -> User:
        key = self._next("user")
        email = overrides.pop("email", f"{key}@seller.example")
        values: dict[str, Any] = {
            "external_id": key,
            "name": key.title(),
            "email": email,
            "email_domain": email.rsplit("@", 1)[1].lower(),
            "timezone": "UTC",
            "role": Role.REP,
            "deal_visibility": DealVisibility.OWNED,
        }
        values.update(overrides)
        return self._add(User(**values))

    def settings(self, **overrides: Any) -> WorkspaceSettings:
        row = self.session.get(WorkspaceSettings, 1) or WorkspaceSettings(id=1)
        for name, value in overrides.items():
            setattr(row, name, value)
        return self._add(row)

    # Records -------------------------------------------------------------------------

    def company(self, **overrides: Any) -> Company:
        key = self._next("company")
        values: dict[str, Any] = {
            "external_id": key,
            "name": key.title(),
            "domain": f"{key}.example",
            "created_at": self.now - timedelta(days=90),
        }
        values.update(overrides)
        return self._add(Company(**values))

    def contact(
        self, owner: User | None = None, *, assigned_at: datetime | None = None, **overrides: Any
    ) -> Contact:
        key = self._next("contact")
        email = overrides.pop("email", f"{key}@buyer.example")
        values: dict[str, Any] = {
            "external_id": key,
            "first_name": key.title(),
            "last_name": "Buyer",
            "email": email,
            "email_domain": email.rsplit("@", 1)[1].lower() if email else None,
            "lifecycle_stage": "lead",
            "created_at": self.now - timedelta(days=60),
        }
        values.update(overrides)
        contact = self._add(Contact(**values))
        if owner is not None:
            assign(self.session, contact, owner.id, at=assigned_at or self.now - timedelta(days=1))
            self.session.flush()
        return contact

    def lead(
        self,
        owner: User | None = None,
        *,
        stage: str = "new",
        assigned_at: datetime | None = None,
        **overrides: Any,
    ) -> Lead:
        key = self._next("lead")
        stage_row = self.stage(stage, PipelineObject.LEAD)
        values: dict[str, Any] = {
            "external_id": key,
            "name": key.title(),
            "pipeline_id": self.lead_pipeline.id,
            "stage_id": stage_row.id,
            "created_at": self.now - timedelta(days=10),
            "stage_changed_at": self.now - timedelta(days=10),
        }
        values.update(overrides)
        lead = self._add(Lead(**values))
        if owner is not None:
            assign(self.session, lead, owner.id, at=assigned_at or self.now - timedelta(days=1))
            self.session.flush()
        return lead

    def deal(
        self,
        owner: User | None = None,
        *,
        stage: str = "qualifiedtobuy",
        contacts: Iterable[Contact] = (),
        assigned_at: datetime | None = None,
        **overrides: Any,
    ) -> Deal:
        key = self._next("deal")
        stage_row = self.stage(stage)
        values: dict[str, Any] = {
            "external_id": key,
            "name": key.title(),
            "pipeline_id": self.deal_pipeline.id,
            "stage_id": stage_row.id,
            "amount": Decimal("10000"),
            "close_date": (self.now + timedelta(days=30)).date(),
            "created_at": self.now - timedelta(days=20),
            "stage_changed_at": self.now - timedelta(days=5),
        }
        values.update(overrides)
        deal = self._add(Deal(**values))
        for contact in contacts:
            self.session.add(
                DealContact(
                    deal_id=deal.id, contact_id=contact.id, associated_at=values["created_at"]
                )
            )
        if owner is not None:
            assign(self.session, deal, owner.id, at=assigned_at or values["created_at"])
        self.session.flush()
        return deal

    def deal_score(self, deal: Deal, score: int, at: datetime) -> DealScore:
        return self._add(DealScore(deal_id=deal.id, recorded_at=at, score=score))

    def associate(
        self,
        activity: Activity,
        *,
        contacts: Iterable[Contact] = (),
        companies: Iterable[Company] = (),
        deals: Iterable[Deal] = (),
        leads: Iterable[Lead] = (),
    ) -> Activity:
        for contact in contacts:
            self.session.add(ActivityContact(activity_id=activity.id, contact_id=contact.id))
        for company in companies:
            self.session.add(ActivityCompany(activity_id=activity.id, company_id=company.id))
        for deal in deals:
            self.session.add(ActivityDeal(activity_id=activity.id, deal_id=deal.id))
        for lead in leads:
            self.session.add(ActivityLead(activity_id=activity.id, lead_id=lead.id))
        self.session.flush()
        return activity

    # Activities ----------------------------------------------------------------------

    def _activity(
        self,
        kind: ActivityKind,
        owner: User | None,
        associations: dict[str, Any],
        values: dict[str, Any],
        overrides: dict[str, Any],
    ) -> Activity:
        values = {
            "external_id": self._next(kind.value),
            "kind": kind,
            "owner_id": owner.id if owner else None,
            "created_at": self.now,
            **values,
        }
        values.update(overrides)
        activity = self._add(Activity(**values))
        return self.associate(activity, **associations)

    @staticmethod
    def _pop_associations(overrides: dict[str, Any]) -> dict[str, Any]:
        return {
            k: overrides.pop(k)
            for k in ("contacts", "companies", "deals", "leads")
            if k in overrides
        }

    def task(
        self, owner: User | None, *, due_at: datetime | None = None, **overrides: Any
    ) -> Activity:
        links = self._pop_associations(overrides)
        due = due_at or self.now + timedelta(hours=2)
        return self._activity(
            ActivityKind.TASK,
            owner,
            links,
            {
                "subject": "Follow up",
                "due_at": due,
                "occurred_at": due,
                "status": TaskStatus.NOT_STARTED,
                "priority": TaskPriority.NONE,
                "task_type": TaskType.TODO,
                "created_at": due - timedelta(days=2),
            },
            overrides,
        )

    def meeting(
        self,
        owner: User | None,
        *,
        starts_at: datetime | None = None,
        minutes: int = 30,
        **overrides: Any,
    ) -> Activity:
        links = self._pop_associations(overrides)
        start = starts_at or self.now - timedelta(hours=3)
        return self._activity(
            ActivityKind.MEETING,
            owner,
            links,
            {
                "subject": "Discovery call",
                "starts_at": start,
                "ends_at": start + timedelta(minutes=minutes),
                "occurred_at": start,
                "outcome": "scheduled",
                "meeting_link": "https://meet.example/abc",
                "created_at": start - timedelta(days=3),
            },
            overrides,
        )

    def call(
        self, owner: User | None, *, starts_at: datetime | None = None, **overrides: Any
    ) -> Activity:
        links = self._pop_associations(overrides)
        start = starts_at or self.now - timedelta(hours=2)
        return self._activity(
            ActivityKind.CALL,
            owner,
            links,
            {
                "subject": "Call",
                "starts_at": start,
                "ends_at": start + timedelta(minutes=10),
                "occurred_at": start,
                "call_status": "completed",
                "via_calling_feature": True,
                "duration_seconds": 600,
                "created_at": start,
            },
            overrides,
        )

    def email(
        self,
        owner: User | None,
        *,
        direction: EmailDirection = EmailDirection.OUTGOING,
        sent_at: datetime | None = None,
        **overrides: Any,
    ) -> Activity:
        links = self._pop_associations(overrides)
        sent = sent_at or self.now - timedelta(days=1)
        return self._activity(
            ActivityKind.EMAIL,
            owner,
            links,
            {
                "subject": "Hello",
                "body": "Hi there",
                "direction": direction,
                "occurred_at": sent,
                "tracked": True,
                "created_at": sent,
            },
            overrides,
        )

    def note(
        self,
        owner: User | None,
        body: str = "A note",
        *,
        at: datetime | None = None,
        **overrides: Any,
    ) -> Activity:
        links = self._pop_associations(overrides)
        when = at or self.now - timedelta(days=1)
        return self._activity(
            ActivityKind.NOTE,
            owner,
            links,
            {
                "body": body,
                "occurred_at": when,
                "created_at": when,
            },
            overrides,
        )

    # Sequences -----------------------------------------------------------------------

    def enrollment(self, contact: Contact, owner: User, **overrides: Any) -> SequenceEnrollment:
        sequence = self._add(
            Sequence(external_id=self._next("sequence"), name="Outreach", owner_id=owner.id)
        )
        values: dict[str, Any] = {
            "external_id": self._next("enrollment"),
            "sequence_id": sequence.id,
            "contact_id": contact.id,
            "enrolled_by_id": owner.id,
            "enrolled_at": self.now - timedelta(days=3),
        }
        values.update(overrides)
        return self._add(SequenceEnrollment(**values))

    def today(self) -> date:
        return self.now.date()
