"""The Feed: the last year on the user's contacts, grouped by contact, with filters."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rules.workspace.feed import FeedFilters, SequenceFilter, feed
from storage.models import ActivityKind, EmailDirection, Role
from tests.builders import CRM


def test_feed_groups_by_contact_labels_targets_and_filters(
    any_engine: Engine, now: datetime
) -> None:
    with Session(any_engine) as session:
        crm = CRM(session, now)
        rep, other = crm.user(), crm.user()
        target = crm.company(name="Globex", is_target_account=True)
        plain = crm.company(name="Initech")
        ada = crm.contact(rep, first_name="Ada", last_name="Lane", company_id=target.id)
        bo = crm.contact(rep, first_name="Bo", last_name="Chen", company_id=plain.id)
        stranger = crm.contact(other, first_name="Cy", last_name="Other")
        crm.enrollment(bo, rep)

        day = timedelta(days=1)
        crm.email(rep, subject="Proposal", sent_at=now - 2 * day, contacts=[ada])
        crm.email(
            None,
            subject="Re: Proposal",
            sent_at=now - day,
            direction=EmailDirection.INCOMING,
            contacts=[ada],
        )
        crm.note(rep, "Budget approved", at=now - 3 * day, contacts=[ada])
        crm.call(rep, subject="Intro call", starts_at=now - 5 * day, contacts=[bo])
        crm.note(rep, "Ancient history", at=now - 400 * day, contacts=[bo])
        crm.meeting(rep, subject="Next week", starts_at=now + 7 * day, contacts=[bo])
        crm.email(other, subject="Not on my contacts", sent_at=now - day, contacts=[stranger])
        # A colleague's private note on my contact: my "owned only" visibility hides it.
        crm.note(other, "Colleague's private note", at=now - day, contacts=[bo])
        session.commit()

        page = feed(session, rep, now=now)
        assert [g.contact.name for g in page.groups] == ["Ada Lane", "Bo Chen"]
        ada_group, bo_group = page.groups
        assert [i.title for i in ada_group.items] == ["Re: Proposal", "Proposal", "Budget approved"]
        assert ada_group.is_target_account and ada_group.company is not None
        assert ada_group.company.name == "Globex"
        assert not bo_group.is_target_account
        assert bo_group.in_sequence and not ada_group.in_sequence
        assert [i.title for i in bo_group.items] == ["Intro call"]
        assert ada_group.latest_at == now - day

        notes = feed(
            session, rep, now=now, filters=FeedFilters(kinds=frozenset({ActivityKind.NOTE}))
        )
        assert [(g.contact.name, [i.title for i in g.items]) for g in notes.groups] == [
            ("Ada Lane", ["Budget approved"])
        ]
        enrolled = feed(
            session, rep, now=now, filters=FeedFilters(sequence=SequenceFilter.ENROLLED)
        )
        assert [g.contact.name for g in enrolled.groups] == ["Bo Chen"]
        not_enrolled = feed(
            session, rep, now=now, filters=FeedFilters(sequence=SequenceFilter.NOT_ENROLLED)
        )
        assert [g.contact.name for g in not_enrolled.groups] == ["Ada Lane"]

        capped = feed(session, rep, now=now, per_contact=2, limit=1)
        assert capped.total_contacts == 2 and capped.has_more
        assert capped.groups[0].activity_count == 3
        assert len(capped.groups[0].items) == 2
        rest = feed(session, rep, now=now, per_contact=2, limit=1, offset=1)
        assert [g.contact.name for g in rest.groups] == ["Bo Chen"] and not rest.has_more


def test_an_admin_reading_a_feed_sees_meetings_as_busy(session: Session, crm: CRM) -> None:
    rep = crm.user()
    admin = crm.user(role=Role.SUPER_ADMIN)
    contact = crm.contact(rep)
    crm.meeting(rep, subject="Secret", body="pricing", contacts=[contact])
    items = feed(session, rep, now=crm.now, viewer=admin).groups[0].items
    assert [(i.title, i.snippet) for i in items] == [("Busy", None)]
