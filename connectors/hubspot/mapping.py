"""HubSpot records → snapshot records (the importer's format), one pure function per kind.

Writing through the snapshot importer keeps one way to upsert CRM records (owner history,
associations, score readings): a synced portal and an imported snapshot of the same data
give the same rows. Values HubSpot sends that the store cannot hold are dropped from the
record (``sanitize``) and reported, never a reason to drop the whole sync.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.hubspot.api import Association, Change, CrmObject, PipelineInfo
from connectors.hubspot.objects import ObjectType
from storage.models import ActivityKind, StageState
from storage.snapshot.fields import SECTIONS, SPECS

# HubSpot's association type ids that mark the primary company of a deal and of a contact.
PRIMARY_COMPANY_TYPES = frozenset({5, 1})
# Bodies above this size are cut: the views show a few lines, the LLM a few hundred words.
MAX_BODY = 20_000

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li)\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")


@dataclass
class Problems:
    """Bad values met during a sync; each (type, id, field) is logged once."""

    seen: set[tuple[str, str, str]] = field(default_factory=set)
    new: list[str] = field(default_factory=list)

    def add(self, object_type: str, object_id: str, what: str, message: str) -> None:
        key = (object_type, object_id, what)
        if key not in self.seen:
            self.seen.add(key)
            self.new.append(f"{object_type} {object_id}: {what}: {message}")


# Values ----------------------------------------------------------------------------------


def timestamp(value: str | None) -> str | None:
    """An ISO 8601 UTC string from HubSpot's ISO strings or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        moment = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not a date-time: {text[:40]!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: str | None) -> str | None:
    moment = timestamp(value)
    return moment[:10] if moment else None


def number(value: str | None) -> float | None:
    """A JSON number (the importer reads it back as an exact decimal: two places fit)."""
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value).strip()).quantize(Decimal("0.01")))
    except InvalidOperation:
        raise ValueError(f"not a number: {str(value)[:40]!r}") from None


def flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return str(value).strip().lower() == "true"


def plain_text(value: str | None) -> str | None:
    """HTML bodies as readable text, cut to ``MAX_BODY`` characters."""
    if value is None:
        return None
    text = value
    if "<" in text:
        text = _TAG.sub("", _BREAK.sub("\n", text))
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    if len(text) > MAX_BODY:
        text = text[: MAX_BODY - 1] + "…"
    return text or None


def addresses(value: str | None) -> list[str] | None:
    if not value:
        return None
    found = [a.strip() for a in re.split(r"[;,]", value) if a.strip()]
    return found or None


def enum_value(value: str | None) -> str | None:
    return value.strip().lower() if value else None


# Pipelines --------------------------------------------------------------------------------


def stage_state(object_type: str, metadata: Mapping[str, str]) -> StageState:
    """Open, won or lost from a stage's metadata.

    Deal stages: ``isClosed`` and ``probability`` (1 won, 0 lost). Lead stages carry
    ``leadState`` (QUALIFIED won, UNQUALIFIED / DISQUALIFIED lost) where the portal has it.
    """
    lead_state = (metadata.get("leadState") or "").upper()
    if object_type == "leads" and lead_state:
        if lead_state == "QUALIFIED":
            return StageState.WON
        if lead_state in {"UNQUALIFIED", "DISQUALIFIED"}:
            return StageState.LOST
        return StageState.OPEN
    if str(metadata.get("isClosed", "false")).lower() != "true":
        return StageState.OPEN
    try:
        probability = float(metadata.get("probability", "0"))
    except ValueError:
        probability = 0.0
    return StageState.WON if probability >= 1 else StageState.LOST


def pipeline(object_type: str, info: PipelineInfo) -> dict[str, Any]:
    stages = sorted(info.stages, key=lambda s: (s.display_order, s.id))
    return {
        "id": info.id,
        "object_type": "deal" if object_type == "deals" else "lead",
        "label": info.label,
        "stages": [
            {
                "id": s.id,
                "label": s.label,
                "state": stage_state(object_type, s.metadata).value,
                "probability": _probability(s.metadata.get("probability")),
            }
            for s in stages
        ],
    }


def _probability(value: str | None) -> float | None:
    try:
        return None if value is None else min(1.0, max(0.0, round(float(value), 3)))
    except ValueError:
        return None


# Records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a mapping needs beyond the record: association lists and the portal's tables."""

    associations: Mapping[str, Sequence[Association]] = field(default_factory=dict)
    dispositions: Mapping[str, str] = field(default_factory=dict)
    stage_states: Mapping[str, StageState] = field(default_factory=dict)


def to_record(kind: ObjectType, obj: CrmObject, ctx: Context, problems: Problems) -> dict[str, Any]:
    """The snapshot record for ``obj`` (unchecked: ``sanitize`` comes next)."""
    p = obj.properties
    builders = {
        "companies": _company,
        "contacts": _contact,
        "leads": _lead,
        "deals": _deal,
    }
    build = builders.get(kind.name, _activity)
    record: dict[str, Any] = {"id": obj.id}
    fields = build(kind, p, ctx)
    fields.update(_from_history(kind, obj, ctx))
    for name, value in fields.items():
        try:
            record[name] = value() if callable(value) else value
        except ValueError as error:
            problems.add(kind.name, obj.id, name, str(error))
    return record


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _newest(changes: Sequence[Change]) -> Change | None:
    return max(changes, key=lambda c: c.at) if changes else None


def _stage_times(kind: ObjectType, obj: CrmObject, ctx: Context) -> dict[str, Any]:
    """When the record entered its stage, and so when it closed or was disqualified."""
    stage_property = {"deals": "dealstage", "leads": "hs_pipeline_stage"}.get(kind.name)
    if not stage_property or stage_property not in obj.history:
        return {}
    entered = _newest(obj.history[stage_property])
    if entered is None:
        return {}
    stage = obj.properties.get(stage_property) or ""
    state = ctx.stage_states.get(stage, StageState.OPEN)
    found = {"stage_changed_at": _iso(entered.at)}
    if kind.name == "deals" and state != StageState.OPEN:
        found["closed_at"] = _iso(entered.at)
    if kind.name == "leads" and state == StageState.LOST:
        found["disqualified_at"] = _iso(entered.at)
    return found


def _from_history(kind: ObjectType, obj: CrmObject, ctx: Context) -> dict[str, Any]:
    """Fields HubSpot keeps only as property history: owner changes, stage and next-step
    change times, deal score readings."""
    history = obj.history
    found: dict[str, Any] = {}
    if "hubspot_owner_id" in history:
        found["owner_history"] = [
            {"owner": c.value or None, "assigned_at": _iso(c.at)}
            for c in sorted(history["hubspot_owner_id"], key=lambda c: c.at)
        ]
    found.update(_stage_times(kind, obj, ctx))
    if kind.name == "deals":
        step = _newest([c for c in history.get("hs_next_step", []) if c.value])
        if step is not None:
            found["next_step_updated_at"] = _iso(step.at)
        readings = {}
        for c in history.get("hs_deal_score", []):
            if c.value not in (None, ""):
                readings[_iso(c.at)] = c.value
        if readings:
            found["scores"] = lambda: [
                {"recorded_at": at, "score": _score(v)} for at, v in sorted(readings.items())
            ]
    return found


def _owner(p: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        "owner": p.get("hubspot_owner_id") or None,
        "owner_assigned_at": lambda: timestamp(p.get("hubspot_owner_assigneddate")),
    }


def _company(_k: ObjectType, p: Mapping[str, str | None], _c: Context) -> dict[str, Any]:
    return {
        "name": p.get("name") or "",
        "domain": p.get("domain") or None,
        "is_target_account": bool(flag(p.get("hs_is_target_account"))),
        **_owner(p),
        "created_at": lambda: timestamp(p.get("createdate")),
    }


def _contact(_k: ObjectType, p: Mapping[str, str | None], _c: Context) -> dict[str, Any]:
    return {
        "first_name": p.get("firstname") or "",
        "last_name": p.get("lastname") or "",
        "email": (p.get("email") or "").strip() or None,
        "lifecycle_stage": p.get("lifecyclestage") or None,
        **_owner(p),
        "company": p.get("associatedcompanyid") or None,
        "created_at": lambda: timestamp(p.get("createdate")),
    }


def _first(ctx: Context, to_type: str, primary: frozenset[int] = frozenset()) -> str | None:
    found = ctx.associations.get(to_type) or []
    for a in found:
        if primary.intersection(a.type_ids) or "Primary" in a.labels:
            return a.to_id
    return found[0].to_id if found else None


def _ids(ctx: Context, to_type: str) -> list[str]:
    return list(dict.fromkeys(a.to_id for a in ctx.associations.get(to_type) or []))


def linked(kind: ObjectType, ctx: Context) -> dict[str, Any]:
    """The record's fields that come from its associations: what an association change
    moves (the association sweep compares them with the store's)."""
    if kind.name == "deals":
        return {
            "company": _first(ctx, "companies", PRIMARY_COMPANY_TYPES),
            "contacts": _ids(ctx, "contacts"),
        }
    if kind.name == "leads":
        return {"contact": _first(ctx, "contacts"), "company": _first(ctx, "companies")}
    return {to_type: _ids(ctx, to_type) for to_type in kind.associations}


def _lead(_k: ObjectType, p: Mapping[str, str | None], ctx: Context) -> dict[str, Any]:
    stage = p.get("hs_pipeline_stage") or ""
    lost = ctx.stage_states.get(stage) == StageState.LOST
    return {
        "name": p.get("hs_lead_name") or "",
        "contact": _first(ctx, "contacts"),
        "company": _first(ctx, "companies"),
        **_owner(p),
        "pipeline": p.get("hs_pipeline") or "lead-pipeline",
        "stage": stage,
        "created_at": lambda: timestamp(p.get("hs_createdate") or p.get("createdate")),
        "disqualification_reason": (p.get("hs_lead_disqualification_reason") or None)
        if lost
        else None,
    }


def _deal(_k: ObjectType, p: Mapping[str, str | None], ctx: Context) -> dict[str, Any]:
    stage = p.get("dealstage") or ""
    return {
        "name": p.get("dealname") or "",
        **_owner(p),
        "pipeline": p.get("pipeline") or "default",
        "stage": stage,
        "amount": lambda: number(p.get("amount")),
        "currency": (p.get("deal_currency_code") or "USD").upper(),
        "close_date": lambda: day(p.get("closedate")),
        "created_at": lambda: timestamp(p.get("createdate")),
        "next_step": p.get("hs_next_step") or None,
        "company": _first(ctx, "companies", PRIMARY_COMPANY_TYPES),
        "contacts": [{"contact": c, "associated_at": None} for c in _ids(ctx, "contacts")],
    }


def _score(value: str | None) -> int:
    try:
        return max(0, min(100, round(float(value or ""))))
    except ValueError:
        raise ValueError(f"not a score: {str(value)[:20]!r}") from None


_TASK_TYPES = {"TODO": "todo", "CALL": "call", "EMAIL": "email"}
_DIRECTIONS = {
    "EMAIL": "outgoing",
    "INCOMING_EMAIL": "incoming",
    "FORWARDED_EMAIL": "forwarded",
}
_SUBJECTS = {
    ActivityKind.TASK: "hs_task_subject",
    ActivityKind.MEETING: "hs_meeting_title",
    ActivityKind.CALL: "hs_call_title",
    ActivityKind.EMAIL: "hs_email_subject",
}
_BODIES = {
    ActivityKind.TASK: "hs_task_body",
    ActivityKind.MEETING: "hs_meeting_body",
    ActivityKind.CALL: "hs_call_body",
    ActivityKind.EMAIL: "hs_email_text",
    ActivityKind.NOTE: "hs_note_body",
}


def _activity(kind: ObjectType, p: Mapping[str, str | None], ctx: Context) -> dict[str, Any]:
    assert kind.kind is not None
    activity = kind.kind
    subject = _SUBJECTS.get(activity)
    record: dict[str, Any] = {
        "kind": activity.value,
        "owner": p.get("hubspot_owner_id") or None,
        "created_at": lambda: timestamp(
            p.get("hs_createdate") or p.get("createdate") or p.get("hs_timestamp")
        ),
        "updated_at": lambda: _changed_after_creation(p),
        "occurred_at": lambda: timestamp(p.get("hs_timestamp")),
        "subject": (p.get(subject) or None) if subject else None,
        "body": plain_text(p.get(_BODIES[activity])),
        "contacts": _ids(ctx, "contacts"),
        "companies": _ids(ctx, "companies"),
        "deals": _ids(ctx, "deals"),
        "leads": _ids(ctx, "leads"),
    }
    if activity == ActivityKind.TASK:
        task_type = (p.get("hs_task_type") or "").upper()
        record |= {
            "due_at": lambda: timestamp(p.get("hs_timestamp")),
            "status": enum_value(p.get("hs_task_status")) or "not_started",
            "priority": enum_value(p.get("hs_task_priority")),
            "task_type": "linked_in"
            if task_type.startswith("LINKED_IN")
            else _TASK_TYPES.get(task_type),
            "completed_at": lambda: timestamp(p.get("hs_task_completion_date")),
        }
    elif activity == ActivityKind.MEETING:
        record |= {
            "starts_at": lambda: timestamp(p.get("hs_meeting_start_time") or p.get("hs_timestamp")),
            "ends_at": lambda: timestamp(p.get("hs_meeting_end_time")),
            "occurred_at": lambda: timestamp(
                p.get("hs_meeting_start_time") or p.get("hs_timestamp")
            ),
            "outcome": enum_value(p.get("hs_meeting_outcome")),
            "meeting_link": p.get("hs_meeting_external_url") or None,
            "location": p.get("hs_meeting_location") or None,
        }
    elif activity == ActivityKind.CALL:
        disposition = p.get("hs_call_disposition")
        duration = p.get("hs_call_duration")
        record |= {
            "starts_at": lambda: timestamp(p.get("hs_timestamp")),
            "call_status": enum_value(p.get("hs_call_status")),
            "outcome": ctx.dispositions.get(disposition or "", disposition or None),
            "duration_seconds": lambda: int(float(duration)) // 1000 if duration else None,
            "via_calling_feature": _calling_feature(p.get("hs_call_source")),
        }
    elif activity == ActivityKind.EMAIL:
        to = addresses(p.get("hs_email_to_email"))
        opens = p.get("hs_email_open_count")
        record |= {
            "direction": _DIRECTIONS.get((p.get("hs_email_direction") or "").upper()),
            "from_email": p.get("hs_email_from_email") or None,
            "to_emails": to,
            "cc_emails": addresses(p.get("hs_email_cc_email")),
            "primary_recipient": to[0] if to else None,
            # Opens are counted for tracked emails only; the time is derived later
            # (connectors/hubspot/derived.py), the send time being its lower bound.
            "tracked": bool(p.get("hs_email_tracker_key"))
            or p.get("hs_email_open_count") not in (None, ""),
            "opened_at": lambda: timestamp(p.get("hs_timestamp")) if _count(opens) else None,
            "thread_id": p.get("hs_email_thread_id") or None,
        }
    return record


def _changed_after_creation(p: Mapping[str, str | None]) -> str | None:
    """The modified date, when the record changed after it was created (else None: a
    HubSpot record always has a modified date, salesbot's "last change" only after one)."""
    modified = timestamp(p.get("hs_lastmodifieddate"))
    created = timestamp(p.get("hs_createdate") or p.get("createdate"))
    return modified if modified and created and modified > created else None


def _count(value: str | None) -> int:
    try:
        return int(float(value)) if value not in (None, "") else 0
    except ValueError:
        raise ValueError(f"not a count: {str(value)[:20]!r}") from None


def _calling_feature(source: str | None) -> bool | None:
    """Undocumented ``hs_call_source``: the calling tool's calls say CALLING_WIDGET."""
    if not source:
        return None
    return source.upper() == "CALLING_WIDGET"


# Checking ---------------------------------------------------------------------------------

# Text a person wrote: better clipped or without its NUL characters than not stored at all.
_PROSE = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "subject",
        "body",
        "next_step",
        "location",
        "disqualification_reason",
    }
)
_MAX_LENGTHS = {
    (section, f.name): length
    for section, fields in SECTIONS.items()
    for f in fields
    if (length := f.schema.get("anyOf", [f.schema])[0].get("maxLength")) is not None
}


def sanitize(
    section: str, record: dict[str, Any], object_type: str, problems: Problems
) -> dict[str, Any] | None:
    """``record`` checked: its values as the importer holds them (``RecordSpec.parse``),
    every value the store refuses dropped; None when it cannot be stored.

    Text a person wrote (names, subjects, bodies, next steps) is kept: clipped to its
    field's length with "…", NUL characters removed. Any other value that fails its field's
    check is left out (the field's default applies) and reported; a required field that
    fails gets a stand-in where one makes sense (a name from the id, the creation time from
    the modification time).
    """
    spec = SPECS[section]
    record = {k: v for k, v in record.items() if v is not None or k in spec.by_name}
    _tidy_prose(section, record, object_type, problems)
    for _ in range(3):
        values, found = spec.parse(record)
        if not found:
            return values
        for path, message in found:
            name = path.split(".")[0].split("[")[0]
            value = record.get(name)
            problems.add(object_type, str(record.get("id")), name, f"{message} ({_clip(value)})")
            if name in spec.required or name in ("name",):
                stand_in = _stand_in(section, name, record, value)
                if stand_in is None:
                    return None
                record[name] = stand_in
            else:
                record.pop(name, None)
    return None


def _tidy_prose(section: str, record: dict[str, Any], object_type: str, problems: Problems) -> None:
    """Clip over-long text and remove NUL characters (PostgreSQL stores none), reported."""
    for name in _PROSE.intersection(record):
        value = record[name]
        if not isinstance(value, str):
            continue
        tidy = value.replace("\x00", "")
        limit = _MAX_LENGTHS.get((section, name))
        changes = ["NUL characters removed"] if len(tidy) < len(value) else []
        if limit is not None and len(tidy) > limit:
            changes.append(f"longer than {limit} characters ({len(tidy)}): clipped")
            tidy = tidy[: limit - 1] + "…"
        if changes:
            problems.add(object_type, str(record.get("id")), name, "; ".join(changes))
            record[name] = tidy or None


def _stand_in(section: str, name: str, record: dict[str, Any], value: Any) -> Any:
    if name == "name":
        if isinstance(value, str) and value:
            return value[:300]
        return f"(no name) {section[:-1]} {record.get('id')}"
    if name == "created_at":
        return record.get("updated_at") or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if name == "email" and section == "users":
        return None
    if isinstance(value, str) and len(value) > 300:
        return value[:300]
    return None


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
