"""The Feed: the last year of activity on a user's contacts, grouped by contact.

- "The user's contacts" are the contacts the user owns.
- An activity appears when it is associated with one of them, happened within the last 365
  days up to now (nothing scheduled for the future), and the user may see it: its owner is one
  whose records the user's visibility covers (``rules.permissions.visible_owner_clause``), or it
  has no owner (e.g. an incoming email not yet assigned).
- Groups are ordered by their most recent activity; a page holds ``limit`` contacts, each with
  its ``per_contact`` most recent activities and the total count.
- A contact whose primary company is a target account is labelled.
- Filters: activity types, and sequence enrollment (contacts with an active enrollment, or
  without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from rules.clock import clock_for
from rules.meetings.wording import BUSY_TITLE
from rules.permissions import require_workspace_access, visible_owner_clause
from rules.records import RecordRef, aggregate_time, contact_display_name
from storage.models import (
    Activity,
    ActivityContact,
    ActivityKind,
    Company,
    Contact,
    EmailDirection,
    EnrollmentStatus,
    SequenceEnrollment,
    User,
)

FEED_DAYS = 365
SNIPPET_CHARS = 200


class SequenceFilter(StrEnum):
    ANY = "any"
    ENROLLED = "enrolled"
    NOT_ENROLLED = "not_enrolled"


@dataclass(frozen=True)
class FeedFilters:
    kinds: frozenset[ActivityKind] | None = None
    sequence: SequenceFilter = SequenceFilter.ANY


@dataclass(frozen=True)
class FeedItem:
    id: int
    kind: ActivityKind
    title: str
    at: datetime
    at_local: datetime
    direction: EmailDirection | None
    owner_id: int | None
    # The start of the body, for a one-line preview (None for redacted meetings).
    snippet: str | None


@dataclass(frozen=True)
class FeedGroup:
    contact: RecordRef
    company: RecordRef | None
    is_target_account: bool
    in_sequence: bool
    latest_at: datetime
    activity_count: int
    items: tuple[FeedItem, ...]


@dataclass(frozen=True)
class FeedPage:
    owner_id: int
    viewer_is_owner: bool
    since: datetime
    groups: tuple[FeedGroup, ...]
    total_contacts: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.groups) < self.total_contacts


def _enrolled(contact_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    return exists(
        select(SequenceEnrollment.id).where(
            SequenceEnrollment.contact_id == contact_id,
            SequenceEnrollment.status == EnrollmentStatus.ACTIVE,
        )
    )


def _snippet(body: str | None) -> str | None:
    if not body:
        return None
    flat = " ".join(body.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def feed(
    session: Session,
    owner: User,
    *,
    now: datetime,
    filters: FeedFilters | None = None,
    offset: int = 0,
    limit: int = 10,
    per_contact: int = 5,
    viewer: User | None = None,
) -> FeedPage:
    """One page of ``owner``'s feed: contacts with recent activity, most recent first.

    Four queries whatever the page size: the groups, their total, their items, their contacts.

    Args:
        session: An open session.
        owner: Whose contacts.
        now: The current instant (aware).
        filters: Activity types and sequence enrollment.
        offset: How many contact groups to skip.
        limit: Contact groups per page (at least 1).
        per_contact: Most recent activities listed per contact (at least 1).
        viewer: Who is looking (default: the owner); anyone else sees meetings as "Busy".

    Raises:
        WorkspaceAccessDenied: The viewer may not see this workspace.
    """
    if limit < 1 or offset < 0 or per_contact < 1:
        raise ValueError("limit and per_contact must be positive and offset not negative")
    viewer_is_owner = require_workspace_access(session, viewer=viewer or owner, owner=owner)
    filters = filters or FeedFilters()
    clock = clock_for(session, owner, now=now)
    since = now - timedelta(days=FEED_DAYS)

    # The window is written through COALESCE on purpose: as a bare range on occurred_at,
    # SQLite's planner starts from the time index and scans the whole organisation's year;
    # without it, the plan starts from the owner's contacts (the selective side).
    occurred = func.coalesce(Activity.occurred_at, Activity.created_at)
    conditions: list[ColumnElement[bool]] = [
        Contact.owner_id == owner.id,
        occurred >= since,
        occurred <= now,
        or_(Activity.owner_id.is_(None), visible_owner_clause(owner, Activity.owner_id)),
    ]
    if filters.kinds is not None:
        conditions.append(Activity.kind.in_(sorted(filters.kinds)))
    if filters.sequence is SequenceFilter.ENROLLED:
        conditions.append(_enrolled(Contact.id))
    elif filters.sequence is SequenceFilter.NOT_ENROLLED:
        conditions.append(~_enrolled(Contact.id))
    pairs = (
        select(
            ActivityContact.contact_id.label("contact_id"),
            Activity.id.label("activity_id"),
            Activity.occurred_at.label("occurred_at"),
        )
        .join(Activity, Activity.id == ActivityContact.activity_id)
        .join(Contact, Contact.id == ActivityContact.contact_id)
        .where(and_(*conditions))
        .subquery()
    )
    grouped = select(
        pairs.c.contact_id,
        func.max(pairs.c.occurred_at).label("latest"),
        func.count().label("n"),
    ).group_by(pairs.c.contact_id)
    total = session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    groups = session.execute(
        grouped.order_by(func.max(pairs.c.occurred_at).desc(), pairs.c.contact_id)
        .offset(offset)
        .limit(limit)
    ).all()
    contact_ids = [row.contact_id for row in groups]
    if not contact_ids:
        return FeedPage(owner.id, viewer_is_owner, since, (), total, offset, limit)

    ranked = (
        select(
            pairs.c.contact_id,
            pairs.c.activity_id,
            func.row_number()
            .over(
                partition_by=pairs.c.contact_id,
                order_by=(pairs.c.occurred_at.desc(), pairs.c.activity_id.desc()),
            )
            .label("position"),
        )
        .where(pairs.c.contact_id.in_(contact_ids))
        .subquery()
    )
    item_rows = session.execute(
        select(ranked.c.contact_id, Activity)
        .join(Activity, Activity.id == ranked.c.activity_id)
        .where(ranked.c.position <= per_contact)
        .order_by(ranked.c.contact_id, ranked.c.position)
    ).all()
    items: dict[int, list[FeedItem]] = {}
    for contact_id, activity in item_rows:
        redacted = activity.kind == ActivityKind.MEETING and not viewer_is_owner
        items.setdefault(contact_id, []).append(
            FeedItem(
                id=activity.id,
                kind=ActivityKind(activity.kind),
                title=BUSY_TITLE
                if redacted
                else (activity.subject or _snippet(activity.body) or activity.kind.value),
                at=activity.occurred_at,
                at_local=clock.local(activity.occurred_at),
                direction=activity.direction,
                owner_id=activity.owner_id,
                snippet=None if redacted else _snippet(activity.body),
            )
        )

    contact_rows = session.execute(
        select(Contact, Company, _enrolled(Contact.id).label("enrolled"))
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.id.in_(contact_ids))
    ).all()
    contacts = {row[0].id: row for row in contact_rows}
    result = []
    for row in groups:
        contact, company, enrolled = contacts[row.contact_id]
        latest = aggregate_time(row.latest)
        assert latest is not None  # every group has at least one activity
        result.append(
            FeedGroup(
                contact=RecordRef(
                    contact.id,
                    contact_display_name(contact.first_name, contact.last_name, contact.email),
                ),
                company=RecordRef(company.id, company.name) if company else None,
                is_target_account=bool(company and company.is_target_account),
                in_sequence=bool(enrolled),
                latest_at=latest,
                activity_count=int(row.n),
                items=tuple(items.get(row.contact_id, [])),
            )
        )
    return FeedPage(owner.id, viewer_is_owner, since, tuple(result), total, offset, limit)
