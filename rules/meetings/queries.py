"""Meetings as the workspace shows them, and the "Busy" redaction for other viewers.

When anyone other than the owner looks at a user's workspace (a super admin through the name
dropdown, or a manager), the owner's meetings show as **Busy**: the time stays, the title,
attendees, contacts, location and meeting link do not. The redaction happens here, in the
domain, so no Slack surface can forget it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from rules.clock import TimeRange, UserClock
from rules.meetings.wording import BUSY_TITLE
from rules.records import RecordRef, contacts_of_activities, deals_of_activities
from storage.models import Activity, ActivityKind, MeetingOutcome, User

# Still ahead of its outcome: "Prepare" and "No activity scheduled" read these.
PENDING_OUTCOMES = (MeetingOutcome.SCHEDULED, MeetingOutcome.RESCHEDULED)


@dataclass(frozen=True)
class MeetingItem:
    """One meeting. ``is_busy`` means it was redacted for a viewer who is not its owner."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    # Start and end on the clock of the person whose workspace is shown.
    starts_local: datetime
    ends_local: datetime
    outcome: str | None
    owner_id: int | None
    meeting_link: str | None = None
    location: str | None = None
    attendees: tuple[str, ...] = ()
    contacts: tuple[RecordRef, ...] = ()
    deals: tuple[RecordRef, ...] = ()
    is_busy: bool = False

    def overlaps(self, other: MeetingItem) -> bool:
        """Whether the two meetings share any time (touching end to start does not count)."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def redact(meeting: MeetingItem) -> MeetingItem:
    """The meeting as "Busy": its times only."""
    return dataclasses.replace(
        meeting,
        title=BUSY_TITLE,
        outcome=None,
        meeting_link=None,
        location=None,
        attendees=(),
        contacts=(),
        deals=(),
        is_busy=True,
    )


def for_viewer(
    meetings: tuple[MeetingItem, ...], *, viewer_is_owner: bool
) -> tuple[MeetingItem, ...]:
    """The meetings as the viewer may see them: in full for the owner, else as Busy."""
    if viewer_is_owner:
        return meetings
    return tuple(redact(meeting) for meeting in meetings)


def on_calendar_clause() -> ColumnElement[bool]:
    """WHERE: the meeting was not canceled (a canceled meeting frees its time)."""
    return or_(Activity.outcome.is_(None), Activity.outcome != MeetingOutcome.CANCELED)


def _attendee_label(attendee: object) -> str | None:
    if isinstance(attendee, dict):
        label = attendee.get("name") or attendee.get("email")
        return str(label) if label else None
    if isinstance(attendee, str):
        return attendee
    return None


def meetings_between(
    session: Session,
    owner: User,
    *,
    clock: UserClock,
    window: TimeRange,
    include_canceled: bool = False,
) -> tuple[MeetingItem, ...]:
    """The owner's meetings that overlap ``window``, by start time, with their links loaded.

    Args:
        session: An open session.
        owner: Whose meetings.
        clock: The owner's clock (for local times).
        window: The UTC range; a meeting counts if any part of it falls inside.
        include_canceled: Keep canceled meetings (a calendar drops them).
    """
    query = select(
        Activity.id,
        Activity.subject,
        Activity.starts_at,
        Activity.ends_at,
        Activity.outcome,
        Activity.owner_id,
        Activity.meeting_link,
        Activity.location,
        Activity.attendees,
    ).where(
        Activity.kind == ActivityKind.MEETING,
        Activity.owner_id == owner.id,
        Activity.starts_at < window.end,
        Activity.ends_at > window.start,
    )
    if not include_canceled:
        query = query.where(on_calendar_clause())
    rows = session.execute(query.order_by(Activity.starts_at, Activity.id)).all()
    ids = [row.id for row in rows]
    contacts = contacts_of_activities(session, ids)
    deals = deals_of_activities(session, ids)
    items = []
    for row in rows:
        assert row.starts_at is not None and row.ends_at is not None  # filtered above
        attendees = tuple(
            label for label in map(_attendee_label, row.attendees or []) if label is not None
        )
        items.append(
            MeetingItem(
                id=row.id,
                title=row.subject or "(untitled meeting)",
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                starts_local=clock.local(row.starts_at),
                ends_local=clock.local(row.ends_at),
                outcome=row.outcome,
                owner_id=row.owner_id,
                meeting_link=row.meeting_link,
                location=row.location,
                attendees=attendees,
                contacts=contacts.get(row.id, ()),
                deals=deals.get(row.id, ()),
            )
        )
    return tuple(items)
