"""Adding a note and logging a call from Slack: authorised, linked, seen at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from insights.evidence import gather_evidence
from rules.activity_log.ops import CallLog, add_note, log_call
from rules.op_result import OpStatus
from rules.workspace.feed import feed
from storage.models import (
    Activity,
    ActivityKind,
    CallStatus,
    DealVisibility,
    RecordChange,
    Role,
)
from tests.builders import CRM


def test_a_note_on_a_deal_is_seen_at_once_by_who_may_see_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, deal_visibility=DealVisibility.OWNED)
    boss = crm.user(
        name="Mo", team_id=team.id, role=Role.MANAGER, deal_visibility=DealVisibility.TEAM
    )
    outsider = crm.user(name="Ben", team_id=crm.team().id, deal_visibility=DealVisibility.TEAM)
    ada = crm.contact(dana)
    deal = crm.deal(dana, contacts=[ada], name="Acme - Platform")

    result = add_note(
        session, dana, on="deal", record_id=str(deal.id), body="  Budget is approved.\n", now=now
    )

    assert result.changed and result.message == "Done: note added to 'Acme - Platform'."
    note = session.get(Activity, result.record_id)
    assert note is not None and note.kind is ActivityKind.NOTE
    assert (note.body, note.owner_id, note.occurred_at) == ("Budget is approved.", dana.id, now)
    for reader in (dana, boss):
        evidence = gather_evidence(session, deal_id=deal.id, viewer=reader, now=now)
        assert evidence is not None
        assert note.id in evidence.citable_ids
    # The note follows its owner: a rep of another team sees neither it nor the deal.
    assert gather_evidence(session, deal_id=deal.id, viewer=outsider, now=now) is None
    # Linked to the deal's contact too: Dana's feed lists it under Ada.
    page = feed(session, dana, now=now)
    assert [item.id for group in page.groups for item in group.items] == [note.id]


def test_a_note_needs_text_and_a_record_the_writer_may_change(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id)
    sam = crm.user(name="Sam", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    deal = crm.deal(dana)
    company = crm.company(owner_id=dana.id)

    assert add_note(session, dana, on="deal", record_id=deal.id, body=" ", now=now).field == "body"
    long = "x" * 10_001
    assert add_note(session, dana, on="deal", record_id=deal.id, body=long, now=now).refused
    # Sam sees the deal (team visibility) but may not change Dana's records.
    assert add_note(session, sam, on="deal", record_id=deal.id, body="hi", now=now).status is (
        OpStatus.FORBIDDEN
    )
    refused = add_note(session, sam, on="company", record_id=company.id, body="hi", now=now)
    assert refused.status is OpStatus.NOT_FOUND  # never says whose company it is
    for on, record_id in (("lead", deal.id), ("deal", "x"), (None, deal.id)):
        assert add_note(session, dana, on=on, record_id=record_id, body="hi", now=now).refused
    session.flush()
    assert session.scalars(select(Activity).where(Activity.kind == ActivityKind.NOTE)).all() == []
    assert session.scalars(select(RecordChange)).all() == []


def test_log_a_call_on_a_deal_creates_a_linked_call_with_its_notes(
    session: Session, crm: CRM, now: datetime
) -> None:
    dana = crm.user(name="Dana")
    ada = crm.contact(dana)
    deal = crm.deal(dana, contacts=[ada], name="Acme - Platform")

    result = log_call(
        session,
        dana,
        str(deal.id),
        call=CallLog(disposition="Connected", notes="Asked for a discount."),
        now=now,
    )

    assert result.message == "Done: call logged on 'Acme - Platform' (Connected)."
    call = session.get(Activity, result.record_id)
    assert call is not None and call.kind is ActivityKind.CALL
    assert (call.outcome, call.call_status, call.body) == (
        "Connected",
        CallStatus.COMPLETED,
        "Asked for a discount.",
    )
    assert call.starts_at == now and call.owner_id == dana.id
    evidence = gather_evidence(session, deal_id=deal.id, viewer=dana, now=now)
    assert evidence is not None and call.id in evidence.citable_ids

    bad = log_call(session, dana, deal.id, call=CallLog(disposition=""), now=now)
    assert bad.field == "disposition"
    bad_status = log_call(
        session, dana, deal.id, call=CallLog(disposition="Busy", status="ringing"), now=now
    )
    assert bad_status.field == "status"
