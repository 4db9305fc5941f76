"""Outbox rows → HubSpot: which property each salesbot field is, both ways.

A row names salesbot fields (``status``, ``due_at``, ``stage_id``...) with JSON values; a
``Field`` turns such a value into HubSpot's string and HubSpot's string back into the same
JSON form, so "what the user saw" and "what HubSpot holds now" compare like for like.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.hubspot import mapping
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    Company,
    Contact,
    Deal,
    PipelineStage,
    User,
)

Json = Any


@dataclass(frozen=True)
class Field:
    """One salesbot field and the HubSpot property it is.

    Attributes:
        prop: HubSpot's property.
        to_crm: salesbot's JSON value → HubSpot's string.
        from_crm: HubSpot's string → salesbot's JSON value.
    """

    prop: str
    to_crm: Callable[[Session, Json], str | None]
    from_crm: Callable[[Session, str | None], Json]


def _text(_s: Session, value: Json) -> str | None:
    return None if value in (None, "") else str(value)


def _text_back(_s: Session, value: str | None) -> Json:
    return value or None


def _body_back(_s: Session, value: str | None) -> Json:
    return mapping.plain_text(value)


def _html(_s: Session, value: Json) -> str | None:
    # HubSpot renders note and call bodies as HTML: what a rep typed stays text there
    # ("<b>" shows as "<b>"), and line breaks stay line breaks.
    if value in (None, ""):
        return None
    return html.escape(str(value), quote=False).replace("\r\n", "\n").replace("\n", "<br>")


def _upper(_s: Session, value: Json) -> str | None:
    return str(value).upper() if value else None


def _lower(_s: Session, value: str | None) -> Json:
    return mapping.enum_value(value)


def _instant(_s: Session, value: Json) -> str | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _instant_back(_s: Session, value: str | None) -> Json:
    text = mapping.timestamp(value)
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat()


def _day(_s: Session, value: Json) -> str | None:
    # HubSpot keeps a deal's close date as a date-time: midnight UTC of the day.
    return f"{date.fromisoformat(str(value)).isoformat()}T00:00:00.000Z" if value else None


def _day_back(_s: Session, value: str | None) -> Json:
    return mapping.day(value)


def _amount(_s: Session, value: Json) -> str | None:
    if value in (None, ""):
        return None
    return format(Decimal(str(value)).normalize(), "f")


def _amount_back(_s: Session, value: str | None) -> Json:
    if value in (None, ""):
        return None
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    except InvalidOperation:
        return value


def _owner(session: Session, value: Json) -> str | None:
    user = session.get(User, int(value)) if value else None
    return user.external_id if user is not None else None


def _owner_back(session: Session, value: str | None) -> Json:
    if not value:
        return None
    return session.scalar(select(User.id).where(User.external_id == value))


def _stage(session: Session, value: Json) -> str | None:
    stage = session.get(PipelineStage, int(value)) if value else None
    return stage.external_id if stage is not None else None


def _stage_back(session: Session, value: str | None) -> Json:
    if not value:
        return None
    # Stage ids are unique within a pipeline; deal pipelines' ids rarely repeat. Take the
    # first: a conflict check compares it with what the user saw, in the same pipeline.
    return session.scalar(
        select(PipelineStage.id).where(PipelineStage.external_id == value).limit(1)
    )


_OWNER = Field("hubspot_owner_id", _owner, _owner_back)
_TIMESTAMP = Field("hs_timestamp", _instant, _instant_back)

# record kind -> (HubSpot object type, salesbot field -> Field)
FIELDS: dict[str, tuple[str, dict[str, Field]]] = {
    "task": (
        "tasks",
        {
            "status": Field("hs_task_status", _upper, _lower),
            "due_at": Field("hs_timestamp", _instant, _instant_back),
            "subject": Field("hs_task_subject", _text, _text_back),
            "body": Field("hs_task_body", _text, _body_back),
            "priority": Field("hs_task_priority", _upper, _lower),
            "task_type": Field("hs_task_type", _upper, _lower),
            "owner_id": _OWNER,
        },
    ),
    "meeting": ("meetings", {"outcome": Field("hs_meeting_outcome", _upper, _lower)}),
    "call": (
        "calls",
        {
            # Dispositions are GUIDs in HubSpot; the sender swaps labels for them.
            "outcome": Field("hs_call_disposition", _text, _text_back),
            "call_status": Field("hs_call_status", _upper, _lower),
            "body": Field("hs_call_body", _html, _body_back),
            "subject": Field("hs_call_title", _text, _text_back),
            "occurred_at": _TIMESTAMP,
            "owner_id": _OWNER,
        },
    ),
    "note": (
        "notes",
        {
            "body": Field("hs_note_body", _html, _body_back),
            "occurred_at": _TIMESTAMP,
            "owner_id": _OWNER,
        },
    ),
    "deal": (
        "deals",
        {
            "name": Field("dealname", _text, _text_back),
            "stage_id": Field("dealstage", _stage, _stage_back),
            "close_date": Field("closedate", _day, _day_back),
            "next_step": Field("hs_next_step", _text, _text_back),
            "amount": Field("amount", _amount, _amount_back),
            "owner_id": _OWNER,
        },
    ),
}

# HUBSPOT_DEFINED association type ids (associations v4 guide, "activity to object"): a
# new activity of each kind to a contact, a company, a deal.
_LINK_TYPES: dict[str, tuple[int, int, int]] = {
    "task": (204, 192, 216),
    "call": (194, 182, 206),
    "note": (202, 190, 214),
    "meeting": (200, 188, 212),
}
_LINK_TABLES: tuple[tuple[type[Any], str, type[Any]], ...] = (
    (ActivityContact, "contact_id", Contact),
    (ActivityCompany, "company_id", Company),
    (ActivityDeal, "deal_id", Deal),
)


_LINK_OBJECT_TYPES = ("contacts", "companies", "deals")  # in ``_LINK_TABLES`` order


def linked(session: Session, links: list[tuple[str, int]]) -> list[tuple[str, str, str]]:
    """(HubSpot object type, HubSpot id, the record's name here) of a create's links."""
    found: list[tuple[str, str, str]] = []
    for crm_id, type_id in links:
        for type_ids in _LINK_TYPES.values():
            if type_id in type_ids:
                index = type_ids.index(type_id)
                object_type = _LINK_OBJECT_TYPES[index]
                target = _LINK_TABLES[index][2]
                record = session.scalar(select(target).where(target.external_id == crm_id))
                name = _name_of(record) if record is not None else crm_id
                found.append((object_type, crm_id, name))
                break
    return found


def _name_of(record: Any) -> str:
    if isinstance(record, Contact):
        return record.full_name
    return str(getattr(record, "name", "") or record.external_id)


def object_type_of(record_kind: str) -> str | None:
    found = FIELDS.get(record_kind)
    return found[0] if found else None


def new_record(
    session: Session,
    record_kind: str,
    record_id: int,
    links: Mapping[int, list[tuple[str, int]]] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, int]]] | None:
    """A create's properties (as JSON field values) and associations, from the local record.

    None when the record is gone (deleted before its create reached HubSpot).

    Args:
        links: The associations of a batch's activities, read at once (``links_of``).
    """
    if record_kind == "deal":
        deal = session.get(Deal, record_id)
        if deal is None:
            return None
        values: dict[str, Json] = {
            "name": deal.name,
            "stage_id": deal.stage_id,
            "close_date": deal.close_date.isoformat() if deal.close_date else None,
            "amount": str(deal.amount) if deal.amount is not None else None,
            "owner_id": deal.owner_id,
        }
        return {"pipeline": deal.pipeline.external_id, **values}, []
    activity = session.get(Activity, record_id)
    if activity is None:
        return None
    if links is not None:
        return _activity_values(activity), links.get(record_id, [])
    return _activity_values(activity), links_of(session, record_kind, [record_id]).get(
        record_id, []
    )


def _activity_values(activity: Activity) -> dict[str, Json]:
    """A new activity's fields (``to_properties`` keeps those its kind has in HubSpot)."""
    values: dict[str, Json] = {
        "subject": activity.subject,
        "body": activity.body,
        "owner_id": activity.owner_id,
    }
    if activity.kind is ActivityKind.TASK:
        return values | {
            "status": activity.status.value if activity.status else None,
            "due_at": activity.due_at.isoformat() if activity.due_at else None,
            "priority": activity.priority.value if activity.priority else None,
            "task_type": activity.task_type.value if activity.task_type else None,
        }
    values["occurred_at"] = activity.occurred_at.isoformat()
    if activity.kind is ActivityKind.CALL:
        values["outcome"] = activity.outcome
        values["call_status"] = activity.call_status.value if activity.call_status else None
    return values


def links_of(
    session: Session, record_kind: str, record_ids: list[int]
) -> dict[int, list[tuple[str, int]]]:
    """Activity id -> (HubSpot id, association type id) of the records each new activity is
    linked to (one query per kind of link, for a whole batch)."""
    type_ids = _LINK_TYPES.get(record_kind)
    found: dict[int, list[tuple[str, int]]] = {}
    if type_ids is None or not record_ids:
        return found
    for (table, column, target), type_id in zip(_LINK_TABLES, type_ids, strict=True):
        column_attr = getattr(table, column)
        query = (
            select(table.activity_id, target.external_id)
            .join(target, column_attr == target.id)
            .where(table.activity_id.in_(record_ids))
        )
        for activity_id, external_id in session.execute(query):
            if external_id and external_id.isdigit():
                found.setdefault(activity_id, []).append((external_id, type_id))
    return found


def to_properties(
    session: Session, record_kind: str, values: dict[str, Json]
) -> dict[str, str | None]:
    """salesbot field values → HubSpot properties (fields HubSpot has no property for are
    left out; ``pipeline`` passes through)."""
    _type, fields = FIELDS[record_kind]
    found: dict[str, str | None] = {}
    for name, value in values.items():
        if name == "pipeline":
            found["pipeline"] = value
            continue
        field = fields.get(name)
        if field is not None:
            found[field.prop] = field.to_crm(session, value)
    return found
