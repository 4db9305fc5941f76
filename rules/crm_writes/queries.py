"""Where a change stands in the connected CRM, in words.

The outbox (``storage.outbox``) holds each write until the CRM has it. These readers turn a
row into what its user reads ("Sam Ortiz changed the due date in HubSpot at 9:14; your
change was not saved"), and list the changes that still wait for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.crm_writes.wording import FIELD_NAMES
from rules.wording import describe_moment
from storage.changes import last_change
from storage.models import Activity, Deal, OutboxState, OutboxWrite, OwnedObject, User
from storage.outbox import crm_name, states

_AUTOMATIONS = {"INTEGRATION", "API", "WORKFLOWS", "AUTOMATION_PLATFORM", "IMPORT"}


def record_name(session: Session, row: OutboxWrite) -> str | None:
    """The changed record's name or subject (also once deleted), None when it has none."""
    if row.object_type is OwnedObject.DEAL:
        deal = session.get(Deal, row.object_id)
        return deal.name if deal is not None else None
    activity = session.get(Activity, row.object_id)
    if activity is not None and activity.subject:
        return activity.subject
    tombstone = last_change(session, object_type=row.object_type, object_id=row.object_id)
    subject = (tombstone.detail or {}).get("subject") if tombstone is not None else None
    return str(subject) if subject else None


def record_label(session: Session, row: OutboxWrite) -> str:
    """How the changed record is named mid-sentence: "'Call Acme'", "the task"."""
    name = record_name(session, row)
    return f"'{name}'" if name else f"the {row.record_kind}"


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
    label = record_label(session, row)
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
