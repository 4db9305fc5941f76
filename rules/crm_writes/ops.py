"""The user's answers to a change the connected CRM did not take: apply mine, keep theirs,
retry, dismiss. Who may answer is salesbot's own rule, as for the write itself: the user who
made it, or anyone who may act for the record's owner (dismissing a notice from one's own
Home tab: that user only). The caller commits (which wakes the sender).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.crm_writes import wording as say
from rules.crm_writes.queries import record_name, row_reason
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
    WriteReason,
)
from storage.outbox import crm_name, requeue


def _row_for(
    session: Session, actor: User, raw_id: object
) -> tuple[OutboxWrite | None, OpResult | None]:
    row_id = parse_id(raw_id)
    if row_id is None:
        return None, invalid(say.NO_CHANGE_ID)
    row = session.get(OutboxWrite, row_id)
    if row is None:
        return None, not_found("change", row_id)
    model = Deal if row.object_type is OwnedObject.DEAL else Activity
    owner_id = session.scalar(select(model.owner_id).where(model.id == row.object_id))
    if row.actor_id != actor.id and (owner_id is None or not can_act_for(session, actor, owner_id)):
        return None, forbidden(say.NOT_YOUR_CHANGE, row.id)
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
        return None, already(
            say.SETTLED[row.state],
            row.id,
            crm=say.crm_words(crm_name(session)),
            reason=row_reason(session, row),
        )
    return row, None


def apply_mine(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Send a conflicting change anyway: it overwrites the CRM's value."""
    row, answer = _waiting(session, actor, row_id, OutboxState.CONFLICT)
    if row is None:
        assert answer is not None
        return answer
    requeue(session, row, force=True, now=now)
    return done(say.SENDING_AGAIN, row.id, crm=say.crm_words(crm_name(session)))


def keep_theirs(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Drop a conflicting change: the CRM's value (already shown locally) stays."""
    del now
    row, answer = _waiting(session, actor, row_id, OutboxState.CONFLICT)
    if row is None:
        assert answer is not None
        return answer
    row.state = OutboxState.DISCARDED
    row.last_error = f"kept {crm_name(session)}'s values"
    row.reason_code = WriteReason.KEPT_THEIRS.value
    row.reason_values = None
    name = record_name(session, row)
    if name is None:
        return done(say.KEPT_THEIRS_UNNAMED, row.id, crm=say.crm_words(crm_name(session)))
    return done(say.KEPT_THEIRS, row.id, record=name, crm=say.crm_words(crm_name(session)))


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
    name = record_name(session, row)
    if name is None:
        return done(say.TRYING_AGAIN_UNNAMED, row.id, crm=say.crm_words(crm_name(session)))
    return done(say.TRYING_AGAIN, row.id, record=name, crm=say.crm_words(crm_name(session)))


def dismiss_write(session: Session, actor: User, row_id: object, *, now: datetime) -> OpResult:
    """Take a failed change off the user's Home tab (it stays failed for ``status``): only
    the user whose change it was, whose tab shows it."""
    row_id_ = parse_id(row_id)
    if row_id_ is None:
        return invalid(say.NO_CHANGE_ID)
    row = session.get(OutboxWrite, row_id_)
    if row is None:
        return not_found("change", row_id_)
    if row.actor_id != actor.id:
        return forbidden(say.NOT_YOUR_NOTICE, row.id)
    if row.state is not OutboxState.FAILED or row.dismissed_at is not None:
        return already(say.NOTHING_TO_DISMISS, row.id)
    row.dismissed_at = now
    return done(say.DISMISSED, row.id)
