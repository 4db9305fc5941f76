"""Where a write stands in the connected CRM, in words, and the user's answers to it.

The outbox (``storage.outbox``) holds each write until the CRM has it. This module turns a
row into what its user reads ("Sam Ortiz changed the due date in HubSpot at 9:14; your
change was not saved") and takes the answers: apply mine, keep theirs, retry. Who may
answer is salesbot's own rule, as for the write itself: the user who made it, or anyone who
may act for the record's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.op_result import (
    OpResult,
    already,
    describe_moment,
    done,
    forbidden,
    invalid,
    not_found,
    parse_id,
)
from rules.permissions import can_act_for
from storage.changes import last_change
from storage.models import (
    Activity,
    Deal,
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
)
from storage.outbox import crm_name, requeue, states

# How people call the fields a row can name.
FIELD_NAMES = {
    "status": "status",
    "due_at": "due date",
    "subject": "subject",
    "body": "notes",
    "priority": "priority",
    "owner_id": "owner",
    "outcome": "outcome",
    "call_status": "call status",
    "stage_id": "stage",
    "close_date": "close date",
    "next_step": "next step",
    "amount": "amount",
    "name": "name",
}
_AUTOMATIONS = {"INTEGRATION", "API", "WORKFLOWS", "AUTOMATION_PLATFORM", "IMPORT"}


class NoticeKind(StrEnum):
    CONFLICT = "conflict"  # buttons: apply mine / keep theirs
    FAILED = "failed"  # button: retry (unless the record is gone)
    SAVED = "saved"  # a write the user was told about reached the CRM after all


@dataclass(frozen=True)
class Notice:
    """What to tell a write's user, and which answers to offer."""

    kind: NoticeKind
    row_id: int
    text: str
    can_retry: bool = False


def _label(session: Session, row: OutboxWrite) -> str:
    if row.object_type is OwnedObject.DEAL:
        deal = session.get(Deal, row.object_id)
        return f"'{deal.name}'" if deal is not None else "the deal"
    activity = session.get(Activity, row.object_id)
    if activity is not None and activity.subject:
        return f"'{activity.subject}'"
    tombstone = last_change(session, object_type=row.object_type, object_id=row.object_id)
    subject = (tombstone.detail or {}).get("subject") if tombstone is not None else None
    return f"'{subject}'" if subject else f"the {row.record_kind}"


def _who(session: Session, clash: dict[str, Any]) -> str:
    owner = clash.get("by_owner")
    if owner:
        name = session.scalar(select(User.name).where(User.external_id == str(owner)))
        if name:
            return str(name)
    if clash.get("source") in _AUTOMATIONS:
        return "an automation"
    return "someone"


def write_notice(session: Session, row_id: int, *, now: datetime) -> Notice | None:
    """The sentence for a row's user: a conflict, a failure, or a late success."""
    row = session.get(OutboxWrite, row_id)
    if row is None:
        return None
    actor = session.get(User, row.actor_id) if row.actor_id is not None else None
    crm = crm_name(session)
    label = _label(session, row)
    if row.state is OutboxState.CONFLICT and row.conflict:
        parts = []
        for name, clash in row.conflict.items():
            when = ""
            if clash.get("at") and actor is not None:
                at = datetime.fromisoformat(str(clash["at"]))
                when = f" {describe_moment(at, user_zone(session, actor), now=now)}"
            parts.append(f"{_who(session, clash)} changed the {FIELD_NAMES.get(name, name)}{when}")
        return Notice(
            NoticeKind.CONFLICT,
            row.id,
            f"Not saved in {crm}: {label} was changed there since you saw it "
            f"({'; '.join(parts)}). Your copy now shows {crm}'s values. "
            "Apply your change anyway, or keep theirs?",
        )
    if row.state is OutboxState.FAILED:
        gone = "deleted" in (row.last_error or "") or "never reached" in (row.last_error or "")
        return Notice(
            NoticeKind.FAILED,
            row.id,
            f"Not saved in {crm}: {label}: {row.last_error or 'it was refused'}."
            + ("" if gone else f" Your copy shows {crm}'s values again."),
            can_retry=not gone,
        )
    if row.state is OutboxState.SENT:
        return Notice(NoticeKind.SAVED, row.id, f"Saved in {crm}: {label}.")
    return None


def unsaved_notices(
    session: Session, user_id: int, *, now: datetime, limit: int = 3
) -> list[Notice]:
    """The user's changes the CRM has not taken (failed, or waiting for their decision),
    newest first: the Home tab shows them until they are retried, applied or dropped."""
    row_ids = session.scalars(
        select(OutboxWrite.id)
        .where(
            OutboxWrite.actor_id == user_id,
            OutboxWrite.state.in_((OutboxState.FAILED, OutboxState.CONFLICT)),
        )
        .order_by(OutboxWrite.id.desc())
        .limit(limit)
    )
    notices = [write_notice(session, row_id, now=now) for row_id in row_ids]
    return [n for n in notices if n is not None]


def progress_line(session: Session, row_ids: list[int]) -> str | None:
    """ "Saved in HubSpot.", "Saving to HubSpot…" or "Not saved in HubSpot: …" for the rows
    one write queued; None when it queued nothing."""
    rows = states(session, row_ids)
    if not rows:
        return None
    crm = crm_name(session)
    stuck = [r for r in rows if r.state in (OutboxState.FAILED, OutboxState.CONFLICT)]
    if stuck:
        reason = stuck[0].last_error or "it was refused"
        return f"Not saved in {crm}: {reason}. You'll get a message with what you can do."
    if all(r.state in (OutboxState.SENT, OutboxState.DISCARDED) for r in rows):
        return f"Saved in {crm}."
    return f"Saving to {crm}…"


def _row_for(
    session: Session, actor: User, raw_id: object
) -> tuple[OutboxWrite | None, OpResult | None]:
    row_id = parse_id(raw_id)
    if row_id is None:
        return None, invalid("That button didn't say which change. Refresh and try again.")
    row = session.get(OutboxWrite, row_id)
    if row is None:
        return None, not_found("change", row_id)
    model = Deal if row.object_type is OwnedObject.DEAL else Activity
    owner_id = session.scalar(select(model.owner_id).where(model.id == row.object_id))
    if row.actor_id != actor.id and (owner_id is None or not can_act_for(session, actor, owner_id)):
        return None, forbidden("You can't decide about someone else's change.", row.id)
    return row, None


def _waiting(
    session: Session, actor: User, raw_id: object, state: OutboxState
) -> tuple[OutboxWrite | None, OpResult | None]:
    """The row ``raw_id`` names if ``actor`` may answer for it and it is in ``state``;
    else None and what to say instead (a refusal, or where the change stands now)."""
    row, refusal = _row_for(session, actor, raw_id)
    if row is None:
        return None, refusal
    if row.state is not state:
        return None, already(_settled(session, row), row.id)
    return row, None


def apply_mine(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Send a conflicting change anyway: it overwrites the CRM's value."""
    row, answer = _waiting(session, actor, row_id, OutboxState.CONFLICT)
    if row is None:
        assert answer is not None
        return answer
    requeue(session, row, force=True, now=now)
    return done(f"Sending your change to {crm_name(session)} again.", row.id)


def keep_theirs(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Drop a conflicting change: the CRM's value (already shown locally) stays."""
    del now
    row, answer = _waiting(session, actor, row_id, OutboxState.CONFLICT)
    if row is None:
        assert answer is not None
        return answer
    row.state = OutboxState.DISCARDED
    row.last_error = f"kept {crm_name(session)}'s values"
    return done(f"OK: {_label(session, row)} keeps {crm_name(session)}'s values.", row.id)


def retry_write(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Send a failed change again (after its cause was fixed, e.g. a scope added)."""
    row, answer = _waiting(session, actor, row_id, OutboxState.FAILED)
    if row is None:
        assert answer is not None
        return answer
    if row.operation is OutboxOperation.CREATE and row.crm_id is None:
        model = Deal if row.object_type is OwnedObject.DEAL else Activity
        if session.get(model, row.object_id) is None:
            return not_found(row.record_kind, row.object_id)
    requeue(session, row, force=False, now=now)
    return done(f"Trying {_label(session, row)} again in {crm_name(session)}.", row.id)


def _settled(session: Session, row: OutboxWrite) -> str:
    crm = crm_name(session)
    return {
        OutboxState.PENDING: f"This change is already on its way to {crm}.",
        OutboxState.SENT: f"This change is already saved in {crm}.",
        OutboxState.DISCARDED: f"This change was already dropped: {crm}'s values stay.",
        OutboxState.FAILED: f"This change was not saved in {crm}: {row.last_error}.",
        OutboxState.CONFLICT: "This change is waiting for your decision.",
    }[row.state]
