"""The HubSpot object types the sync reads: which properties, which associations, in what order."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import ActivityKind

# Every object's search-able modified date, except contacts' (the search guide's trap).
MODIFIED = "hs_lastmodifieddate"
CONTACT_MODIFIED = "lastmodifieddate"


@dataclass(frozen=True)
class ObjectType:
    """One HubSpot object type and how it lands in the store.

    Attributes:
        name: HubSpot's object type name (URL path, webhook ``objectTypeId`` aside).
        section: the snapshot section its records are written through.
        properties: the properties read.
        associations: object types whose associations are read (v4 batch).
        kind: for activities, the ``ActivityKind``.
        history: properties read with their history (when the stage or the next step
            changed, the deal score series); such reads come 50 records a page instead of
            100, so only what the rules and Deal Insights read is asked for. Owner changes
            are recorded as the sync sees them (the rules read the assignment time).
    """

    name: str
    section: str
    properties: tuple[str, ...]
    associations: tuple[str, ...] = ()
    kind: ActivityKind | None = None
    history: tuple[str, ...] = ()

    @property
    def modified_property(self) -> str:
        return CONTACT_MODIFIED if self.name == "contacts" else MODIFIED


_OWNER = ("hubspot_owner_id", "hubspot_owner_assigneddate")
_COMMON = ("hs_object_id", "hs_createdate", "createdate", MODIFIED, "hubspot_owner_id")
_ACTIVITY_LINKS = ("contacts", "companies", "deals", "leads")

COMPANIES = ObjectType(
    "companies",
    "companies",
    ("name", "domain", "hs_is_target_account", "createdate", MODIFIED, *_OWNER),
)
CONTACTS = ObjectType(
    "contacts",
    "contacts",
    (
        "firstname",
        "lastname",
        "email",
        "lifecyclestage",
        "associatedcompanyid",
        "createdate",
        CONTACT_MODIFIED,
        "hs_merged_object_ids",
        "hs_sales_email_last_opened",
        # The latest sequence enrollment (connectors/hubspot/sequences.py).
        "hs_sequences_is_enrolled",
        "hs_latest_sequence_enrolled",
        "hs_latest_sequence_enrolled_date",
        "hs_latest_sequence_finished_date",
        "hs_latest_sequence_unenrolled_date",
        "hs_latest_sequence_ended_date",
        *_OWNER,
    ),
)
LEADS = ObjectType(
    "leads",
    "leads",
    (
        "hs_lead_name",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_v2_date_entered_current_stage",
        "hs_lead_disqualification_reason",
        "hs_createdate",
        MODIFIED,
        *_OWNER,
    ),
    ("contacts", "companies"),
    history=("hs_pipeline_stage",),
)
DEALS = ObjectType(
    "deals",
    "deals",
    (
        "dealname",
        "pipeline",
        "dealstage",
        "hs_v2_date_entered_current_stage",
        "amount",
        "deal_currency_code",
        "closedate",
        "hs_closed_date",
        "hs_next_step",
        "hs_next_step_updated_at",
        "hs_deal_score",
        "createdate",
        MODIFIED,
        "hs_merged_object_ids",
        *_OWNER,
    ),
    ("contacts", "companies"),
    history=("dealstage", "hs_next_step", "hs_deal_score"),
)
TASKS = ObjectType(
    "tasks",
    "activities",
    (
        *_COMMON,
        "hs_timestamp",
        "hs_task_subject",
        "hs_task_body",
        "hs_task_status",
        "hs_task_priority",
        "hs_task_type",
        "hs_task_completion_date",
        "hs_task_sequence_step_enrollment_id",
    ),
    _ACTIVITY_LINKS,
    ActivityKind.TASK,
)
MEETINGS = ObjectType(
    "meetings",
    "activities",
    (
        *_COMMON,
        "hs_timestamp",
        "hs_meeting_title",
        "hs_meeting_body",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        "hs_meeting_external_url",
        "hs_meeting_location",
    ),
    _ACTIVITY_LINKS,
    ActivityKind.MEETING,
)
CALLS = ObjectType(
    "calls",
    "activities",
    (
        *_COMMON,
        "hs_timestamp",
        "hs_call_title",
        "hs_call_body",
        "hs_call_status",
        "hs_call_disposition",
        "hs_call_duration",
        "hs_call_direction",
        "hs_call_source",
    ),
    _ACTIVITY_LINKS,
    ActivityKind.CALL,
)
EMAILS = ObjectType(
    "emails",
    "activities",
    (
        *_COMMON,
        "hs_timestamp",
        "hs_email_subject",
        "hs_email_text",
        "hs_email_direction",
        "hs_email_status",
        "hs_email_from_email",
        "hs_email_to_email",
        "hs_email_cc_email",
        "hs_email_thread_id",
        "hs_email_tracker_key",
        "hs_email_open_count",
        "hs_email_click_count",
    ),
    _ACTIVITY_LINKS,
    ActivityKind.EMAIL,
)
NOTES = ObjectType(
    "notes",
    "activities",
    (*_COMMON, "hs_timestamp", "hs_note_body"),
    _ACTIVITY_LINKS,
    ActivityKind.NOTE,
)

# In the order a sync writes them: every reference points at a type written before.
OBJECT_TYPES: tuple[ObjectType, ...] = (
    COMPANIES,
    CONTACTS,
    LEADS,
    DEALS,
    TASKS,
    MEETINGS,
    CALLS,
    EMAILS,
    NOTES,
)
BY_NAME = {t.name: t for t in OBJECT_TYPES}
# The pseudo-types status reports on besides the objects.
OWNERS = "owners"
PIPELINES = "pipelines"
ALL_NAMES = (OWNERS, PIPELINES, *BY_NAME)
