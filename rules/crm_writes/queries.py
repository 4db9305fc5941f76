"""Where a change stands in the connected CRM: the facts its user is told.

The outbox (``storage.outbox``) holds each write until the CRM has it. These readers turn a
row into the facts its user reads ("Sam Ortiz changed the due date in HubSpot at 9:14; your
change was not saved"; ``handlers.render.crm_writes`` words them in the user's language),
and list the changes that still wait for the user.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.crm_writes.wording import (
    CHANGED_SINCE_SEEN,
    FIELD_NAMES,
    UNKNOWN_FIELD,
    crm_words,
    reason_phrase,
)
from rules.translatable import Phrase
from storage.changes import last_change
from storage.models import (
    Activity,
    Deal,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
    WriteReason,
)
from storage.outbox import crm_name, states

_AUTOMATIONS = {"INTEGRATION", "API", "WORKFLOWS", "AUTOMATION_PLATFORM", "IMPORT"}


def record_name(session: Session, row: OutboxWrite) -> str | None:
    """The changed record's name or subject as the CRM has it, or None when it has none."""
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
    """How the changed record is named mid-sentence (English): "'Call Acme'", "the task"."""
    name = record_name(session, row)
    return f"'{name}'" if name else f"the {row.record_kind}"


class NoticeKind(StrEnum):
    CONFLICT = "conflict"  # buttons: apply mine / keep theirs
    FAILED = "failed"  # button: retry (unless the record is gone)
    SAVED = "saved"  # a write the user was told about reached the CRM after all


@dataclass(frozen=True)
class Clash:
    """One field someone changed in the CRM since the user saw it."""

    field: str  # a ``FIELD_NAMES`` msgid ("the close date")
    who: str | None  # the person's name; None: ``by_automation`` or someone unknown
    by_automation: bool = False
    at: datetime | None = None  # on the user's wall clock


@dataclass(frozen=True)
class Notice:
    """What to tell a write's user, and which answers to offer. Words are the handlers':
    this holds the facts (``handlers.render.crm_writes`` writes the sentence)."""

    kind: NoticeKind
    row_id: int
    crm: str
    record_kind: str
    record: str | None = None  # the record's name as the CRM has it
    clashes: tuple[Clash, ...] = ()
    reason: Phrase | None = None  # why it failed (or, saved: what it could not do)
    can_retry: bool = False
    user_id: int | None = None  # whose change it was: they read it
    now: datetime | None = None  # on the user's wall clock, for "yesterday at 9:14"


def _clash(session: Session, name: str, clash: dict[str, Any], zone: ZoneInfo | None) -> Clash:
    who = None
    owner = clash.get("by_owner")
    if owner:
        found = session.scalar(select(User.name).where(User.external_id == str(owner)))
        who = str(found) if found else None
    at = None
    if clash.get("at") and zone is not None:
        at = datetime.fromisoformat(str(clash["at"])).astimezone(zone)
    return Clash(
        field=FIELD_NAMES.get(name, UNKNOWN_FIELD),
        who=who,
        by_automation=who is None and clash.get("source") in _AUTOMATIONS,
        at=at,
    )


def write_notice(session: Session, row_id: int, *, now: datetime) -> Notice | None:
    """What to tell a row's user: a conflict, a failure, or a late success."""
    row = session.get(OutboxWrite, row_id)
    if row is None:
        return None
    actor = session.get(User, row.actor_id) if row.actor_id is not None else None
    zone = user_zone(session, actor) if actor is not None else None
    base = Notice(
        NoticeKind.SAVED,
        row.id,
        crm=crm_name(session),
        record_kind=row.record_kind,
        record=record_name(session, row),
        user_id=row.actor_id,
        now=now.astimezone(zone) if zone is not None else now,
    )
    if row.state is OutboxState.CONFLICT and row.conflict:
        clashes = tuple(_clash(session, n, c, zone) for n, c in row.conflict.items())
        return replace(base, kind=NoticeKind.CONFLICT, clashes=clashes)
    if row.state is OutboxState.FAILED:
        return replace(
            base, kind=NoticeKind.FAILED, reason=row_reason(session, row), can_retry=can_retry(row)
        )
    if row.state is OutboxState.SENT:
        if row.reason_code == WriteReason.LINKS_GONE:
            return replace(base, reason=row_reason(session, row))
        return base
    return None


def row_reason(session: Session, row: OutboxWrite) -> Phrase:
    """Why the row failed (or what it could not do), as words for its reader."""
    return reason_phrase(row.reason_code, row.reason_values, row.last_error, crm=crm_name(session))


_GONE = (WriteReason.DELETED.value, WriteReason.NEVER_REACHED.value)


def can_retry(row: OutboxWrite) -> bool:
    """Whether sending the failed row again could work (not when the record is gone)."""
    if row.reason_code is not None:
        return row.reason_code not in _GONE
    text = row.last_error or ""  # a row from before reason codes
    return "deleted" not in text and "never reached" not in text


def unsaved_notices(
    session: Session, user_id: int, *, now: datetime, limit: int = 3
) -> list[Notice]:
    """The user's changes the CRM has not taken (failed, or waiting for their decision),
    newest first: the Home tab shows them until they are retried, applied, dropped or
    dismissed."""
    row_ids = session.scalars(
        select(OutboxWrite.id)
        .where(
            OutboxWrite.actor_id == user_id,
            OutboxWrite.state.in_((OutboxState.FAILED, OutboxState.CONFLICT)),
            OutboxWrite.dismissed_at.is_(None),
        )
        .order_by(OutboxWrite.id.desc())
        .limit(limit)
    )
    notices = [write_notice(session, row_id, now=now) for row_id in row_ids]
    return [n for n in notices if n is not None]


class Progress(StrEnum):
    SAVED = "saved"
    SAVING = "saving"
    NOT_SAVED = "not_saved"


@dataclass(frozen=True)
class WriteProgress:
    """Where the rows one write queued stand in the CRM (``reason`` when not saved, or
    what a saved write could not do); ``failed``: the first row refused for good, when
    Retry could send it again."""

    state: Progress
    crm: str
    reason: Phrase | None = None
    failed: int | None = None


def write_progress(session: Session, row_ids: list[int]) -> WriteProgress | None:
    """Saved, saving, or not saved (with the first reason) for the rows one write queued;
    None when it queued nothing."""
    rows = states(session, row_ids)
    if not rows:
        return None
    crm = crm_name(session)
    stuck = [r for r in rows if r.state in (OutboxState.FAILED, OutboxState.CONFLICT)]
    if stuck:
        first = stuck[0]
        if first.state is OutboxState.CONFLICT:
            return WriteProgress(
                Progress.NOT_SAVED, crm, Phrase(CHANGED_SINCE_SEEN, {"crm": crm_words(crm)})
            )
        retry = first.id if can_retry(first) else None
        return WriteProgress(Progress.NOT_SAVED, crm, row_reason(session, first), retry)
    if all(r.state in (OutboxState.SENT, OutboxState.DISCARDED) for r in rows):
        caveat = next((r for r in rows if r.reason_code == WriteReason.LINKS_GONE), None)
        reason = row_reason(session, caveat) if caveat is not None else None
        return WriteProgress(Progress.SAVED, crm, reason)
    return WriteProgress(Progress.SAVING, crm)
