"""Activities logged from Slack on a record: a note (deal, contact, company), a call (deal).

The new activity belongs to the acting user, who must be allowed to change the record
(``can_act_for`` its owner: what HubSpot asks of someone logging an activity). It is linked
to the record and, on a deal, to the deal's contacts and company too (as HubSpot's own
"log activity" links them), so the Feed and Deal Insights see it at once; its owner decides
who else may (``rules.permissions``, activities follow their owner). The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.activity_log import wording as say
from rules.deals.ops import load_deal_for
from rules.meetings.ops import CALL_NOTES_MAX, DISPOSITION_MAX
from rules.meetings.wording import NOTES_TOO_LONG, PICK_CALL_OUTCOME, PICK_CALL_STATUS
from rules.op_result import OpResult, done, invalid, not_found, parse_id, refused_change
from rules.permissions import can_act_for
from rules.write_hooks import record_write
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    CallStatus,
    ChangeKind,
    Company,
    Contact,
    Deal,
    DealContact,
    OwnedObject,
    User,
)
from storage.ownership import assign

NOTE_MAX = 10_000


class NoteOn(StrEnum):
    """The kinds of record a note can be added to."""

    DEAL = "deal"
    CONTACT = "contact"
    COMPANY = "company"


@dataclass(frozen=True)
class CallLog:
    """A call to log on a deal: its outcome label, status (default completed) and notes."""

    disposition: object
    status: object = None
    notes: object = None


@dataclass(frozen=True)
class _Target:
    """The record an activity is logged on, and the records the activity links to."""

    name: str
    deals: tuple[int, ...] = ()
    contacts: tuple[int, ...] = ()
    companies: tuple[int, ...] = ()


def add_note(
    session: Session, actor: User, *, on: object, record_id: object, body: object, now: datetime
) -> OpResult:
    """Add a note written by ``actor`` to a deal, contact or company.

    Args:
        session: The unit of work (the caller commits).
        actor: Who wrote it (and owns it).
        on: The kind of record, a :class:`NoteOn` value from the payload.
        record_id: The record's id from the payload.
        body: The note's text (kept as typed: plain text, never markup).
        now: When it was written.

    Returns:
        DONE with the new note's id, or a refusal with nothing written.
    """
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        return invalid(say.NEEDS_NOTE, field="body")
    if len(text) > NOTE_MAX:
        return invalid(say.NOTE_TOO_LONG, field="body", count=NOTE_MAX)
    target, refusal = _target(session, actor, on, record_id)
    if target is None:
        assert refusal is not None
        return refusal
    note = _new_activity(session, actor, ActivityKind.NOTE, now, body=text)
    _link(session, note, target)
    _record_created(session, note, actor, now)
    return done(say.NOTE_ADDED, note.id, record=target.name)


def note_target(
    session: Session, actor: User, *, on: object, record_id: object
) -> tuple[str | None, OpResult | None]:
    """The name of the record a note would go on, if ``actor`` may add one (to fill the
    form); else None and the refusal."""
    target, refusal = _target(session, actor, on, record_id)
    return (target.name, None) if target is not None else (None, refusal)


def log_call(
    session: Session, actor: User, deal_id: object, *, call: CallLog, now: datetime
) -> OpResult:
    """Log a call ``actor`` made just now about a deal, with its outcome and notes.

    Args:
        session: The unit of work (the caller commits).
        actor: Who made the call (and owns it).
        deal_id: The deal's id from the payload.
        call: What the form said.
        now: When it was logged (the call's time).
    """
    values, problem = _call_values(call)
    if problem is not None:
        return problem
    deal, refusal = load_deal_for(session, actor, deal_id)
    if deal is None:
        assert refusal is not None
        return refusal
    target = _deal_target(session, deal)
    activity = _new_activity(
        session,
        actor,
        ActivityKind.CALL,
        now,
        subject=say.CALL_TITLE.format(deal=deal.name)[:500],
        starts_at=now,
        via_calling_feature=False,
        **values,
    )
    _link(session, activity, target)
    _record_created(session, activity, actor, now)
    return done(say.CALL_LOGGED, activity.id, deal=deal.name, outcome=str(values["outcome"]))


def _call_values(call: CallLog) -> tuple[dict[str, Any], OpResult | None]:
    label = call.disposition.strip() if isinstance(call.disposition, str) else ""
    if not label or len(label) > DISPOSITION_MAX:
        return {}, invalid(PICK_CALL_OUTCOME, field="disposition")
    status: CallStatus | None = CallStatus.COMPLETED
    if call.status not in (None, ""):
        try:
            status = CallStatus(call.status) if isinstance(call.status, str) else None
        except ValueError:
            status = None
        if status is None:
            return {}, invalid(PICK_CALL_STATUS, field="status")
    notes = call.notes.strip() if isinstance(call.notes, str) else ""
    if len(notes) > CALL_NOTES_MAX:
        return {}, invalid(NOTES_TOO_LONG, field="notes", count=CALL_NOTES_MAX)
    return {"outcome": label, "call_status": status, "body": notes or None}, None


# The record ----------------------------------------------------------------------------


def _target(
    session: Session, actor: User, on: object, raw_id: object
) -> tuple[_Target | None, OpResult | None]:
    """The record ``on``/``raw_id`` name, if ``actor`` may add to it; else the refusal."""
    try:
        kind = NoteOn(on) if isinstance(on, str) else None
    except ValueError:
        kind = None
    record_id = parse_id(raw_id)
    if kind is None or record_id is None:
        return None, invalid(say.NO_RECORD)
    if kind is NoteOn.DEAL:
        deal, refusal = load_deal_for(session, actor, record_id)
        return (_deal_target(session, deal), None) if deal is not None else (None, refusal)
    record: Contact | Company | None = (
        session.get(Contact, record_id)
        if kind is NoteOn.CONTACT
        else session.get(Company, record_id)
    )
    if record is None:
        return None, not_found(kind.value, record_id)
    if not can_act_for(session, actor, record.owner_id):
        # Contacts and companies have no visibility rule of their own: never say whose.
        return None, refused_change(
            session,
            actor,
            sentences=say.CANT_CHANGE[kind.value],
            noun=kind.value,
            record_id=record_id,
            owner_id=record.owner_id,
            visible=False,
        )
    if isinstance(record, Contact):
        companies = (record.company_id,) if record.company_id else ()
        return _Target(record.full_name, contacts=(record.id,), companies=companies), None
    return _Target(record.name, companies=(record.id,)), None


def _deal_target(session: Session, deal: Deal) -> _Target:
    contacts = session.scalars(select(DealContact.contact_id).where(DealContact.deal_id == deal.id))
    return _Target(
        deal.name,
        deals=(deal.id,),
        contacts=tuple(contacts),
        companies=(deal.company_id,) if deal.company_id else (),
    )


# The activity --------------------------------------------------------------------------


def _new_activity(
    session: Session, actor: User, kind: ActivityKind, now: datetime, **values: Any
) -> Activity:
    activity = Activity(
        external_id=f"salesbot-{uuid.uuid4().hex}",
        kind=kind,
        owner_id=actor.id,
        created_at=now,
        occurred_at=now,
        **values,
    )
    session.add(activity)
    session.flush()
    assign(session, activity, actor.id, at=now)
    return activity


def _link(session: Session, activity: Activity, target: _Target) -> None:
    session.add_all(
        [
            *(ActivityDeal(activity_id=activity.id, deal_id=i) for i in target.deals),
            *(ActivityContact(activity_id=activity.id, contact_id=i) for i in target.contacts),
            *(ActivityCompany(activity_id=activity.id, company_id=i) for i in target.companies),
        ]
    )
    session.flush()


def _record_created(session: Session, activity: Activity, actor: User, now: datetime) -> None:
    """Log the new activity, queue its create for the CRM, let the guided actions see it."""
    record_write(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=activity.id,
        external_id=activity.external_id,
        kind=ChangeKind.CREATED,
        actor_id=actor.id,
        at=now,
        detail={"kind": activity.kind.value},
    )
