"""HubSpot's object types, association type ids and value formats, as its docs describe them.

Everything the stand-in answers about "which object is this" comes from here: the names the
API accepts in a path (``contacts``, ``contact``, ``0-1``), the property that carries a record's
modified date (contacts differ), the scopes a private app needs, and the HUBSPOT_DEFINED
association type ids of the v4 associations API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type of the v3 objects API."""

    name: str  # the plural path name: "contacts"
    singular: str  # webhook objectName / legacy subscriptionType prefix: "contact"
    type_id: str  # objectTypeId: "0-1"
    modified_property: str  # contacts: lastmodifieddate; everything else: hs_lastmodifieddate
    created_property: str  # contacts, companies, deals: createdate; the rest: hs_createdate
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    default_properties: tuple[str, ...]

    @property
    def always_returned(self) -> tuple[str, ...]:
        """Properties every answer carries, asked for or not."""
        return (self.created_property, self.modified_property, "hs_object_id")


def _engagement(name: str, singular: str, type_id: str) -> ObjectType:
    # Tasks, meetings, calls and notes need the contacts scopes (HubSpot's engagement guides);
    # asked for no properties, an engagement answers only its three system properties.
    return ObjectType(
        name,
        singular,
        type_id,
        "hs_lastmodifieddate",
        "hs_createdate",
        ("crm.objects.contacts.read",),
        ("crm.objects.contacts.write",),
        (),
    )


OBJECT_TYPES: tuple[ObjectType, ...] = (
    ObjectType(
        "contacts",
        "contact",
        "0-1",
        "lastmodifieddate",
        "createdate",
        ("crm.objects.contacts.read",),
        ("crm.objects.contacts.write",),
        ("firstname", "lastname", "email"),
    ),
    ObjectType(
        "companies",
        "company",
        "0-2",
        "hs_lastmodifieddate",
        "createdate",
        ("crm.objects.companies.read",),
        ("crm.objects.companies.write",),
        ("name", "domain"),
    ),
    ObjectType(
        "deals",
        "deal",
        "0-3",
        "hs_lastmodifieddate",
        "createdate",
        ("crm.objects.deals.read",),
        ("crm.objects.deals.write",),
        ("dealname", "amount", "dealstage", "pipeline", "closedate"),
    ),
    _engagement("tasks", "task", "0-27"),
    _engagement("notes", "note", "0-46"),
    _engagement("meetings", "meeting", "0-47"),
    _engagement("calls", "call", "0-48"),
    # Emails also need sales-email-read (the emails guide).
    ObjectType(
        "emails",
        "email",
        "0-49",
        "hs_lastmodifieddate",
        "hs_createdate",
        ("crm.objects.contacts.read", "sales-email-read"),
        ("crm.objects.contacts.write",),
        (),
    ),
    ObjectType(
        "leads",
        "lead",
        "0-136",
        "hs_lastmodifieddate",
        "hs_createdate",
        ("crm.objects.leads.read",),
        ("crm.objects.leads.write",),
        ("hs_lead_name", "hs_pipeline", "hs_pipeline_stage"),
    ),
    # The CRM users object: where a user's time zone lives (owners have none).
    ObjectType(
        "users",
        "user",
        "0-115",
        "hs_lastmodifieddate",
        "hs_createdate",
        ("crm.objects.users.read",),
        ("crm.objects.users.write",),
        ("hs_email", "hs_standard_time_zone"),
    ),
)

_BY_ANY_NAME: dict[str, ObjectType] = {}
for _type in OBJECT_TYPES:
    for _alias in (_type.name, _type.singular, _type.type_id):
        _BY_ANY_NAME[_alias] = _type


def schema_write_scope(kind: ObjectType) -> str:
    """The scope that lets an app create properties on ``kind``'s records.

    The properties API lists ``crm.schemas.{contacts,companies,deals,...}.write``; it names
    no schema scope of the activities' own, which HubSpot files under contacts (as it does
    their object scopes): the stand-in asks ``crm.schemas.contacts.write`` for them.
    """
    if kind.name in ("companies", "deals", "leads"):
        return f"crm.schemas.{kind.name}.write"
    return "crm.schemas.contacts.write"


def object_type(name: str) -> ObjectType | None:
    """The type a path or body names (``contacts``, ``contact`` or ``0-1``), or None."""
    return _BY_ANY_NAME.get(name.lower())


ENGAGEMENTS = ("tasks", "notes", "meetings", "calls", "emails")

# HUBSPOT_DEFINED association type ids (the associations v4 guide's tables), per direction:
# (unlabeled type id, primary type id or None).
_PAIRS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "companies"): (279, 1),
    ("companies", "contacts"): (280, 2),
    ("deals", "contacts"): (3, None),
    ("contacts", "deals"): (4, None),
    ("deals", "companies"): (341, 5),
    ("companies", "deals"): (342, 6),
}
# Engagement to record, record to engagement: (engagement -> contact, contact -> engagement,
# engagement -> company, company -> engagement, engagement -> deal, deal -> engagement).
_ENGAGEMENT_IDS = {
    "calls": (194, 193, 182, 181, 206, 205),
    "emails": (198, 197, 186, 185, 210, 209),
    "meetings": (200, 199, 188, 187, 212, 211),
    "notes": (202, 201, 190, 189, 214, 213),
    "tasks": (204, 203, 192, 191, 216, 215),
}
for _name, _ids in _ENGAGEMENT_IDS.items():
    _PAIRS[(_name, "contacts")] = (_ids[0], None)
    _PAIRS[("contacts", _name)] = (_ids[1], None)
    _PAIRS[(_name, "companies")] = (_ids[2], None)
    _PAIRS[("companies", _name)] = (_ids[3], None)
    _PAIRS[(_name, "deals")] = (_ids[4], None)
    _PAIRS[("deals", _name)] = (_ids[5], None)
# Leads: the primary contact and company of a lead are documented; the numeric ids below are
# the stand-in's own (unverified against a live portal). A connector should not hard-code them.
_PAIRS[("leads", "contacts")] = (608, 578)
_PAIRS[("contacts", "leads")] = (609, 579)
_PAIRS[("leads", "companies")] = (610, 580)
_PAIRS[("companies", "leads")] = (611, 581)
for _offset, _name in enumerate(ENGAGEMENTS):
    _PAIRS[(_name, "leads")] = (650 + 2 * _offset, None)
    _PAIRS[("leads", _name)] = (651 + 2 * _offset, None)


def association_type_ids(from_type: str, to_type: str) -> tuple[int, int | None] | None:
    """(unlabeled, primary) HUBSPOT_DEFINED type ids from one type to another, or None."""
    return _PAIRS.get((from_type, to_type))


# Call dispositions of a new portal: HubSpot's default labels and their well-known GUIDs.
DEFAULT_DISPOSITIONS: dict[str, str] = {
    "Busy": "9d9162e7-6cf3-4944-bf63-4dff82258764",
    "Connected": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "Left live message": "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",
    "Left voicemail": "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "No answer": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "Wrong number": "17b47fee-58de-441e-a44c-c6300d46f273",
}


def iso(moment: datetime) -> str:
    """HubSpot's timestamp format: UTC, milliseconds, ``Z``."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


def parse_time(value: str) -> datetime | None:
    """A property or filter value as an instant: ISO-8601 or epoch milliseconds; else None."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        # Date filters take epoch milliseconds; small numbers are not timestamps.
        number = int(text)
        if abs(number) < 10**11:
            return None
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def truncate_ms(moment: datetime) -> datetime:
    """``moment`` at HubSpot's precision (milliseconds), so stored and answered times agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
