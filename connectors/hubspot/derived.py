"""Facts HubSpot's API does not give as properties, rebuilt in the store after a write.

- Replies: HubSpot does not link a reply to the email it answers. An incoming email answers
  the latest outgoing email of its thread sent before it (``in_reply_to``); that outgoing
  email's ``replied_at`` is its first answer's time.
- Opens: HubSpot counts opens of tracked emails but keeps the time only per contact
  (``hs_sales_email_last_opened``). An opened email first gets its send time as a lower
  bound; the latest opened email to a contact then gets the contact's last-open time.
- Meeting attendees: a meeting's associated contacts, then its owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Activity,
    ActivityContact,
    ActivityKind,
    Contact,
    EmailDirection,
    User,
)

_CHUNK = 500
T = TypeVar("T")


def _chunks(values: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def derive_replies(session: Session, thread_ids: Iterable[str]) -> None:
    """Set ``in_reply_to`` and ``replied_at`` within these threads."""
    threads = sorted(set(thread_ids))
    rows: list[
        tuple[int, str | None, EmailDirection | None, datetime, int | None, datetime | None]
    ] = []
    for chunk in _chunks(list(threads)):
        # The kind is checked here, not in SQL: with it there, SQLite reads every email of
        # the store through the kind index instead of these threads' through theirs.
        rows += [
            row[1:]
            for row in session.execute(
                select(
                    Activity.kind,
                    Activity.id,
                    Activity.thread_id,
                    Activity.direction,
                    Activity.occurred_at,
                    Activity.in_reply_to_id,
                    Activity.replied_at,
                )
                .where(Activity.thread_id.in_(chunk))
                .order_by(Activity.thread_id, Activity.occurred_at, Activity.id)
            )
            if row[0] == ActivityKind.EMAIL
        ]
    by_thread: dict[str | None, list[tuple[int, EmailDirection | None, datetime]]] = defaultdict(
        list
    )
    current: dict[int, tuple[int | None, datetime | None]] = {}
    for row_id, thread, direction, at, reply_to, replied in rows:
        by_thread[thread].append((row_id, direction, at))
        current[row_id] = (reply_to, replied)
    wanted: dict[int, tuple[int | None, datetime | None]] = {i: (None, None) for i in current}
    for emails in by_thread.values():
        last_sent: int | None = None
        for row_id, direction, at in emails:
            if direction == EmailDirection.OUTGOING:
                last_sent = row_id
            elif direction == EmailDirection.INCOMING and last_sent is not None:
                wanted[row_id] = (last_sent, wanted[row_id][1])
                answered = wanted[last_sent]
                if answered[1] is None:
                    wanted[last_sent] = (answered[0], at)
    _update_many(
        session,
        [
            {"_id": row_id, "in_reply_to_id": values[0], "replied_at": values[1]}
            for row_id, values in wanted.items()
            if current[row_id] != values
        ],
    )


def derive_opens(session: Session, contact_ids: Iterable[int]) -> None:
    """Give the latest opened email to each contact the contact's last-open time.

    Read from the contacts' side (their links, then those activities by id) and filtered in
    Python: joined in one query, SQLite started from the activities' kind index and read
    every email of the store for each chunk of contacts (a full sync grew quadratic).
    """
    ids = sorted(set(contact_ids))
    for chunk in _chunks(list(ids)):
        last_open: dict[int, datetime] = {
            contact_id: at
            for contact_id, at in session.execute(
                select(Contact.id, Contact.email_last_opened_at).where(Contact.id.in_(chunk))
            )
            if at is not None
        }
        if not last_open:
            continue
        linked: dict[int, list[int]] = defaultdict(list)
        for contact_id, activity_id in session.execute(
            select(ActivityContact.contact_id, ActivityContact.activity_id).where(
                ActivityContact.contact_id.in_(list(last_open))
            )
        ):
            linked[activity_id].append(contact_id)
        sent: dict[int, datetime] = {}
        for activities in _chunks(sorted(linked)):
            # The kind and the open are checked here, not in SQL: with either in the query,
            # SQLite may start from its index (every email, every open of the store). No
            # index holds the direction, so the ids' primary key is the way in.
            for email_id, kind, opened, at in session.execute(
                select(Activity.id, Activity.kind, Activity.opened_at, Activity.occurred_at).where(
                    Activity.id.in_(activities), Activity.direction == EmailDirection.OUTGOING
                )
            ):
                if kind == ActivityKind.EMAIL and opened is not None and at is not None:
                    sent[email_id] = at
        # Per contact, its latest email (by send time, then id) sent before its last open.
        latest: dict[int, tuple[datetime, int]] = {}
        for email_id, at in sent.items():
            for contact_id in linked[email_id]:
                if at <= last_open[contact_id]:
                    latest[contact_id] = max(latest.get(contact_id, (at, email_id)), (at, email_id))
        _update_many(
            session,
            [
                {"_id": email_id, "opened_at": last_open[contact_id]}
                for contact_id, (_at, email_id) in sorted(latest.items())
            ],
        )


def derive_attendees(session: Session, meeting_ids: Iterable[int]) -> None:
    """Attendees of these meetings: their associated contacts (by id), then the owner."""
    ids = sorted(set(meeting_ids))
    for chunk in _chunks(list(ids)):
        contacts: dict[int, list[dict[str, str | None]]] = defaultdict(list)
        for meeting_id, contact in session.execute(
            select(ActivityContact.activity_id, Contact)
            .join(Contact, Contact.id == ActivityContact.contact_id)
            .where(ActivityContact.activity_id.in_(chunk))
            .order_by(ActivityContact.activity_id, Contact.id)
        ).all():
            contacts[meeting_id].append({"name": contact.full_name, "email": contact.email})
        owners = dict(
            session.execute(
                select(Activity.id, User)
                .join(User, User.id == Activity.owner_id)
                .where(Activity.id.in_(chunk))
            ).all()
        )
        rows = []
        for meeting_id in chunk:
            people = list(contacts.get(meeting_id, []))
            owner = owners.get(meeting_id)
            if owner is not None:
                people.append({"name": owner.name, "email": owner.email})
            rows.append({"_id": meeting_id, "attendees": people or None})
        _update_many(session, rows)


def _update_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany per set of columns (rows keyed ``_id`` plus the columns to set)."""
    if not rows:
        return
    table: Table = Activity.__table__  # type: ignore[assignment]
    columns = [c for c in rows[0] if c != "_id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(f"_v_{c}") for c in columns})
    )
    params = [{"_id": r["_id"], **{f"_v_{c}": r[c] for c in columns}} for r in rows]
    session.connection().execute(statement, params)
