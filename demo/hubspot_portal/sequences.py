"""A store's sequence enrollments as HubSpot shows them: properties of each contact.

HubSpot keeps on a contact only its latest enrollment (real portals' property list:
"Currently in Sequence" ``hs_sequences_is_enrolled``, "Last sequence enrolled"
``hs_latest_sequence_enrolled`` (a number: the sequence's id), "Last sequence enrolled date",
the counts of sequences enrolled and actively enrolled, and when the latest one finished or
was unenrolled). Tasks made by a step name their enrollment
(``hs_task_sequence_step_enrollment_id``, in ``from_store``). Past enrollments are not served:
HubSpot's API does not show them either.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from demo.hubspot_portal.schema import iso
from storage.models import SequenceEnrollment

# HubSpot's sequence ids are numbers: the stand-in's are this plus the store's row id.
SEQUENCE_ID_BASE = 70_000


def hubspot_sequence_id(row_id: int) -> str:
    return str(SEQUENCE_ID_BASE + row_id)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def contact_sequence_properties(session: Session) -> dict[int, dict[str, Any]]:
    """contacts.id -> the contact's sequence properties (contacts never enrolled: none)."""
    table = SequenceEnrollment.__table__
    assert isinstance(table, Table)
    by_contact: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(select(table).order_by(table.c.id)).mappings():
        by_contact[row["contact_id"]].append(row)
    found: dict[int, dict[str, Any]] = {}
    for contact_id, rows in by_contact.items():
        latest = max(rows, key=lambda r: (_utc(r["enrolled_at"]), r["id"]))
        active = [r for r in rows if str(r["status"]) == "active"]
        found[contact_id] = {
            "hs_sequences_is_enrolled": "true" if active else "false",
            "hs_sequences_enrolled_count": str(len(rows)),
            "hs_sequences_actively_enrolled_count": str(len(active)),
            "hs_latest_sequence_enrolled": hubspot_sequence_id(latest["sequence_id"]),
            "hs_latest_sequence_enrolled_date": iso(_utc(latest["enrolled_at"])),
        }
    return found
