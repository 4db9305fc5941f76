"""Dana's hand-made day: every guided action's creation criteria and every deal risk.

Each function serves the guided actions whose numbers it names (the spec's section 4, as in
the checklist of docs/demo.md). The functions run in a fixed order: they draw from the one
seeded random generator, so the order is part of what a seed means.
"""

from __future__ import annotations

from datetime import timedelta

from demo.people import SELLER_DOMAIN
from demo.records import Builder, ContactInfo, Person
from storage.models import (
    CallStatus,
    EnrollmentStatus,
    MeetingOutcome,
    SequenceEnrollment,
    TaskPriority,
    TaskType,
)

FEATURED_DEAL_NAME = "Globex - Platform expansion"

Company = tuple[int, str]
"""A company's row id and email domain."""


def dana_day(
    b: Builder,
    dana: Person,
    manager: Person,
    teammate: Person,
    companies: list[tuple[int, str, bool]],
    sequence_id: int,
) -> int:
    """Write Dana's day; return the featured deal's id.

    Args:
        b: the builder.
        dana: the demo rep.
        manager: her manager (sees what she does not: the permission example).
        teammate: the previous owner of contacts newly assigned to her.
        companies: (id, domain, is target account) of the background companies.
        sequence_id: her team's sequence.
    """
    globex = (b.company("Globex", target=True, owner=dana), "globex.example")
    initech = (b.company("Initech", target=False), "initech.example")
    umbrella = (b.company("Umbrella Health", target=True), "umbrellahealth.example")
    hooli = (b.company("Hooli", target=False), "hooli.example")
    plain = [(c[0], c[1]) for c in companies if not c[2]]
    featured, hana, victor = _featured_deal(b, dana, manager, globex)
    ruth, nils, umbrella_deal = _deals_needing_attention(
        b, dana, initech=initech, hooli=hooli, umbrella=umbrella
    )
    omar = _new_work(b, dana, teammate, plain, sequence_id)
    tess = _replies_and_engagement(b, dana, plain, umbrella)
    mira = _meetings_and_calls(
        b,
        dana,
        initech,
        featured=featured,
        hana=hana,
        victor=victor,
        ruth=ruth,
        nils=nils,
        tess=tess,
    )
    _task_buckets(
        b,
        dana,
        featured=featured,
        umbrella_deal=umbrella_deal,
        hana=hana,
        victor=victor,
        ruth=ruth,
        nils=nils,
        omar=omar,
        mira=mira,
    )
    return featured


def _featured_deal(
    b: Builder, dana: Person, manager: Person, globex_co: Company
) -> tuple[int, ContactInfo, ContactInfo]:
    """The Globex deal (rules 16, 19, every deal risk); its id and its two contacts."""
    day = timedelta(days=1)
    globex = globex_co[0]
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
    return featured, hana, victor


def _deals_needing_attention(
    b: Builder, dana: Person, *, initech: Company, hooli: Company, umbrella: Company
) -> tuple[ContactInfo, ContactInfo, int]:
    """Rules 17, 18 and 10; the Hooli and Umbrella contacts and the Umbrella deal."""
    day = timedelta(days=1)
    initech_id, hooli_id, umbrella_id = initech[0], hooli[0], umbrella[0]
    # Rule 17 + risk "no contact associated": created 20 days ago, no contact.
    b.deal(
        dana,
        "Initech - Analytics add-on",
        "qualifiedtobuy",
        company_id=initech_id,
        created=b.ago(days=20),
        stage_changed=b.ago(days=15),
        close_date=(b.now - 2 * day).date(),  # risk: close date passed
        amount=42_000,
        next_step=None,
        next_step_at=None,
        scores=[(b.ago(days=14), 55), (b.ago(days=7), 49)],
    )
    # Rule 18: first stage, created 12 days ago, no engagement at all.
    ruth = b.contact(dana, hooli, first_last=("Ruth", "Okafor"), lifecycle="opportunity")
    b.deal(
        dana,
        "Hooli - Team seats",
        "appointmentscheduled",
        company_id=hooli_id,
        contacts=[ruth],
        created=b.ago(days=12),
        stage_changed=b.ago(days=12),
        close_date=(b.now + 45 * day).date(),
        amount=18_500,
        next_step="Book the first call",
        next_step_at=b.ago(days=12),
    )
    # Rule 10: a contact on an open deal of Dana's wrote to her; she has not answered.
    nils = b.contact(dana, umbrella, first_last=("Nils", "Larsen"), lifecycle="opportunity")
    umbrella_deal = b.deal(
        dana,
        "Umbrella Health - Annual renewal",
        "contractsent",
        company_id=umbrella_id,
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
    return ruth, nils, umbrella_deal


def _new_work(
    b: Builder, dana: Person, teammate: Person, plain: list[Company], sequence_id: int
) -> ContactInfo:
    """Rules 1 to 4: new contacts and leads, a re-engaged contact, sequence tasks."""
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
    return omar


def _replies_and_engagement(
    b: Builder, dana: Person, plain: list[Company], umbrella_co: Company
) -> ContactInfo:
    """Rules 5, 9, 11, 14 and 15: replies and engagement; the target-account contact."""
    day = timedelta(days=1)
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
    return tess


def _meetings_and_calls(
    b: Builder,
    dana: Person,
    initech_co: Company,
    *,
    featured: int,
    hana: ContactInfo,
    victor: ContactInfo,
    ruth: ContactInfo,
    nils: ContactInfo,
    tess: ContactInfo,
) -> ContactInfo:
    """Rules 6, 7, 8 and 12: meetings and calls without outcomes, today's schedule."""
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
    return mira


def _task_buckets(
    b: Builder,
    dana: Person,
    *,
    featured: int,
    umbrella_deal: int,
    hana: ContactInfo,
    victor: ContactInfo,
    ruth: ContactInfo,
    nils: ContactInfo,
    omar: ContactInfo,
    mira: ContactInfo,
) -> None:
    """Rule 13 and the task buckets: overdue, today, tomorrow, done this week."""
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
