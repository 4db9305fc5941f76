"""The user's answers to a change the connected CRM did not take: apply mine, keep theirs,
retry. Who may answer is salesbot's own rule, as for the write itself: the user who made it,
or anyone who may act for the record's owner. The caller commits (which wakes the sender).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.crm_writes.queries import record_label
from rules.op_result import OpResult, already, done, forbidden, invalid, not_found, parse_id
from rules.permissions import can_act_for
from storage.models import (
    Activity,
    Deal,
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
)
from storage.outbox import crm_name, requeue


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
    return done(f"OK: {record_label(session, row)} keeps {crm_name(session)}'s values.", row.id)


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
    return done(f"Trying {record_label(session, row)} again in {crm_name(session)}.", row.id)


def _settled(session: Session, row: OutboxWrite) -> str:
    crm = crm_name(session)
    return {
        OutboxState.PENDING: f"This change is already on its way to {crm}.",
        OutboxState.SENT: f"This change is already saved in {crm}.",
        OutboxState.DISCARDED: f"This change was already dropped: {crm}'s values stay.",
        OutboxState.FAILED: f"This change was not saved in {crm}: {row.last_error}.",
        OutboxState.CONFLICT: "This change is waiting for your decision.",
    }[row.state]
