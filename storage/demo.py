"""A realistic, deterministic demo organisation, built relative to ``now``.

Same seed, same organisation: every name, amount and relative time comes from one
``random.Random(seed)``; only the absolute times move with ``now``. Rows are written with
Core bulk inserts and explicit ids (thousands of activities in well under a second), in
foreign-key order, inside the caller's transaction.

The organisation: three teams (Los Angeles, Berlin, Tokyo), twelve reps, three managers and a
super admin; a few hundred companies and contacts; leads in every stage; about a hundred deals
with score histories; a few thousand activities over the past year. One rep, **Dana Reyes**,
gets a hand-made day that meets the creation criteria of every one of the spec's 19 guided
actions and carries every deal risk of Deal Insights (see docs/demo.md for the checklist).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Assignment,
    Base,
    CallStatus,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    DealVisibility,
    EmailDirection,
    EnrollmentStatus,
    Goal,
    GoalMetric,
    Lead,
    MeetingOutcome,
    OwnedObject,
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
from storage.types import utc

DEMO_DB_FILENAME = "demo.sqlite3"
SELLER_DOMAIN = "northwind.example"

DEMO_REP_NAME = "Dana Reyes"
DEMO_MANAGER_NAME = "Morgan Lee"
DEMO_ADMIN_NAME = "Alex Kim"
FEATURED_DEAL_NAME = "Globex - Platform expansion"


class DemoRefused(RuntimeError):
    """The demo will not write here (a non-empty database, or a reset outside the demo file)."""


@dataclass(frozen=True)
class DemoOrg:
    """What the demo built, and the records a walkthrough starts from."""

    rep_id: int
    rep_name: str
    rep_email: str
    rep_slack_user_id: str
    manager_id: int
    manager_name: str
    admin_id: int
    admin_name: str
    featured_deal_id: int
    featured_deal_name: str
    seed: int
    now: datetime
    # Rows written per table.
    counts: dict[str, int] = field(default_factory=dict)


# Names -------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Avery Blake Casey Devon Emery Finley Gray Harper Indigo Jules Kai Logan Marlow Noor Oakley "
    "Parker Quinn Reese Sage Tatum Uma Val Wren Xan Yael Zion Amara Bruno Celia Dmitri Elena "
    "Farah Gustavo Hana Ivan Jonas Keiko Lina Mateo Nadia Omar Paola Rafael Sofia Tariq Yuki"
)
_LAST = _words(
    "Abbott Baker Castro Diaz Ellis Fischer Garcia Hoffmann Ito Jensen Kowalski Larsen Moreau "
    "Novak Okafor Petrov Quintero Rossi Schmidt Tanaka Ueda Vargas Weber Xu Yamamoto Zimmer "
    "Andersen Bianchi Costa Dubois Eriksen Fernandes Gallagher Haas Iyer Jovanovic Kato Lindqvist"
)
_COMPANY_A = _words(
    "Acme Apex Atlas Beacon Blue Bright Cedar Cobalt Crest Delta Echo Ember Evergreen Falcon "
    "Fjord Granite Harbor Helix Horizon Iron Juniper Keystone Lumen Maple Meridian Nimbus North "
    "Onyx Orbit Pine Pioneer Quartz Redwood Riverside Sable Sierra Silver Summit Tidal Vertex"
)
_COMPANY_B = _words(
    "Analytics Biotech Capital Cloud Dynamics Energy Foods Freight Health Industries Labs "
    "Logistics Media Motors Networks Partners Retail Robotics Software Systems Telecom Works"
)
_DEAL_KINDS = (
    "Platform expansion",
    "Pilot",
    "Annual renewal",
    "Team seats",
    "Enterprise upgrade",
    "Analytics add-on",
    "New business",
    "Multi-year contract",
    "Regional rollout",
    "Support plan",
)
_NEXT_STEPS = (
    "Send revised proposal",
    "Schedule security review",
    "Confirm budget owner",
    "Book demo for the wider team",
    "Get legal redlines back",
    "Agree on pilot success criteria",
    "Intro to procurement",
    "Follow up on pricing questions",
)
_GOAL_NOTES = (
    "Buyer goal: cut onboarding time for new support agents by half before the summer peak.",
    "They want one dashboard for all regional sales teams; today they merge spreadsheets.",
    "Main goal is consolidating three legacy tools into one platform to save licence costs.",
    "Priority for them: faster month-end reporting, the CFO wants numbers by day 3.",
    "Buyer wants to expand to the Berlin and Tokyo offices next fiscal year.",
    "Goal: reduce churn in mid-market accounts; they asked for health scoring.",
)
_CONCERN_NOTES = (
    "Concern: budget cuts announced company-wide; procurement froze new spend until review.",
    "They are evaluating a competitor (Initrode) in parallel; pricing comparison requested.",
    "Timeline may slip: their IT team is busy with a migration until next quarter.",
    "Champion is leaving the company next month; need a new sponsor.",
    "Security questionnaire raised questions about data residency in the EU.",
    "Not sure the decision maker is convinced; he asked twice about contract length.",
)
_NEUTRAL_NOTES = (
    "Good call, they liked the reporting demo.",
    "Sent the case study from a similar customer.",
    "Contact prefers email over phone; mornings work best.",
    "Met at the trade show, interested in the API.",
)
_EMAIL_SUBJECTS = (
    "Following up on our call",
    "Proposal and next steps",
    "Quick question about your rollout",
    "Pricing overview",
    "Case study you asked for",
    "Agenda for Thursday",
    "Checking in",
    "Security documentation",
)
_CALL_OUTCOMES = ("Connected", "Left voicemail", "No answer", "Wrong number", "Left live message")
_MEETING_TITLES = (
    "Discovery call",
    "Product demo",
    "Pricing review",
    "Security review",
    "Stakeholder alignment",
    "Quarterly business review",
    "Technical deep dive",
)
_TASK_SUBJECTS = (
    "Send follow-up email",
    "Call to confirm next meeting",
    "Prepare proposal",
    "Update deal amount",
    "Connect on LinkedIn",
    "Share case study",
    "Check in after demo",
    "Send contract draft",
)

# external id, name, time zone, the channel its manager digest goes to (made-up ids, like
# the users' U0DEMO…: `digest preview --team` shows a manager's digest to a newcomer).
_TEAMS = (
    ("team-west", "West", "America/Los_Angeles", "C0DEMOWEST"),
    ("team-emea", "EMEA", "Europe/Berlin", "C0DEMOEMEA"),
    ("team-apac", "APAC", "Asia/Tokyo", "C0DEMOAPAC"),
)
# name, team index, deal visibility; Dana first.
_REPS = (
    (DEMO_REP_NAME, 0, DealVisibility.OWNED),
    ("Luis Ortega", 0, DealVisibility.TEAM),
    ("Priya Shah", 0, DealVisibility.OWNED),
    ("Tom Becker", 0, DealVisibility.EVERYTHING),
    ("Lena Vogel", 1, DealVisibility.OWNED),
    ("Jonas Richter", 1, DealVisibility.TEAM),
    ("Chloe Martin", 1, DealVisibility.OWNED),
    ("Marco Bellini", 1, DealVisibility.OWNED),
    ("Haruto Sato", 2, DealVisibility.OWNED),
    ("Mei Nakamura", 2, DealVisibility.TEAM),
    ("Ken Watanabe", 2, DealVisibility.OWNED),
    ("Aiko Suzuki", 2, DealVisibility.OWNED),
)
_MANAGERS = ((DEMO_MANAGER_NAME, 0), ("Sabine Krause", 1), ("Takeshi Mori", 2))

_CRM_TABLES: tuple[type[Base], ...] = (
    Team,
    User,
    Company,
    Contact,
    Lead,
    Deal,
    Activity,
    Sequence,
)


# Safety ------------------------------------------------------------------------------------


def is_demo_database(session: Session) -> bool:
    """Whether the session writes to the embedded demo file (or a throwaway in-memory SQLite)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    return database in ("", ":memory:") or Path(database).name == DEMO_DB_FILENAME


def has_crm_data(session: Session) -> bool:
    """Whether any CRM record exists (pipelines and settings alone do not count)."""
    return any(session.scalar(select(func.count()).select_from(m)) for m in _CRM_TABLES)


def _wipe(session: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))


# The builder -------------------------------------------------------------------------------


def _round_up(moment: datetime, minutes: int = 5) -> datetime:
    """``moment`` moved up to the next ``minutes`` mark (unchanged when already on one)."""
    base = moment.replace(second=0, microsecond=0)
    if base < moment:
        base += timedelta(minutes=1)
    return base + timedelta(minutes=-base.minute % minutes)


class _Rows:
    """Rows per table with explicit ids, written in foreign-key order at the end."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self._next: dict[Table, int] = {}

    def add(self, model: type[Base], **values: Any) -> int:
        table = model.__table__
        assert isinstance(table, Table)
        if "id" in table.c and "id" not in values:
            values["id"] = self._next[table] = self._next.get(table, 0) + 1
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = utc(value)
        self.rows.setdefault(table, []).append(values)
        return int(values.get("id", 0))

    def write(self, session: Session) -> dict[str, int]:
        counts = {}
        for table in Base.metadata.sorted_tables:
            rows = self.rows.get(table)
            if not rows:
                continue
            # Rows of one table may set different optional columns: fill the gaps with None
            # so one executemany covers them all.
            columns = sorted({name for row in rows for name in row})
            # Replies come after the emails they answer, so self-references resolve in order.
            session.execute(insert(table), [{c: row.get(c) for c in columns} for row in rows])
            counts[table.name] = len(rows)
        return counts


@dataclass
class _Person:
    id: int
    name: str
    email: str
    zone: ZoneInfo
    team: int


@dataclass
class _Contact:
    id: int
    name: str
    email: str
    company_id: int | None
    owner: _Person | None


class _Builder:
    def __init__(self, session: Session, now: datetime, seed: int) -> None:
        self.session = session
        self.now = utc(now)
        self.rng = random.Random(seed)
        self.rows = _Rows()
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

    def local(self, person: _Person, days: int, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` on the person's local day ``days`` from their today, in UTC."""
        today = self.now.astimezone(person.zone).date()
        day = today + timedelta(days=days)
        return datetime.combine(day, time(hour, minute), tzinfo=person.zone).astimezone(UTC)

    def later_today(self, person: _Person, hours: float) -> datetime:
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
            first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
            if f"{first} {last}" not in self.used_names:
                self.used_names.add(f"{first} {last}")
                return first, last
        raise RuntimeError("ran out of demo names")

    # Records --------------------------------------------------------------------------

    def assignment(self, kind: OwnedObject, object_id: int, owner_id: int, at: datetime) -> None:
        self.rows.add(
            Assignment, object_type=kind, object_id=object_id, owner_id=owner_id, assigned_at=at
        )

    def company(self, name: str, *, target: bool = False, owner: _Person | None = None) -> int:
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
        owner: _Person | None,
        company: tuple[int, str] | None,
        *,
        assigned_at: datetime | None = None,
        lifecycle: str = "lead",
        first_last: tuple[str, str] | None = None,
        email_domain: str | None = None,
        previous_owner: _Person | None = None,
    ) -> _Contact:
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
        return _Contact(
            contact_id, f"{first} {last}", email, company[0] if company else None, owner
        )

    def lead(
        self,
        owner: _Person,
        contact: _Contact,
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
        owner: _Person,
        name: str,
        stage: str,
        *,
        company_id: int | None,
        contacts: Iterable[_Contact] = (),
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
        contacts: Iterable[_Contact] = (),
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
        owner: _Person,
        subject: str,
        due: datetime,
        *,
        priority: TaskPriority = TaskPriority.NONE,
        task_type: TaskType = TaskType.TODO,
        completed_at: datetime | None = None,
        enrollment_id: int | None = None,
        follow_up_of: int | None = None,
        contacts: Iterable[_Contact] = (),
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
        owner: _Person,
        title: str,
        start: datetime,
        *,
        minutes: int = 30,
        outcome: MeetingOutcome | None = MeetingOutcome.SCHEDULED,
        body: str | None = None,
        booked_at: datetime | None = None,
        contacts: Iterable[_Contact] = (),
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
        owner: _Person,
        start: datetime,
        *,
        status: CallStatus | None = CallStatus.COMPLETED,
        built_in: bool = True,
        outcome: str | None = None,
        body: str | None = None,
        contacts: Iterable[_Contact] = (),
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
        owner: _Person | None,
        contact: _Contact,
        sent: datetime,
        *,
        subject: str,
        body: str,
        incoming: bool = False,
        rep: _Person | None = None,
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
        owner: _Person,
        body: str,
        at: datetime,
        *,
        contacts: Iterable[_Contact] = (),
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
        rep: _Person,
        contact: _Contact,
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
        subject = subject or self.rng.choice(_EMAIL_SUBJECTS)
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
            body=f"Hi {first_name},\n\n{self.rng.choice(_NEUTRAL_NOTES)}\n\nBest,\n{rep.name}",
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
                body=f"Thanks {rep.name.split()[0]}, {self.rng.choice(_GOAL_NOTES).lower()}",
                incoming=True,
                thread=thread,
                in_reply_to=outgoing,
                deals=deals,
                leads=leads,
            )
        return outgoing, reply


# The organisation --------------------------------------------------------------------------


def build_demo_org(
    session: Session, *, now: datetime, seed: int = 42, reset: bool = False
) -> DemoOrg:
    """Fill an empty database with the demo organisation, relative to ``now``.

    The caller commits. Nothing is written when a check fails.

    Args:
        session: A session on the target database (schema at head).
        now: The instant everything is relative to (aware).
        seed: Same seed, same organisation.
        reset: Delete every row first. Allowed only on the embedded demo database
            (a SQLite file named ``demo.sqlite3``, or in-memory SQLite).

    Raises:
        DemoRefused: The database holds CRM data and ``reset`` is off, or ``reset`` was asked
            for a database that is not the embedded demo database.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware value")
    if reset:
        if not is_demo_database(session):
            raise DemoRefused(
                "refusing to reset: only the embedded demo database "
                f"(a SQLite file named {DEMO_DB_FILENAME}) may be wiped"
            )
        _wipe(session)
    elif has_crm_data(session):
        raise DemoRefused(
            "the database already holds CRM data: the demo only fills an empty database"
        )
    builder = _Builder(session, now, seed)
    org = _populate(builder)
    counts = builder.rows.write(session)
    if session.get_bind().dialect.name == "postgresql":
        _sync_sequences(session, builder.rows)
    session.flush()
    return DemoOrg(**{**org, "seed": seed, "now": builder.now, "counts": counts})


def _sync_sequences(session: Session, rows: _Rows) -> None:
    # Explicit ids leave PostgreSQL's sequences behind; move them past the demo's ids.
    for table in rows.rows:
        if "id" in table.c:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
                )
            )


def _populate(b: _Builder) -> dict[str, Any]:
    rng = b.rng
    # Settings are not CRM data: an existing row is the operator's choice and stays.
    if b.session.get(WorkspaceSettings, 1) is None:
        b.rows.add(WorkspaceSettings, id=1, hipaa_sensitive_data=False, customer_analysis=True)

    teams = []
    for external_id, name, zone, channel in _TEAMS:
        team_id = b.rows.add(
            Team, external_id=external_id, name=name, timezone=zone, digest_channel_id=channel
        )
        teams.append((team_id, ZoneInfo(zone)))

    slack_ids = iter(f"U0DEMO{n:04d}" for n in range(1, 100))

    def person(name: str, team: int | None, role: Role, visibility: DealVisibility) -> _Person:
        email = name.lower().replace(" ", ".") + "@" + SELLER_DOMAIN
        zone = teams[team][1] if team is not None else ZoneInfo("America/New_York")
        user_id = b.rows.add(
            User,
            external_id=b.key("owner"),
            name=name,
            email=email,
            email_domain=SELLER_DOMAIN,
            slack_user_id=next(slack_ids),
            timezone=zone.key,
            role=role,
            team_id=teams[team][0] if team is not None else None,
            deal_visibility=visibility,
            is_active=True,
        )
        b.used_names.add(name)
        return _Person(user_id, name, email, zone, team if team is not None else -1)

    reps = [person(name, team, Role.REP, vis) for name, team, vis in _REPS]
    managers = [person(name, team, Role.MANAGER, DealVisibility.TEAM) for name, team in _MANAGERS]
    admin = person(DEMO_ADMIN_NAME, None, Role.SUPER_ADMIN, DealVisibility.EVERYTHING)

    targets = {
        GoalMetric.MEETINGS_BOOKED: 8,
        GoalMetric.CALLS_LOGGED: 15,
        GoalMetric.TASKS_COMPLETED: 20,
        GoalMetric.EMAILS_SENT: 40,
    }
    for rep in reps:
        for metric, target in targets.items():
            b.rows.add(Goal, user_id=rep.id, metric=metric, weekly_target=target)

    # Companies: 160, one in eight a target account.
    names = sorted({f"{a} {c}" for a in _COMPANY_A for c in _COMPANY_B})
    rng.shuffle(names)
    companies: list[tuple[int, str, bool]] = []
    for index, name in enumerate(names[:160]):
        target = index % 8 == 0
        company_id = b.company(name, target=target, owner=rng.choice(reps) if target else None)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        companies.append((company_id, f"{slug}.example", target))

    sequences = []
    for team_index, (_, team_name, _, _) in enumerate(_TEAMS):
        sequences.append(
            b.rows.add(
                Sequence,
                external_id=b.key("sequence"),
                name=f"{team_name} outbound Q1",
                owner_id=managers[team_index].id,
            )
        )

    dana = reps[0]
    featured = _dana(b, dana, managers[0], reps[1], companies, sequences[0])
    for rep in reps:
        _background(b, rep, companies, sequences[rep.team])

    return {
        "rep_id": dana.id,
        "rep_name": dana.name,
        "rep_email": dana.email,
        "rep_slack_user_id": "U0DEMO0001",
        "manager_id": managers[0].id,
        "manager_name": managers[0].name,
        "admin_id": admin.id,
        "admin_name": admin.name,
        "featured_deal_id": featured,
        "featured_deal_name": FEATURED_DEAL_NAME,
    }


def _background(
    b: _Builder,
    rep: _Person,
    companies: list[tuple[int, str, bool]],
    sequence_id: int,
) -> None:
    """A rep's ordinary year: contacts, leads, deals and a few thousand activities overall."""
    rng = b.rng
    contacts = []
    for _ in range(30):
        company_id, domain, _target = rng.choice(companies)
        lifecycle = rng.choice(
            ["subscriber", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead",
             "opportunity", "opportunity", "customer", "evangelist"]
        )  # fmt: skip
        contacts.append(b.contact(rep, (company_id, domain), lifecycle=lifecycle))

    # Leads in every stage.
    for index, stage in enumerate(
        ["new", "attempting", "attempting", "connected", "qualified", "disqualified"]
    ):
        created = b.ago(days=rng.randint(5, 120))
        b.lead(
            rep,
            contacts[index],
            stage,
            created=created,
            stage_changed=created + timedelta(days=rng.randint(0, 4)),
            reason="No budget this year" if stage == "disqualified" else None,
        )

    # Deals across stages; open ones get score histories, some declining.
    stage_pool = [
        "appointmentscheduled", "qualifiedtobuy", "qualifiedtobuy", "presentationscheduled",
        "decisionmakerboughtin", "contractsent", "closedwon", "closedlost",
    ]  # fmt: skip
    deal_contacts: dict[int, list[int]] = {}
    for index, stage in enumerate(stage_pool):
        contact = contacts[6 + index * 2]
        others = [contacts[7 + index * 2]] if index % 3 else []
        created = b.ago(days=rng.randint(15, 220))
        stage_changed = created + (b.now - created) * rng.uniform(0.2, 0.9)
        is_open = not stage.startswith("closed")
        close = (b.now + timedelta(days=rng.randint(-12, 75))).date() if is_open else None
        if not is_open:
            close = stage_changed.date()
        scores = []
        if is_open:
            level = rng.randint(45, 85)
            trend = rng.choice([-9, -5, 2, 4, 6])
            for step in range(rng.randint(3, 6), 0, -1):
                scores.append((b.ago(days=step * 7), max(5, min(99, level))))
                level += trend + rng.randint(-3, 3)
        deal_id = b.deal(
            rep,
            f"{contact.name.split()[1]} & Co - {rng.choice(_DEAL_KINDS)}",
            stage,
            company_id=contact.company_id,
            contacts=[contact, *others],
            created=created,
            stage_changed=stage_changed,
            close_date=close,
            amount=rng.randrange(5_000, 250_000, 500),
            next_step=rng.choice(_NEXT_STEPS) if is_open else None,
            next_step_at=b.ago(days=rng.randint(1, 30)) if is_open else None,
            scores=scores,
        )
        for c in (contact, *others):
            deal_contacts[c.id] = [*deal_contacts.get(c.id, []), deal_id]

    # A year of activity on every contact.
    enrolled = 0
    for contact in contacts:
        deals = deal_contacts.get(contact.id, [])
        for _ in range(rng.randint(2, 5)):
            sent = b.ago(days=rng.uniform(1, 360))
            roll = rng.random()
            b.thread(
                rep,
                contact,
                sent,
                opened_after=timedelta(hours=rng.uniform(1, 72)) if roll < 0.7 else None,
                reply_after=timedelta(hours=rng.uniform(2, 96)) if roll < 0.35 else None,
                deals=deals,
            )
        for _ in range(rng.randint(0, 3)):
            start = b.ago(days=rng.uniform(2, 360))
            b.call(
                rep,
                start,
                status=CallStatus.COMPLETED,
                built_in=rng.random() < 0.6,
                outcome=rng.choice(_CALL_OUTCOMES),
                contacts=[contact],
                deals=deals,
            )
        for _ in range(rng.randint(0, 2)):
            start = b.local(rep, -rng.randint(8, 350), rng.choice([9, 10, 11, 14, 15, 16]))
            b.meeting(
                rep,
                rng.choice(_MEETING_TITLES),
                start,
                outcome=rng.choice(
                    [MeetingOutcome.COMPLETED] * 4
                    + [MeetingOutcome.NO_SHOW, MeetingOutcome.CANCELED]
                ),
                contacts=[contact],
                deals=deals,
            )
        if rng.random() < 0.5:
            pool = _GOAL_NOTES + _CONCERN_NOTES + _NEUTRAL_NOTES
            b.note(
                rep,
                rng.choice(pool),
                b.ago(days=rng.uniform(1, 300)),
                contacts=[contact],
                deals=deals,
            )
        if enrolled < 4 and not deals:
            enrolled += 1
            enrollment = b.rows.add(
                SequenceEnrollment,
                external_id=b.key("enrollment"),
                sequence_id=sequence_id,
                contact_id=contact.id,
                enrolled_by_id=rep.id,
                enrolled_at=b.ago(days=rng.randint(2, 20)),
                status=EnrollmentStatus.ACTIVE,
                current_step=2,
            )
            b.task(
                rep,
                f"Sequence step 2: email {contact.name}",
                b.local(rep, rng.randint(0, 2), 10),
                task_type=TaskType.EMAIL,
                enrollment_id=enrollment,
                contacts=[contact],
            )

    # This week's and the coming days' work.
    for days in (-3, -2, -1, 0, 0, 1, 1, 2, 3, 5, 8):
        contact = rng.choice(contacts)
        due = b.local(rep, days, rng.choice([9, 11, 13, 16]), rng.choice([0, 30]))
        done = days < 0 and rng.random() < 0.6
        b.task(
            rep,
            rng.choice(_TASK_SUBJECTS),
            due,
            priority=rng.choice([TaskPriority.HIGH, TaskPriority.MEDIUM, TaskPriority.NONE]),
            task_type=rng.choice([TaskType.TODO, TaskType.CALL, TaskType.EMAIL]),
            completed_at=due + timedelta(hours=1) if done else None,
            contacts=[contact],
            deals=deal_contacts.get(contact.id, [])[:1],
        )
    for days in (-6, -4, -2, -1):
        contact = rng.choice(contacts)
        b.task(
            rep,
            rng.choice(_TASK_SUBJECTS),
            b.local(rep, days, 10),
            completed_at=b.local(rep, days, 12) if b.local(rep, days, 12) < b.now else None,
            contacts=[contact],
        )
    for days in (1, 2, 4, 6):
        contact = rng.choice(contacts)
        b.meeting(
            rep,
            rng.choice(_MEETING_TITLES),
            b.local(rep, days, rng.choice([9, 10, 14, 15])),
            contacts=[contact],
            deals=deal_contacts.get(contact.id, [])[:1],
        )
    # Recent calls, one left without outcome.
    for hours in (30, 52, 75):
        contact = rng.choice(contacts)
        b.call(
            rep,
            b.ago(hours=hours),
            outcome=None if hours == 52 else rng.choice(_CALL_OUTCOMES),
            contacts=[contact],
            deals=deal_contacts.get(contact.id, [])[:1],
        )


def _dana(
    b: _Builder,
    dana: _Person,
    manager: _Person,
    teammate: _Person,
    companies: list[tuple[int, str, bool]],
    sequence_id: int,
) -> int:
    """Dana's hand-made day: every guided action's creation criteria and every deal risk.

    Returns the featured deal's id. Each block names the rule(s) it serves (docs/demo.md).
    """
    day = timedelta(days=1)
    globex = b.company("Globex", target=True, owner=dana)
    globex_co = (globex, "globex.example")
    initech = b.company("Initech", target=False)
    initech_co = (initech, "initech.example")
    umbrella = b.company("Umbrella Health", target=True)
    umbrella_co = (umbrella, "umbrellahealth.example")
    hooli = b.company("Hooli", target=False)
    hooli_co = (hooli, "hooli.example")
    plain = [(c[0], c[1]) for c in companies if not c[2]]

    # Featured deal: Globex. Risks: declining score, buyer uncertainty in notes, no scheduled
    # follow-up, close date near, stalled in stage, buyer unresponsive (opened, no reply).
    # Rule 16: a meeting ended days ago, next step not updated since. Rule 19: opened, no reply.
    hana = b.contact(dana, globex_co, first_last=("Hana", "Ito"), lifecycle="opportunity")
    victor = b.contact(dana, globex_co, first_last=("Victor", "Hale"), lifecycle="opportunity")
    featured = b.deal(
        dana,
        FEATURED_DEAL_NAME,
        "decisionmakerboughtin",
        company_id=globex,
        contacts=[hana, victor],
        created=b.ago(days=95),
        stage_changed=b.ago(days=41),
        close_date=(b.now + 4 * day).date(),
        amount=185_000,
        next_step="Send revised proposal with a phased rollout",
        next_step_at=b.ago(days=12),
        scores=[
            (b.ago(days=7 * w), s)
            for w, s in zip(range(6, 0, -1), (84, 81, 76, 68, 60, 51), strict=True)
        ],
    )
    b.meeting(
        dana,
        "Globex: pricing review",
        b.local(dana, -5, 10),
        minutes=60,
        outcome=MeetingOutcome.COMPLETED,
        body="Walked through the phased pricing. Victor still unsure about year-two costs.",
        contacts=[hana, victor],
        deals=[featured],
    )
    b.note(
        dana,
        "Hana says their CFO announced budget cuts across IT; the expansion may need to be "
        "split in two phases. They are also evaluating Initrode as a cheaper option, and the "
        "timeline could slip to next quarter if procurement review drags on.",
        b.ago(days=4, hours=3),
        contacts=[hana],
        deals=[featured],
    )
    b.note(
        dana,
        "Buyer goal: consolidate support tooling across 14 regions and cut onboarding time "
        "for new agents by half before the summer peak.",
        b.ago(days=30),
        contacts=[hana],
        deals=[featured],
    )
    b.thread(
        dana,
        victor,
        b.ago(days=10),
        opened_after=timedelta(hours=3),
        reply_after=None,
        deals=[featured],
        subject="Revised proposal: phased rollout",
    )
    b.thread(
        dana,
        hana,
        b.ago(days=20),
        opened_after=timedelta(hours=1),
        reply_after=timedelta(hours=5),
        deals=[featured],
        subject="Agenda for the pricing review",
    )
    # Deal Insights' permission example: the manager's email about the budget cut is visible to
    # the manager (team visibility) and not to Dana (owned only).
    b.email(
        manager,
        hana,
        b.ago(days=3),
        subject="Heads-up on the budget cut",
        body="Hana, thanks for the candid call. Understood that the budget cut hits Q3; we can "
        "hold the current price for 60 days if that helps your review.",
        deals=[featured],
    )

    # Rule 17 + risk "no contact associated": created 20 days ago, no contact.
    b.deal(
        dana,
        "Initech - Analytics add-on",
        "qualifiedtobuy",
        company_id=initech,
        created=b.ago(days=20),
        stage_changed=b.ago(days=15),
        close_date=(b.now - 2 * day).date(),  # risk: close date passed
        amount=42_000,
        next_step=None,
        next_step_at=None,
        scores=[(b.ago(days=14), 55), (b.ago(days=7), 49)],
    )
    # Rule 18: first stage, created 12 days ago, no engagement at all.
    ruth = b.contact(dana, hooli_co, first_last=("Ruth", "Okafor"), lifecycle="opportunity")
    b.deal(
        dana,
        "Hooli - Team seats",
        "appointmentscheduled",
        company_id=hooli,
        contacts=[ruth],
        created=b.ago(days=12),
        stage_changed=b.ago(days=12),
        close_date=(b.now + 45 * day).date(),
        amount=18_500,
        next_step="Book the first call",
        next_step_at=b.ago(days=12),
    )
    # Rule 10: a contact on an open deal of Dana's wrote to her; she has not answered.
    nils = b.contact(dana, umbrella_co, first_last=("Nils", "Larsen"), lifecycle="opportunity")
    umbrella_deal = b.deal(
        dana,
        "Umbrella Health - Annual renewal",
        "contractsent",
        company_id=umbrella,
        contacts=[nils],
        created=b.ago(days=60),
        stage_changed=b.ago(days=6),
        close_date=(b.now + 10 * day).date(),
        amount=96_000,
        next_step="Countersign after legal review",
        next_step_at=b.ago(days=2),
        scores=[(b.ago(days=21), 62), (b.ago(days=14), 70), (b.ago(days=7), 77)],
    )
    b.thread(
        dana,
        nils,
        b.ago(days=2),
        opened_after=timedelta(hours=1),
        reply_after=timedelta(hours=28),
        deals=[umbrella_deal],
        subject="Renewal start date",
    )
    b.meeting(
        dana,
        "Umbrella: contract walkthrough",
        b.local(dana, 2, 11),
        contacts=[nils],
        deals=[umbrella_deal],
    )

    # Rule 1: newly assigned contacts (2 days ago), not customers, no deal, no emails.
    for _ in range(3):
        b.contact(
            dana,
            b.rng.choice(plain),
            assigned_at=b.ago(days=2, hours=b.rng.randint(0, 20)),
            lifecycle="lead",
            previous_owner=teammate,
        )

    # Rule 2: newly assigned leads, in the first stage, no activity logged.
    for _ in range(2):
        contact = b.contact(dana, b.rng.choice(plain), lifecycle="lead")
        b.lead(dana, contact, "new", created=b.ago(days=1, hours=b.rng.randint(1, 12)))

    # Rule 3: re-engaged contact: last lead disqualified 40 days ago, replied 4 days ago.
    omar = b.contact(dana, b.rng.choice(plain), first_last=("Omar", "Haddad"))
    b.lead(
        dana,
        omar,
        "disqualified",
        created=b.ago(days=70),
        stage_changed=b.ago(days=40),
        reason="No budget this year",
    )
    b.email(
        dana,
        omar,
        b.ago(days=4),
        incoming=True,
        subject="Budget freed up after all",
        body="Hi Dana, our budget situation changed. Could we restart the conversation?",
    )

    # Rule 4: open sequence tasks assigned to Dana.
    for index in range(2):
        contact = b.contact(dana, b.rng.choice(plain), lifecycle="lead")
        enrollment = b.rows.add(
            SequenceEnrollment,
            external_id=b.key("enrollment"),
            sequence_id=sequence_id,
            contact_id=contact.id,
            enrolled_by_id=dana.id,
            enrolled_at=b.ago(days=6),
            status=EnrollmentStatus.ACTIVE,
            current_step=2 + index,
        )
        b.thread(dana, contact, b.ago(days=6), opened_after=timedelta(hours=4), reply_after=None)
        b.task(
            dana,
            f"Sequence step {2 + index}: call {contact.name}",
            b.local(dana, 0, 11 + index),
            task_type=TaskType.CALL,
            enrollment_id=enrollment,
            contacts=[contact],
        )

    # Rule 5: Dana's contact replied to her tracked email yesterday.
    priya = b.contact(dana, b.rng.choice(plain), first_last=("Paola", "Quintero"))
    b.thread(dana, priya, b.ago(days=2), opened_after=timedelta(hours=2), reply_after=day)

    # Rule 9: an unowned contact, no open lead, replied with Dana as primary recipient.
    # A colleague at Dana's own domain replying makes no action (same company).
    stray = b.contact(None, b.rng.choice(plain), first_last=("Ivan", "Petrov"))
    b.thread(dana, stray, b.ago(days=3), opened_after=timedelta(hours=1), reply_after=day * 2)
    colleague = b.contact(
        None, None, first_last=("Robin", "Inhouse"), email_domain=SELLER_DOMAIN, lifecycle="other"
    )
    b.thread(dana, colleague, b.ago(days=3), opened_after=None, reply_after=day)

    # Rule 11: a lead replied to Dana.
    lead_contact = b.contact(dana, b.rng.choice(plain), first_last=("Elena", "Moreau"))
    reply_lead = b.lead(dana, lead_contact, "attempting", created=b.ago(days=9))
    b.thread(
        dana,
        lead_contact,
        b.ago(days=3),
        opened_after=timedelta(hours=1),
        reply_after=day,
        leads=[reply_lead],
    )

    # Rule 14: a contact at a target account engaged (opened an email, then wrote) this week.
    tess = b.contact(
        dana, umbrella_co, first_last=("Tatum", "Weber"), lifecycle="salesqualifiedlead"
    )
    b.thread(dana, tess, b.ago(days=3), opened_after=timedelta(hours=6), reply_after=None)

    # Rule 15: a lead in an open stage engaged within 7 days (opened an email).
    warm = b.contact(dana, b.rng.choice(plain), first_last=("Jonas", "Lindqvist"))
    warm_lead = b.lead(dana, warm, "connected", created=b.ago(days=25))
    b.thread(
        dana,
        warm,
        b.ago(days=2),
        opened_after=timedelta(hours=3),
        reply_after=None,
        leads=[warm_lead],
    )

    # Rule 6: two past meetings without an outcome; rule 7: follow up on meetings.
    mira = b.contact(dana, initech_co, first_last=("Mira", "Novak"), lifecycle="opportunity")
    no_outcome = b.meeting(dana, "Initech: discovery", b.local(dana, -1, 14), contacts=[mira])
    b.meeting(dana, "Quarterly check-in", b.local(dana, -3, 10), outcome=None, contacts=[tess])
    b.task(
        dana,
        "Send Initech the discovery recap",
        b.local(dana, 1, 9),
        follow_up_of=no_outcome,
        contacts=[mira],
    )

    # Rule 8: three calls without an outcome (bundled): built-in completed, logged completed,
    # logged with an empty status.
    b.call(dana, b.ago(hours=3), status=CallStatus.COMPLETED, built_in=True, contacts=[mira])
    b.call(
        dana, b.ago(days=1, hours=2), status=CallStatus.COMPLETED, built_in=False, contacts=[hana]
    )
    b.call(dana, b.ago(days=2, hours=5), status=None, built_in=False, contacts=[ruth])
    # And calls with outcomes this week (insight numbers).
    for hours in (26, 50, 74):
        b.call(dana, b.ago(hours=hours), outcome="Connected", contacts=[nils])

    # Rule 12: meetings later today, still scheduled; two overlap (a schedule conflict).
    b.meeting(
        dana,
        "Globex: stakeholder alignment",
        b.later_today(dana, 2),
        minutes=45,
        contacts=[hana, victor],
        deals=[featured],
        booked_at=b.ago(days=1),
    )
    clash = b.later_today(dana, 4)
    b.meeting(dana, "Umbrella: security review", clash, minutes=60, contacts=[nils])
    b.meeting(
        dana,
        "Team pipeline review",
        clash + timedelta(minutes=30),
        minutes=30,
        booked_at=b.ago(days=2),
    )
    b.meeting(dana, "Initech: follow-up demo", b.local(dana, 1, 10), contacts=[mira])

    # Rule 13 and the task buckets: overdue, today (2 high priority), tomorrow.
    b.task(dana, "Send Globex the revised proposal", b.local(dana, -1, 16),
           priority=TaskPriority.HIGH, task_type=TaskType.EMAIL, contacts=[victor],
           deals=[featured])  # fmt: skip
    b.task(dana, "Call Omar about restarting", b.local(dana, -2, 11), task_type=TaskType.CALL,
           contacts=[omar])  # fmt: skip
    b.task(dana, "Prepare Umbrella renewal paperwork", b.local(dana, 0, 9),
           priority=TaskPriority.HIGH, contacts=[nils], deals=[umbrella_deal])  # fmt: skip
    b.task(dana, "Confirm budget owner at Globex", b.local(dana, 0, 15),
           priority=TaskPriority.HIGH, task_type=TaskType.CALL, contacts=[hana],
           deals=[featured])  # fmt: skip
    b.task(dana, "Log notes from Initech discovery", b.local(dana, 0, 17), contacts=[mira])
    b.task(dana, "Share case study with Hooli", b.local(dana, 1, 11), task_type=TaskType.EMAIL,
           contacts=[ruth])  # fmt: skip
    b.task(dana, "Prep pricing for Umbrella call", b.local(dana, 1, 14),
           priority=TaskPriority.HIGH, deals=[umbrella_deal])  # fmt: skip
    # Completed this week (insights and goals).
    for days, hour in ((-2, 10), (-1, 9), (-1, 15), (0, 8)):
        due = b.local(dana, days, hour)
        if due < b.now:
            b.task(dana, "Weekly CRM hygiene", due, completed_at=due + timedelta(minutes=40))
    return featured
