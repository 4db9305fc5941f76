"""Making CRM records for the demo: people, companies, contacts, leads, deals, activities.

``Builder`` holds the clock and the seeded random generator; each method writes one record
(and its owner history and associations) with sensible defaults and keyword overrides.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.rows import Rows
from demo.wording import EMAIL_SUBJECTS, FIRST_NAMES, GOAL_NOTES, LAST_NAMES, NEUTRAL_NOTES
from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Assignment,
    CallStatus,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    EmailDirection,
    Lead,
    MeetingOutcome,
    OwnedObject,
    PipelineStage,
    TaskPriority,
    TaskStatus,
    TaskType,
)
from storage.types import utc


def _round_up(moment: datetime, minutes: int = 5) -> datetime:
    """``moment`` moved up to the next ``minutes`` mark (unchanged when already on one)."""
    base = moment.replace(second=0, microsecond=0)
    if base < moment:
        base += timedelta(minutes=1)
    return base + timedelta(minutes=-base.minute % minutes)


@dataclass
class Person:
    id: int
    name: str
    email: str
    zone: ZoneInfo
    team: int


@dataclass
class ContactInfo:
    id: int
    name: str
    email: str
    company_id: int | None
    owner: Person | None


class Builder:
    def __init__(self, session: Session, now: datetime, seed: int) -> None:
        self.session = session
        self.now = utc(now)
        self.rng = random.Random(seed)
        self.rows = Rows()
        self.keys: dict[str, int] = {}
        deal_pipeline, lead_pipeline = ensure_default_pipelines(session)
        self.deal_pipeline_id = deal_pipeline.id
        self.lead_pipeline_id = lead_pipeline.id
        self.deal_stages = self._stages(deal_pipeline.id)
        self.lead_stages = self._stages(lead_pipeline.id)
        self.used_names: set[str] = set()

    def _stages(self, pipeline_id: int) -> dict[str, int]:
        return dict(
            self.session.execute(
                select(PipelineStage.external_id, PipelineStage.id).where(
                    PipelineStage.pipeline_id == pipeline_id
                )
            ).all()
        )

    def key(self, prefix: str) -> str:
        self.keys[prefix] = self.keys.get(prefix, 0) + 1
        return f"demo-{prefix}-{self.keys[prefix]:05d}"

    # Time helpers ---------------------------------------------------------------------

    def local(self, person: Person, days: int, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` on the person's local day ``days`` from their today, in UTC."""
        today = self.now.astimezone(person.zone).date()
        day = today + timedelta(days=days)
        return datetime.combine(day, time(hour, minute), tzinfo=person.zone).astimezone(UTC)

    def later_today(self, person: Person, hours: float) -> datetime:
        """About ``hours`` from now on a 5-minute mark, always before the person's midnight."""
        today = self.now.astimezone(person.zone).date()
        midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=person.zone)
        end_of_day = midnight.astimezone(UTC)
        wanted = _round_up(self.now + timedelta(hours=hours))
        if wanted < end_of_day - timedelta(minutes=45):
            return wanted
        # Late in the evening: squeeze it into what is left of the day.
        squeezed = self.now + (end_of_day - self.now) / 3
        rounded = _round_up(squeezed)
        return rounded if rounded < end_of_day else squeezed

    def ago(self, days: float = 0, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    # Names ----------------------------------------------------------------------------

    def person_name(self) -> tuple[str, str]:
        for _ in range(1000):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            if f"{first} {last}" not in self.used_names:
                self.used_names.add(f"{first} {last}")
                return first, last
        raise RuntimeError("ran out of demo names")

    # Records --------------------------------------------------------------------------

    def assignment(self, kind: OwnedObject, object_id: int, owner_id: int, at: datetime) -> None:
        self.rows.add(
            Assignment, object_type=kind, object_id=object_id, owner_id=owner_id, assigned_at=at
        )

    def company(self, name: str, *, target: bool = False, owner: Person | None = None) -> int:
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        created = self.ago(days=self.rng.randint(200, 900))
        company_id = self.rows.add(
            Company,
            external_id=self.key("company"),
            name=name,
            domain=f"{slug}.example",
            is_target_account=target,
            owner_id=owner.id if owner else None,
            owner_assigned_at=created if owner else None,
            created_at=created,
        )
        if owner:
            self.assignment(OwnedObject.COMPANY, company_id, owner.id, created)
        return company_id

    def contact(
        self,
        owner: Person | None,
        company: tuple[int, str] | None,
        *,
        assigned_at: datetime | None = None,
        lifecycle: str = "lead",
        first_last: tuple[str, str] | None = None,
        email_domain: str | None = None,
        previous_owner: Person | None = None,
    ) -> ContactInfo:
        first, last = first_last or self.person_name()
        self.used_names.add(f"{first} {last}")
        domain = email_domain or (company[1] if company else "mail.example")
        email = f"{first}.{last}@{domain}".lower()
        created = self.ago(days=self.rng.randint(40, 500))
        assigned = assigned_at or created + timedelta(days=self.rng.randint(0, 10))
        contact_id = self.rows.add(
            Contact,
            external_id=self.key("contact"),
            first_name=first,
            last_name=last,
            email=email,
            email_domain=domain,
            lifecycle_stage=lifecycle,
            owner_id=owner.id if owner else None,
            owner_assigned_at=assigned if owner else None,
            company_id=company[0] if company else None,
            created_at=min(created, assigned),
        )
        if previous_owner is not None:
            self.assignment(
                OwnedObject.CONTACT, contact_id, previous_owner.id, min(created, assigned)
            )
        if owner:
            self.assignment(OwnedObject.CONTACT, contact_id, owner.id, assigned)
        return ContactInfo(
            contact_id, f"{first} {last}", email, company[0] if company else None, owner
        )

    def lead(
        self,
        owner: Person,
        contact: ContactInfo,
        stage: str,
        *,
        created: datetime,
        stage_changed: datetime | None = None,
        reason: str | None = None,
    ) -> int:
        lead_id = self.rows.add(
            Lead,
            external_id=self.key("lead"),
            name=f"{contact.name} lead",
            contact_id=contact.id,
            company_id=contact.company_id,
            owner_id=owner.id,
            owner_assigned_at=created,
            pipeline_id=self.lead_pipeline_id,
            stage_id=self.lead_stages[stage],
            stage_changed_at=stage_changed or created,
            created_at=created,
            disqualified_at=(stage_changed or created) if stage == "disqualified" else None,
            disqualification_reason=reason,
        )
        self.assignment(OwnedObject.LEAD, lead_id, owner.id, created)
        return lead_id

    def deal(
        self,
        owner: Person,
        name: str,
        stage: str,
        *,
        company_id: int | None,
        contacts: Iterable[ContactInfo] = (),
        created: datetime,
        stage_changed: datetime,
        close_date: date | None,
        amount: int,
        next_step: str | None,
        next_step_at: datetime | None,
        scores: Iterable[tuple[datetime, int]] = (),
    ) -> int:
        closed = stage in ("closedwon", "closedlost")
        deal_id = self.rows.add(
            Deal,
            external_id=self.key("deal"),
            name=name,
            owner_id=owner.id,
            owner_assigned_at=created,
            pipeline_id=self.deal_pipeline_id,
            stage_id=self.deal_stages[stage],
            stage_changed_at=stage_changed,
            amount=Decimal(amount),
            currency="USD",
            close_date=close_date,
            created_at=created,
            closed_at=stage_changed if closed else None,
            next_step=next_step,
            next_step_updated_at=next_step_at,
            company_id=company_id,
        )
        self.assignment(OwnedObject.DEAL, deal_id, owner.id, created)
        for contact in contacts:
            self.rows.add(
                DealContact, deal_id=deal_id, contact_id=contact.id, associated_at=created
            )
        for at, score in scores:
            self.rows.add(DealScore, deal_id=deal_id, recorded_at=at, score=score)
        return deal_id

    def link(
        self,
        activity_id: int,
        *,
        contacts: Iterable[ContactInfo] = (),
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
    ) -> None:
        companies: list[int] = []
        for contact in contacts:
            self.rows.add(ActivityContact, activity_id=activity_id, contact_id=contact.id)
            if contact.company_id is not None and contact.company_id not in companies:
                companies.append(contact.company_id)
        for company_id in companies:
            self.rows.add(ActivityCompany, activity_id=activity_id, company_id=company_id)
        for deal_id in deals:
            self.rows.add(ActivityDeal, activity_id=activity_id, deal_id=deal_id)
        for lead_id in leads:
            self.rows.add(ActivityLead, activity_id=activity_id, lead_id=lead_id)

    def task(
        self,
        owner: Person,
        subject: str,
        due: datetime,
        *,
        priority: TaskPriority = TaskPriority.NONE,
        task_type: TaskType = TaskType.TODO,
        completed_at: datetime | None = None,
        enrollment_id: int | None = None,
        follow_up_of: int | None = None,
        contacts: Iterable[ContactInfo] = (),
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
    ) -> int:
        created = min(due, self.now) - timedelta(days=self.rng.randint(1, 6))
        task_id = self.rows.add(
            Activity,
            external_id=self.key("task"),
            kind=ActivityKind.TASK,
            owner_id=owner.id,
            created_at=created,
            occurred_at=due,
            subject=subject,
            due_at=due,
            status=TaskStatus.COMPLETED if completed_at else TaskStatus.NOT_STARTED,
            priority=priority,
            task_type=task_type,
            completed_at=completed_at,
            completed_by_id=owner.id if completed_at else None,
            sequence_enrollment_id=enrollment_id,
            follow_up_of_id=follow_up_of,
        )
        self.link(task_id, contacts=contacts, deals=deals, leads=leads)
        return task_id

    def meeting(
        self,
        owner: Person,
        title: str,
        start: datetime,
        *,
        minutes: int = 30,
        outcome: MeetingOutcome | None = MeetingOutcome.SCHEDULED,
        body: str | None = None,
        booked_at: datetime | None = None,
        contacts: Iterable[ContactInfo] = (),
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
    ) -> int:
        contacts = list(contacts)
        meeting_id = self.rows.add(
            Activity,
            external_id=self.key("meeting"),
            kind=ActivityKind.MEETING,
            owner_id=owner.id,
            created_at=booked_at or min(start, self.now) - timedelta(days=self.rng.randint(2, 9)),
            occurred_at=start,
            subject=title,
            body=body,
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            outcome=outcome,
            meeting_link=f"https://meet.example/{self.key('room')[-5:]}",
            attendees=[{"name": c.name, "email": c.email} for c in contacts]
            + [{"name": owner.name, "email": owner.email}],
        )
        self.link(meeting_id, contacts=contacts, deals=deals, leads=leads)
        return meeting_id

    def call(
        self,
        owner: Person,
        start: datetime,
        *,
        status: CallStatus | None = CallStatus.COMPLETED,
        built_in: bool = True,
        outcome: str | None = None,
        body: str | None = None,
        contacts: Iterable[ContactInfo] = (),
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
    ) -> int:
        contacts = list(contacts)
        who = contacts[0].name if contacts else "prospect"
        call_id = self.rows.add(
            Activity,
            external_id=self.key("call"),
            kind=ActivityKind.CALL,
            owner_id=owner.id,
            created_at=start,
            occurred_at=start,
            subject=f"Call with {who}",
            body=body,
            starts_at=start,
            ends_at=start + timedelta(minutes=self.rng.randint(3, 25)),
            call_status=status,
            via_calling_feature=built_in,
            outcome=outcome,
            duration_seconds=self.rng.randint(60, 1500),
        )
        self.link(call_id, contacts=contacts, deals=deals, leads=leads)
        return call_id

    def email(
        self,
        owner: Person | None,
        contact: ContactInfo,
        sent: datetime,
        *,
        subject: str,
        body: str,
        incoming: bool = False,
        rep: Person | None = None,
        tracked: bool = True,
        opened: datetime | None = None,
        replied: datetime | None = None,
        thread: str | None = None,
        in_reply_to: int | None = None,
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
    ) -> int:
        """An email between ``rep`` (default: the owner) and ``contact``."""
        seller = rep or owner
        assert seller is not None
        email_id = self.rows.add(
            Activity,
            external_id=self.key("email"),
            kind=ActivityKind.EMAIL,
            owner_id=owner.id if owner else None,
            created_at=sent,
            occurred_at=sent,
            subject=subject,
            body=body,
            direction=EmailDirection.INCOMING if incoming else EmailDirection.OUTGOING,
            from_email=contact.email if incoming else seller.email,
            to_emails=[seller.email] if incoming else [contact.email],
            primary_recipient=seller.email if incoming else contact.email,
            tracked=tracked and not incoming,
            opened_at=opened,
            replied_at=replied,
            thread_id=thread or self.key("thread"),
            in_reply_to_id=in_reply_to,
        )
        self.link(email_id, contacts=[contact], deals=deals, leads=leads)
        return email_id

    def note(
        self,
        owner: Person,
        body: str,
        at: datetime,
        *,
        contacts: Iterable[ContactInfo] = (),
        deals: Iterable[int] = (),
    ) -> int:
        note_id = self.rows.add(
            Activity,
            external_id=self.key("note"),
            kind=ActivityKind.NOTE,
            owner_id=owner.id,
            created_at=at,
            occurred_at=at,
            body=body,
        )
        self.link(note_id, contacts=contacts, deals=deals)
        return note_id

    def thread(
        self,
        rep: Person,
        contact: ContactInfo,
        sent: datetime,
        *,
        opened_after: timedelta | None,
        reply_after: timedelta | None,
        deals: Iterable[int] = (),
        leads: Iterable[int] = (),
        subject: str | None = None,
    ) -> tuple[int, int | None]:
        """An outgoing tracked email, maybe opened, maybe answered by the contact."""
        deals, leads = list(deals), list(leads)
        subject = subject or self.rng.choice(EMAIL_SUBJECTS)
        thread = self.key("thread")
        opened = sent + opened_after if opened_after is not None else None
        replied = sent + reply_after if reply_after is not None else None
        if replied is not None and (opened is None or opened > replied):
            opened = replied - timedelta(minutes=5)
        first_name = contact.name.split()[0]
        outgoing = self.email(
            rep,
            contact,
            sent,
            subject=subject,
            body=f"Hi {first_name},\n\n{self.rng.choice(NEUTRAL_NOTES)}\n\nBest,\n{rep.name}",
            opened=opened,
            replied=replied,
            thread=thread,
            deals=deals,
            leads=leads,
        )
        reply = None
        if replied is not None:
            reply = self.email(
                rep,
                contact,
                replied,
                subject=f"Re: {subject}",
                body=f"Thanks {rep.name.split()[0]}, {self.rng.choice(GOAL_NOTES).lower()}",
                incoming=True,
                thread=thread,
                in_reply_to=outgoing,
                deals=deals,
                leads=leads,
            )
        return outgoing, reply
