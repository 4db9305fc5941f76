"""What a snapshot record may contain: one declarative list of fields per record type.

The importer, the exporter and the JSON Schema generator all read these lists, so the
three cannot drift apart. A field knows its JSON name, its column (when it maps to one),
how to check and convert a JSON value (a parser of ``validation.py``), and how to describe
itself in the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from storage.models import (
    ActivityKind,
    CallStatus,
    DealVisibility,
    EmailDirection,
    EnrollmentStatus,
    GoalMetric,
    PipelineObject,
    Role,
    StageState,
    TaskPriority,
    TaskStatus,
    TaskType,
)
from storage.snapshot.validation import (
    AMOUNT_LIMIT,
    INT_MAX,
    Parser,
    RecordSpec,
    boolean,
    calendar_date,
    choice,
    clock_time,
    decimal,
    email_address,
    integer,
    list_of,
    nullable,
    record_of,
    reference,
    string,
    text,
    time_zone,
    timestamp,
)

FORMAT = "salesbot-snapshot"
VERSION = 1


@dataclass(frozen=True)
class Field:
    """One member of a snapshot record.

    Attributes:
        name: JSON member name.
        parse: checks a JSON value and returns the Python value (refs stay external ids).
        schema: its JSON Schema (without ``description``).
        description: one line for the schema and the docs.
        column: the table column it fills; ``None`` when the importer handles it itself.
        required: the member must be present.
        default: value used when the member is absent (``None`` for nullable ones).
        ref: for references, the section whose external ids it names.
        omit_empty: the exporter leaves out an empty list (an absent list means empty).
    """

    name: str
    parse: Parser
    schema: dict[str, Any]
    description: str
    column: str | None = None
    required: bool = False
    default: Any = None
    ref: str | None = None
    omit_empty: bool = False


# Schema fragments -----------------------------------------------------------------------

S_STRING: dict[str, Any] = {"type": "string"}
S_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64}
S_REF: dict[str, Any] = {"type": "string", "minLength": 1}
S_DATETIME: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    # An offset is required: "Z" or "+01:00".
    "pattern": r"(Z|z|[+-]\d{2}:\d{2})$",
}
S_DATE: dict[str, Any] = {"type": "string", "format": "date"}
S_BOOL: dict[str, Any] = {"type": "boolean"}


def s_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def s_string(max_length: int, min_length: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
    return schema


def s_enum(enum_cls: type[StrEnum]) -> dict[str, Any]:
    return {"enum": [m.value for m in enum_cls]}


def s_int(minimum: int = -INT_MAX, maximum: int = INT_MAX) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def s_array(items: dict[str, Any], *, unique: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if unique:
        schema["uniqueItems"] = True
    return schema


def s_object(fields: list[Field]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in fields if f.required],
        "properties": {f.name: {"description": f.description, **f.schema} for f in fields},
    }


S_TIMEZONE: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "An IANA time zone name such as Europe/Berlin.",
}


# Field constructors ---------------------------------------------------------------------


def f_id(description: str) -> Field:
    return Field(
        "id", string(64, min_length=1), S_ID, description, column="external_id", required=True
    )


def f_str(
    name: str, max_length: int, description: str, *, required: bool = False, default: Any = None
) -> Field:
    parse = string(max_length, min_length=1 if required else 0)
    schema = s_string(max_length, 1 if required else 0)
    if not required and default is None:
        parse, schema = nullable(parse), s_nullable(schema)
    return Field(name, parse, schema, description, name, required, default)


def f_text(name: str, description: str) -> Field:
    return Field(name, nullable(text), s_nullable(S_STRING), description, name)


def f_time(name: str, description: str, *, required: bool = False) -> Field:
    if required:
        return Field(name, timestamp, S_DATETIME, description, name, required=True)
    return Field(name, nullable(timestamp), s_nullable(S_DATETIME), description, name)


def f_bool(name: str, description: str, *, default: bool | None) -> Field:
    if default is None:
        return Field(name, nullable(boolean), s_nullable(S_BOOL), description, name)
    return Field(name, boolean, S_BOOL, description, name, default=default)


def f_enum(
    name: str,
    enum_cls: type[StrEnum],
    description: str,
    *,
    required: bool = False,
    default: StrEnum | None = None,
) -> Field:
    parse, schema = choice(enum_cls), s_enum(enum_cls)
    if not required and default is None:
        parse, schema = nullable(parse), s_nullable(schema)
    return Field(name, parse, schema, description, name, required, default)


def f_ref(
    name: str, section: str, description: str, *, required: bool = False, default: Any = None
) -> Field:
    parse: Parser = reference
    schema = S_REF
    if not required and default is None:
        parse, schema = nullable(parse), s_nullable(schema)
    return Field(name, parse, schema, description, f"{name}_id", required, default, ref=section)


def f_links(name: str, section: str, description: str) -> Field:
    """A list of external ids this record is associated with (replaced on import)."""
    return Field(
        name,
        list_of(reference, unique=True),
        s_array(S_REF, unique=True),
        description,
        None,
        default=[],
        ref=section,
        omit_empty=True,
    )


HISTORY_ENTRY = [
    Field(
        "owner",
        nullable(reference),
        s_nullable(S_REF),
        "The user who became the owner; null when the record was unassigned.",
        required=True,
        ref="users",
    ),
    Field("assigned_at", timestamp, S_DATETIME, "When.", required=True),
]


def f_history() -> Field:
    return Field(
        "owner_history",
        list_of(record_of(HISTORY_ENTRY)),
        s_array(s_object(HISTORY_ENTRY)),
        "Earlier owners, oldest first. Import adds entries it does not have and never removes any.",
        None,
        default=[],
        ref="users",
        omit_empty=True,
    )


def owner_fields(*, with_assigned_at: bool = True) -> list[Field]:
    fields = [f_ref("owner", "users", "The owning user's id (HubSpot owner id).")]
    if with_assigned_at:
        fields.append(
            f_time(
                "owner_assigned_at",
                "When the current owner got the record. Read for a new record or a new "
                "owner only; default: the latest history entry for that owner, else the "
                "time of the import.",
            )
        )
    return fields


# Record types ---------------------------------------------------------------------------

S_CLOCK: dict[str, Any] = {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$"}
S_WEEKDAYS: dict[str, Any] = s_array(s_int(1, 7), unique=True)
WORKDAYS = [1, 2, 3, 4, 5]

TEAM_DIGEST = [
    Field(
        "time", clock_time, S_CLOCK, "Local time of the reps' digests, HH:MM.", default=time(8, 0)
    ),
    Field(
        "weekdays",
        list_of(integer(1, 7), unique=True),
        S_WEEKDAYS,
        "ISO weekdays (1 = Monday) on which digests are sent.",
        default=WORKDAYS,
    ),
    Field(
        "manager_time",
        clock_time,
        S_CLOCK,
        "Local time of the manager digest, HH:MM.",
        default=time(8, 30),
    ),
]

TEAMS = [
    f_id("The team's id."),
    f_str("name", 200, "Team name.", required=True),
    Field("timezone", time_zone, S_TIMEZONE, "The team's time zone.", "timezone", default="UTC"),
    f_str("digest_channel_id", 32, "Slack channel for the manager digest; null: none."),
    Field(
        "digest",
        nullable(record_of(TEAM_DIGEST)),
        s_nullable(s_object(TEAM_DIGEST)),
        "The team's digest schedule (reps' default, manager digest); null or left out: "
        "08:00 on weekdays, manager digest 08:30.",
        omit_empty=True,
    ),
]

USERS = [
    f_id("HubSpot owner id."),
    f_str("name", 200, "Full name.", required=True),
    Field(
        "email",
        email_address,
        {"type": "string", "format": "email", "maxLength": 320},
        "Work email; unique regardless of case. Its domain is derived from it.",
        "email",
        required=True,
    ),
    f_str("slack_user_id", 32, "Slack user id (U...), unique; null until linked."),
    Field("timezone", time_zone, S_TIMEZONE, "The user's time zone.", "timezone", default="UTC"),
    f_enum("role", Role, "rep, manager or super_admin.", default=Role.REP),
    f_ref("team", "teams", "The user's team id."),
    f_enum(
        "deal_visibility",
        DealVisibility,
        "Which deals the user may view: everything, team or owned.",
        default=DealVisibility.OWNED,
    ),
    f_bool("is_active", "False for deactivated users.", default=True),
]

GOALS = [
    f_ref("user", "users", "Whose goal.", required=True),
    f_enum("metric", GoalMetric, "What is counted.", required=True),
    Field(
        "weekly_target",
        integer(0),
        s_int(0),
        "Target per week.",
        "weekly_target",
        required=True,
    ),
]

PREFERENCES = [
    f_ref("user", "users", "Whose preferences (one entry per user).", required=True),
    Field(
        "digest_time",
        clock_time,
        S_CLOCK,
        "Local time of the daily digest, HH:MM.",
        "digest_time",
        default=time(8, 0),
    ),
    Field(
        "digest_weekdays",
        list_of(integer(1, 7), unique=True),
        S_WEEKDAYS,
        "ISO weekdays (1 = Monday) on which the digest is sent.",
        "digest_weekdays",
        default=[1, 2, 3, 4, 5],
    ),
    Field(
        "timezone_override",
        nullable(time_zone),
        s_nullable(S_TIMEZONE),
        "Overrides the user's time zone when set.",
        "timezone_override",
    ),
    f_bool("follow_up_prompt", "Ask for a follow-up task on completion.", default=True),
    Field(
        "empty_digest",
        string(16),
        {"enum": ["all_clear", "skip"]},
        "all_clear: a one-line digest when there is nothing to do; skip: none.",
        "empty_digest",
        default="all_clear",
    ),
    Field(
        "muted_action_types",
        list_of(string(64), unique=True),
        s_array(s_string(64), unique=True),
        "Guided action types the user muted.",
        "muted_action_types",
        default=[],
    ),
    f_time("updated_at", "When the preferences last changed."),
]

WORKSPACE = [
    f_bool("hipaa_sensitive_data", "HIPAA-protected data on: no AI content.", default=False),
    f_bool("customer_analysis", "AI customer analysis on (Deal Insights).", default=True),
    Field(
        "late_lifecycle_stages",
        list_of(string(64), unique=True),
        s_array(s_string(64), unique=True),
        "Lifecycle stages that count as already a customer.",
        "late_lifecycle_stages",
        default=["customer", "evangelist"],
    ),
]

STAGE = [
    Field("id", string(64, min_length=1), S_ID, "Stage id, unique in its pipeline.", required=True),
    Field("label", string(200, min_length=1), s_string(200, 1), "Label.", required=True),
    Field(
        "state",
        choice(StageState),
        s_enum(StageState),
        "open, won (closed won / qualified) or lost (closed lost / disqualified).",
        default=StageState.OPEN,
    ),
    Field(
        "probability",
        nullable(decimal(Decimal(0), Decimal(1), places=3)),
        s_nullable({"type": "number", "minimum": 0, "maximum": 1}),
        "Win probability 0..1.",
    ),
]

PIPELINES = [
    Field(
        "id",
        string(64, min_length=1),
        S_ID,
        "Pipeline id, unique per object type.",
        "external_id",
        required=True,
    ),
    f_enum("object_type", PipelineObject, "deal or lead.", required=True),
    f_str("label", 200, "Label.", required=True),
    Field(
        "stages",
        list_of(record_of(STAGE)),
        {**s_array(s_object(STAGE)), "minItems": 1},
        "Stages in display order (the first one is the pipeline's first stage).",
        required=True,
    ),
]

COMPANIES = [
    f_id("Company id."),
    f_str("name", 300, "Name.", required=True),
    f_str("domain", 255, "Web domain."),
    f_bool("is_target_account", "Marked as a target account.", default=False),
    *owner_fields(),
    f_time("created_at", "Creation time.", required=True),
    f_history(),
]

CONTACTS = [
    f_id("Contact id."),
    f_str("first_name", 200, "First name.", default=""),
    f_str("last_name", 200, "Last name.", default=""),
    Field(
        "email",
        nullable(email_address),
        s_nullable({"type": "string", "format": "email", "maxLength": 320}),
        "Email; its domain is derived from it.",
        "email",
    ),
    f_str("lifecycle_stage", 64, "HubSpot lifecycle stage (subscriber ... customer, other)."),
    *owner_fields(),
    f_ref("company", "companies", "Primary company id."),
    f_time("created_at", "Creation time.", required=True),
    f_history(),
]

SEQUENCES = [
    f_id("Sequence id."),
    f_str("name", 300, "Name.", required=True),
    f_ref("owner", "users", "Owning user."),
]

ENROLLMENTS = [
    f_id("Enrollment id."),
    f_ref("sequence", "sequences", "Sequence id.", required=True),
    f_ref("contact", "contacts", "Enrolled contact.", required=True),
    f_ref("enrolled_by", "users", "User who enrolled the contact."),
    f_time("enrolled_at", "When.", required=True),
    f_enum(
        "status",
        EnrollmentStatus,
        "active, finished or unenrolled.",
        default=EnrollmentStatus.ACTIVE,
    ),
    Field(
        "current_step", integer(1), s_int(1), "Current step (1 = first).", "current_step", default=1
    ),
]

LEADS = [
    f_id("Lead id."),
    f_str("name", 300, "Name.", required=True),
    f_ref("contact", "contacts", "Primary contact."),
    f_ref("company", "companies", "Company."),
    *owner_fields(),
    f_ref("pipeline", "pipelines", "Lead pipeline id.", default="lead-pipeline"),
    f_ref("stage", "stages", "Stage id within the pipeline.", required=True),
    f_time("stage_changed_at", "When the lead entered its stage."),
    f_time("created_at", "Creation time.", required=True),
    f_time("disqualified_at", "When it was disqualified."),
    f_str("disqualification_reason", 200, "Why."),
    f_history(),
]

DEAL_CONTACT = [
    Field("contact", reference, S_REF, "Contact id.", required=True, ref="contacts"),
    Field("associated_at", nullable(timestamp), s_nullable(S_DATETIME), "When it was associated."),
]

DEAL_SCORE = [
    Field("recorded_at", timestamp, S_DATETIME, "When the score was read.", required=True),
    Field("score", integer(0, 100), s_int(0, 100), "Deal score 0..100.", required=True),
]

DEALS = [
    f_id("Deal id."),
    f_str("name", 300, "Name.", required=True),
    *owner_fields(),
    f_ref("pipeline", "pipelines", "Deal pipeline id.", default="default"),
    f_ref("stage", "stages", "Stage id within the pipeline.", required=True),
    f_time("stage_changed_at", "When the deal entered its stage."),
    Field(
        "amount",
        # A deal's worth is never negative (refunds and credit notes are not deals); a
        # negative amount would silently shrink every pipeline total.
        nullable(decimal(Decimal(0), AMOUNT_LIMIT - 1, places=2)),
        s_nullable({"type": "number", "minimum": 0}),
        "Amount in the deal's currency; not negative.",
        "amount",
    ),
    Field(
        "currency",
        string(3, min_length=3),
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        "ISO 4217 currency code.",
        "currency",
        default="USD",
    ),
    Field(
        "close_date",
        nullable(calendar_date),
        s_nullable(S_DATE),
        "Expected or actual close date.",
        "close_date",
    ),
    f_time("created_at", "Creation time.", required=True),
    f_time("closed_at", "When it was closed."),
    f_text("next_step", "The next step as written by the rep."),
    f_time("next_step_updated_at", "When the next step last changed."),
    f_ref("company", "companies", "Primary company."),
    Field(
        "contacts",
        list_of(record_of(DEAL_CONTACT)),
        s_array(s_object(DEAL_CONTACT)),
        "Associated contacts (replaced on import).",
        default=[],
        ref="contacts",
        omit_empty=True,
    ),
    Field(
        "scores",
        list_of(record_of(DEAL_SCORE)),
        s_array(s_object(DEAL_SCORE)),
        "Deal score readings. Import adds new readings and corrects changed ones; it removes none.",
        default=[],
        omit_empty=True,
    ),
    f_history(),
]

ATTENDEE = [
    Field("name", nullable(string(200)), s_nullable(s_string(200)), "Name."),
    Field("email", nullable(string(320)), s_nullable(s_string(320)), "Email."),
]

ACTIVITIES = [
    f_id("Activity id (engagement id)."),
    f_enum("kind", ActivityKind, "task, meeting, call, email or note.", required=True),
    *owner_fields(with_assigned_at=False),
    f_time("created_at", "Creation time.", required=True),
    f_time("updated_at", "Last change."),
    f_time(
        "occurred_at",
        "The time that orders it in feeds. Default: a task's due time, a meeting's or "
        "call's start, else created_at.",
    ),
    f_str("subject", 500, "Subject or title."),
    f_text("body", "Body text (email, note, task notes)."),
    f_time("due_at", "Task: due time."),
    f_enum("status", TaskStatus, "Task: status."),
    f_enum("priority", TaskPriority, "Task: priority."),
    f_enum("task_type", TaskType, "Task: type."),
    f_time("completed_at", "Task: completion time."),
    f_ref("completed_by", "users", "Task: who completed it."),
    f_ref("sequence_enrollment", "sequence_enrollments", "Task: the sequence step's enrollment."),
    f_ref("follow_up_of", "activities", "Task: the meeting or call it follows up."),
    f_time("starts_at", "Meeting or call: start."),
    f_time("ends_at", "Meeting or call: end."),
    f_str("outcome", 64, "Meeting: scheduled, completed, ...; call: the disposition label."),
    f_str("meeting_link", 1000, "Meeting: video link."),
    f_str("location", 300, "Meeting: location."),
    Field(
        "attendees",
        nullable(list_of(record_of(ATTENDEE))),
        s_nullable(s_array(s_object(ATTENDEE))),
        "Meeting: attendees.",
        "attendees",
    ),
    f_enum("call_status", CallStatus, "Call: status."),
    f_bool(
        "via_calling_feature", "Call: made with the calling feature (else logged).", default=None
    ),
    Field(
        "duration_seconds",
        nullable(integer(0)),
        s_nullable(s_int(0)),
        "Call: duration.",
        "duration_seconds",
    ),
    f_enum("direction", EmailDirection, "Email: outgoing, incoming or forwarded."),
    f_str("from_email", 320, "Email: sender."),
    Field(
        "to_emails",
        nullable(list_of(string(320))),
        s_nullable(s_array(s_string(320))),
        "Email: recipients.",
        "to_emails",
    ),
    Field(
        "cc_emails",
        nullable(list_of(string(320))),
        s_nullable(s_array(s_string(320))),
        "Email: copied recipients.",
        "cc_emails",
    ),
    f_str("primary_recipient", 320, "Email: the primary recipient."),
    f_bool("tracked", "Email: opens and clicks are tracked.", default=None),
    f_time("opened_at", "Email: first open."),
    f_time("clicked_at", "Email: first click."),
    f_time("replied_at", "Email: when the recipient replied."),
    f_str("thread_id", 128, "Email: thread id."),
    f_ref("in_reply_to", "activities", "Email: the email it answers."),
    f_links("contacts", "contacts", "Associated contact ids."),
    f_links("companies", "companies", "Associated company ids."),
    f_links("deals", "deals", "Associated deal ids."),
    f_links("leads", "leads", "Associated lead ids."),
    f_history(),
]

# Sections in the order a file must list them: every reference points backwards, except
# activities that name other activities (follow_up_of, in_reply_to), resolved at the end.
SECTIONS: Mapping[str, list[Field]] = {
    "teams": TEAMS,
    "users": USERS,
    "goals": GOALS,
    "user_preferences": PREFERENCES,
    "pipelines": PIPELINES,
    "companies": COMPANIES,
    "contacts": CONTACTS,
    "sequences": SEQUENCES,
    "sequence_enrollments": ENROLLMENTS,
    "leads": LEADS,
    "deals": DEALS,
    "activities": ACTIVITIES,
}

TOP_LEVEL_SCALARS = ("format", "version", "exported_at")
OBJECT_SECTIONS = {"workspace_settings": WORKSPACE}
ORDER = ("format", "version", "exported_at", "workspace_settings", *SECTIONS)


SPECS: dict[str, RecordSpec] = {
    name: RecordSpec(name, fields) for name, fields in {**SECTIONS, **OBJECT_SECTIONS}.items()
}
