"""Every rep's ordinary year: contacts, leads, deals and a few thousand activities overall."""

from __future__ import annotations

from datetime import datetime, timedelta

from demo.records import Builder, ContactInfo, Person
from demo.wording import (
    CALL_OUTCOMES,
    CONCERN_NOTES,
    DEAL_KINDS,
    GOAL_NOTES,
    MEETING_TITLES,
    NEUTRAL_NOTES,
    NEXT_STEPS,
    TASK_SUBJECTS,
)
from storage.models import (
    CallStatus,
    EnrollmentStatus,
    MeetingOutcome,
    SequenceEnrollment,
    TaskPriority,
    TaskType,
)


def ordinary_year(
    b: Builder,
    rep: Person,
    companies: list[tuple[int, str, bool]],
    sequence_id: int,
) -> None:
    """A rep's ordinary year: contacts, leads, deals and a few thousand activities overall."""
    contacts = _contacts(b, rep, companies)
    _leads(b, rep, contacts)
    deal_contacts = _deals(b, rep, contacts)
    _year_of_activity(b, rep, contacts, deal_contacts, sequence_id)
    _this_week(b, rep, contacts, deal_contacts)


def _contacts(b: Builder, rep: Person, companies: list[tuple[int, str, bool]]) -> list[ContactInfo]:
    """Thirty contacts at random companies, in every lifecycle stage."""
    rng = b.rng
    contacts = []
    for _ in range(30):
        company_id, domain, _target = rng.choice(companies)
        lifecycle = rng.choice(
            ["subscriber", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead",
             "opportunity", "opportunity", "customer", "evangelist"]
        )  # fmt: skip
        contacts.append(b.contact(rep, (company_id, domain), lifecycle=lifecycle))
    return contacts


def _leads(b: Builder, rep: Person, contacts: list[ContactInfo]) -> None:
    """Leads in every stage, on the rep's first contacts."""
    rng = b.rng
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


def _deals(b: Builder, rep: Person, contacts: list[ContactInfo]) -> dict[int, list[int]]:
    """Deals across stages; open ones get score histories, some declining.

    Returns:
        Each contact's deals (contact row id -> deal row ids).
    """
    rng = b.rng
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
        scores = _score_history(b) if is_open else []
        deal_id = b.deal(
            rep,
            f"{contact.name.split()[1]} & Co - {rng.choice(DEAL_KINDS)}",
            stage,
            company_id=contact.company_id,
            contacts=[contact, *others],
            created=created,
            stage_changed=stage_changed,
            close_date=close,
            amount=rng.randrange(5_000, 250_000, 500),
            next_step=rng.choice(NEXT_STEPS) if is_open else None,
            next_step_at=b.ago(days=rng.randint(1, 30)) if is_open else None,
            scores=scores,
        )
        for c in (contact, *others):
            deal_contacts[c.id] = [*deal_contacts.get(c.id, []), deal_id]
    return deal_contacts


def _score_history(b: Builder) -> list[tuple[datetime, int]]:
    """Weekly readings up to last week, drifting up or down."""
    rng = b.rng
    scores = []
    level = rng.randint(45, 85)
    trend = rng.choice([-9, -5, 2, 4, 6])
    for step in range(rng.randint(3, 6), 0, -1):
        scores.append((b.ago(days=step * 7), max(5, min(99, level))))
        level += trend + rng.randint(-3, 3)
    return scores


def _year_of_activity(
    b: Builder,
    rep: Person,
    contacts: list[ContactInfo],
    deal_contacts: dict[int, list[int]],
    sequence_id: int,
) -> None:
    """A year of activity on every contact; four contacts without deals in a sequence."""
    enrolled = 0
    for contact in contacts:
        deals = deal_contacts.get(contact.id, [])
        _contact_history(b, rep, contact, deals)
        if enrolled < 4 and not deals:
            enrolled += 1
            _sequence_task(b, rep, contact, sequence_id)


def _contact_history(b: Builder, rep: Person, contact: ContactInfo, deals: list[int]) -> None:
    """Email threads, calls, meetings and maybe a note with one contact over the year."""
    rng = b.rng
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
            outcome=rng.choice(CALL_OUTCOMES),
            contacts=[contact],
            deals=deals,
        )
    for _ in range(rng.randint(0, 2)):
        start = b.local(rep, -rng.randint(8, 350), rng.choice([9, 10, 11, 14, 15, 16]))
        b.meeting(
            rep,
            rng.choice(MEETING_TITLES),
            start,
            outcome=rng.choice(
                [MeetingOutcome.COMPLETED] * 4 + [MeetingOutcome.NO_SHOW, MeetingOutcome.CANCELED]
            ),
            contacts=[contact],
            deals=deals,
        )
    if rng.random() < 0.5:
        pool = GOAL_NOTES + CONCERN_NOTES + NEUTRAL_NOTES
        b.note(
            rep,
            rng.choice(pool),
            b.ago(days=rng.uniform(1, 300)),
            contacts=[contact],
            deals=deals,
        )


def _sequence_task(b: Builder, rep: Person, contact: ContactInfo, sequence_id: int) -> None:
    """Enroll the contact in the team's sequence, with its open step-2 task."""
    rng = b.rng
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


def _this_week(
    b: Builder, rep: Person, contacts: list[ContactInfo], deal_contacts: dict[int, list[int]]
) -> None:
    """This week's and the coming days' tasks and meetings, and recent calls."""
    rng = b.rng
    for days in (-3, -2, -1, 0, 0, 1, 1, 2, 3, 5, 8):
        contact = rng.choice(contacts)
        due = b.local(rep, days, rng.choice([9, 11, 13, 16]), rng.choice([0, 30]))
        done = days < 0 and rng.random() < 0.6
        b.task(
            rep,
            rng.choice(TASK_SUBJECTS),
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
            rng.choice(TASK_SUBJECTS),
            b.local(rep, days, 10),
            completed_at=b.local(rep, days, 12) if b.local(rep, days, 12) < b.now else None,
            contacts=[contact],
        )
    for days in (1, 2, 4, 6):
        contact = rng.choice(contacts)
        b.meeting(
            rep,
            rng.choice(MEETING_TITLES),
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
            outcome=None if hours == 52 else rng.choice(CALL_OUTCOMES),
            contacts=[contact],
            deals=deal_contacts.get(contact.id, [])[:1],
        )
