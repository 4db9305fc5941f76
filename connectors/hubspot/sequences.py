"""Sequences from HubSpot: which tasks a sequence made, and which contacts are in one now.

Without the Sequences API (its own scope and a paid seat, one request per contact), HubSpot
shows two things about sequences on records the sync reads anyway:

- a task made by a sequence step carries ``hs_task_sequence_step_enrollment_id`` (seen in
  real portals, not documented);
- a contact carries its latest enrollment: ``hs_latest_sequence_enrolled`` (the sequence's
  id), ``hs_latest_sequence_enrolled_date``, ``hs_sequences_is_enrolled`` ("currently in
  sequence") and when the latest one ended (``hs_latest_sequence_finished_date``,
  ``hs_latest_sequence_unenrolled_date``, ``hs_latest_sequence_ended_date``).

Past enrollments are not readable. The store gets (docs/hubspot.md, "Sequences"):

- one ``sequences`` row per sequence id a contact names, called "HubSpot sequence <id>"
  (the contact property holds the id only);
- per contact, its latest enrollment (external id ``hubspot-latest:<contact id>``), whose
  status the Feed's "in a sequence" filter reads;
- per enrollment id a task names, an enrollment of that id for the task's first contact:
  the contact's latest sequence, and its status while that lasts. Rule 4 ("a sequence task
  is assigned to you, open") reads the task's link to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from connectors.hubspot.api import CrmObject
from connectors.hubspot.mapping import Problems, flag, timestamp
from storage.models import Activity, Contact, EnrollmentStatus, SequenceEnrollment
from storage.models import Sequence as SequenceRow

TASK_PROPERTY = "hs_task_sequence_step_enrollment_id"
CONTACT_PROPERTIES = (
    "hs_sequences_is_enrolled",
    "hs_latest_sequence_enrolled",
    "hs_latest_sequence_enrolled_date",
    "hs_latest_sequence_finished_date",
    "hs_latest_sequence_unenrolled_date",
    "hs_latest_sequence_ended_date",
)
LATEST_PREFIX = "hubspot-latest:"
# The sequence of a task's enrollment when its contact names none.
UNKNOWN_SEQUENCE = "hubspot-unknown-sequence"


@dataclass(frozen=True)
class LatestEnrollment:
    """A contact's latest enrollment as its properties tell it."""

    sequence: str
    enrolled_at: datetime
    status: EnrollmentStatus


def _moment(value: str | None) -> datetime | None:
    found = timestamp(value)
    return datetime.fromisoformat(found) if found else None


def _sequence_id(value: str | None) -> str | None:
    """HubSpot's number property as an id: ``"1234"`` (also from ``"1234.0"``)."""
    text = (value or "").strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text or None


def latest_enrollment(p: Mapping[str, str | None]) -> LatestEnrollment | None:
    """The contact's latest enrollment; None when it was never in a sequence.

    Raises:
        ValueError: a date that is not one.
    """
    sequence = _sequence_id(p.get("hs_latest_sequence_enrolled"))
    enrolled = _moment(p.get("hs_latest_sequence_enrolled_date"))
    if sequence is None or enrolled is None:
        return None
    unenrolled = _moment(p.get("hs_latest_sequence_unenrolled_date"))
    ended = [
        t
        for t in (
            _moment(p.get("hs_latest_sequence_finished_date")),
            _moment(p.get("hs_latest_sequence_ended_date")),
            unenrolled,
        )
        if t is not None and t >= enrolled
    ]
    in_sequence = flag(p.get("hs_sequences_is_enrolled"))
    if in_sequence or (in_sequence is None and not ended):
        status = EnrollmentStatus.ACTIVE
    elif unenrolled is not None and unenrolled >= enrolled and unenrolled == max(ended):
        status = EnrollmentStatus.UNENROLLED
    else:
        status = EnrollmentStatus.FINISHED
    return LatestEnrollment(sequence, enrolled, status)


def _sequence_row(session: Session, external_id: str) -> int:
    found = session.scalar(select(SequenceRow.id).where(SequenceRow.external_id == external_id))
    if found is not None:
        return int(found)
    name = (
        "HubSpot sequence (unknown)"
        if external_id == UNKNOWN_SEQUENCE
        else f"HubSpot sequence {external_id}"
    )
    row = SequenceRow(external_id=external_id, name=name[:300])
    session.add(row)
    session.flush()
    return row.id


def _enrollment(session: Session, external_id: str) -> SequenceEnrollment | None:
    return session.scalar(
        select(SequenceEnrollment).where(SequenceEnrollment.external_id == external_id)
    )


def record_latest_enrollments(
    session: Session,
    contacts: Sequence[CrmObject],
    ids: Mapping[str, int],
    problems: Problems,
) -> None:
    """Each written contact's latest enrollment, and the end of the ones that are over.

    One query finds the group's enrollments: a contact never in a sequence (most) costs
    nothing more.
    """
    held = _enrollments_of(session, [ids[c.id] for c in contacts if c.id in ids])
    for contact in contacts:
        row_id = ids.get(contact.id)
        if row_id is None:
            continue
        try:
            latest = latest_enrollment(contact.properties)
        except ValueError as error:
            problems.add("contacts", contact.id, "hs_latest_sequence_enrolled_date", str(error))
            continue
        rows = held.get(row_id, [])
        if latest is None and not rows:
            continue
        own = f"{LATEST_PREFIX}{contact.id}"
        current = None
        for row in rows:
            if row.external_id == own:
                current = row
            elif row.external_id.startswith(LATEST_PREFIX):
                # A merged contact's latest enrollment: the survivor's own is the one.
                session.delete(row)
            elif row.status is EnrollmentStatus.ACTIVE and (
                latest is None or latest.status is not EnrollmentStatus.ACTIVE
            ):
                # Not in a sequence now: no enrollment of the contact is still running.
                row.status = latest.status if latest else EnrollmentStatus.FINISHED
        _write_latest(session, own, row_id, latest, current)
    session.flush()


def _enrollments_of(
    session: Session, contact_ids: Sequence[int]
) -> dict[int, list[SequenceEnrollment]]:
    found: dict[int, list[SequenceEnrollment]] = {}
    for start in range(0, len(contact_ids), 500):
        chunk = contact_ids[start : start + 500]
        for row in session.scalars(
            select(SequenceEnrollment).where(SequenceEnrollment.contact_id.in_(chunk))
        ):
            found.setdefault(row.contact_id, []).append(row)
    return found


def _write_latest(
    session: Session,
    external_id: str,
    contact_id: int,
    latest: LatestEnrollment | None,
    row: SequenceEnrollment | None,
) -> None:
    if latest is None:
        if row is not None:
            session.delete(row)
        return
    values: dict[str, Any] = {
        "sequence_id": _sequence_row(session, latest.sequence),
        "contact_id": contact_id,
        "enrolled_at": latest.enrolled_at,
        "status": latest.status,
    }
    if row is None:
        session.add(SequenceEnrollment(external_id=external_id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def link_sequence_tasks(
    session: Session,
    tasks: Sequence[CrmObject],
    ids: Mapping[str, int],
    records: Iterable[Mapping[str, Any]],
) -> None:
    """Link each written task to the enrollment its sequence step belongs to (or to none)."""
    first_contact = {
        str(r["id"]): (r.get("contacts") or [None])[0] for r in records if r.get("contacts")
    }
    unlinked: list[int] = []
    steps: list[tuple[int, str, str, CrmObject]] = []
    for task in tasks:
        row_id = ids.get(task.id)
        if row_id is None:
            continue
        enrollment_id = (task.properties.get(TASK_PROPERTY) or "").strip()
        contact = first_contact.get(task.id)
        if not enrollment_id or contact is None:
            # Without its contact (deleted in HubSpot, which unenrolls it) no enrollment.
            unlinked.append(row_id)
            continue
        steps.append((row_id, enrollment_id[:64], contact, task))
    # The known enrollments in one read, the links in one executemany: a group of 1,000
    # tasks took a query and an update per task.
    known = _enrollment_ids(session, {external_id for _, external_id, _, _ in steps})
    links: list[dict[str, Any]] = []
    for row_id, external_id, contact, task in steps:
        enrollment = known.get(external_id)
        if enrollment is None:
            enrollment = _task_enrollment(session, external_id, contact, task)
            if enrollment is not None:
                known[external_id] = enrollment
        links.append({"_id": row_id, "_enrollment": enrollment})
    if links:
        table: Table = Activity.__table__  # type: ignore[assignment]
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(sequence_enrollment_id=bindparam("_enrollment")),
            links,
        )
    if unlinked:
        session.execute(
            update(Activity)
            .where(Activity.id.in_(unlinked), Activity.sequence_enrollment_id.is_not(None))
            .values(sequence_enrollment_id=None)
        )


def _enrollment_ids(session: Session, external_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(external_ids)
    for start in range(0, len(wanted), 500):
        found.update(
            session.execute(
                select(SequenceEnrollment.external_id, SequenceEnrollment.id).where(
                    SequenceEnrollment.external_id.in_(wanted[start : start + 500])
                )
            ).all()
        )
    return found


def _task_enrollment(
    session: Session, external_id: str, contact: str, task: CrmObject
) -> int | None:
    """The enrollment ``external_id`` (made from the contact's latest one when new)."""
    found = _enrollment(session, external_id)
    if found is not None:
        return found.id
    contact_id = session.scalar(select(Contact.id).where(Contact.external_id == contact))
    if contact_id is None:
        return None
    latest = _enrollment(session, f"{LATEST_PREFIX}{contact}")
    try:
        created = _moment(task.properties.get("hs_createdate"))
    except ValueError:
        created = None
    row = SequenceEnrollment(
        external_id=external_id,
        contact_id=contact_id,
        sequence_id=latest.sequence_id if latest else _sequence_row(session, UNKNOWN_SEQUENCE),
        enrolled_at=latest.enrolled_at if latest else (created or datetime.now(UTC)),
        # A task of a contact who shows no enrollment: a past one.
        status=latest.status if latest else EnrollmentStatus.FINISHED,
    )
    session.add(row)
    session.flush()
    return row.id
