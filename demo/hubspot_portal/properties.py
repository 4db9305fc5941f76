"""The properties API (``GET /crm/v3/properties/{type}``): what a portal says its fields are.

Every property a record of the type holds is listed, typed from its name the way HubSpot types
its default properties (dates, numbers, booleans, enumerations with their options), so a
connector can check a portal before it syncs and read enumeration options (task statuses,
lifecycle stages, deal stages) instead of hard-coding them.
"""

from __future__ import annotations

from typing import Any

from demo.hubspot_portal.portal import Portal
from demo.hubspot_portal.schema import iso

# Documented options of the enumerations the rules read (HubSpot's object guides).
ENUMERATIONS: dict[str, tuple[str, ...]] = {
    "hs_task_status": ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
    "hs_task_priority": ("NONE", "LOW", "MEDIUM", "HIGH"),
    "hs_task_type": ("TODO", "CALL", "EMAIL", "LINKED_IN"),
    "hs_meeting_outcome": ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
    "hs_call_status": (
        "BUSY",
        "CALLING_CRM_USER",
        "CANCELED",
        "COMPLETED",
        "CONNECTING",
        "FAILED",
        "IN_PROGRESS",
        "NO_ANSWER",
        "QUEUED",
        "RINGING",
    ),
    "hs_call_direction": ("INBOUND", "OUTBOUND"),
    "hs_email_direction": ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
    "hs_email_status": ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
    "lifecyclestage": (
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ),
}
_NUMBERS = {"amount", "hs_call_duration", "hs_deal_score", "hs_email_open_count"}
_NUMBERS |= {"hs_email_click_count", "hs_object_id", "associatedcompanyid"}
_BOOLEANS = {"hs_is_target_account"}
_DATE_SUFFIXES = ("date", "_time", "hs_timestamp", "_at", "_opened")


def _kind(name: str) -> tuple[str, str]:
    """(type, fieldType) of a property, from its name."""
    if name in ENUMERATIONS or name in ("dealstage", "pipeline", "hs_pipeline_stage"):
        return "enumeration", "select"
    if name in _BOOLEANS:
        return "bool", "booleancheckbox"
    if name in _NUMBERS:
        return "number", "number"
    if name.endswith(_DATE_SUFFIXES):
        return "datetime", "date"
    return "string", "text"


def _options(portal: Portal, type_name: str, name: str) -> list[dict[str, Any]]:
    values = [(v, v.replace("_", " ").title()) for v in ENUMERATIONS.get(name, ())]
    if name in ("dealstage", "hs_pipeline_stage"):
        values = [(s.id, s.label) for p in portal.pipelines.get(type_name, []) for s in p.stages]
    if name in ("pipeline", "hs_pipeline"):
        values = [(p.id, p.label) for p in portal.pipelines.get(type_name, [])]
    return [
        {"value": value, "label": label, "displayOrder": order, "hidden": False}
        for order, (value, label) in enumerate(values)
    ]


def property_definitions(portal: Portal, type_name: str) -> list[dict[str, Any]]:
    """The property definitions of one object type, sorted by name."""
    kind = portal.type_of(type_name)
    with portal.lock:
        names = set(kind.always_returned) | set(kind.default_properties)
        for record in portal.records[kind.name].values():
            names.update(record.properties)
    at = iso(portal.created_at)
    definitions = []
    for name in sorted(names):
        value_type, field_type = _kind(name)
        definitions.append(
            {
                "name": name,
                "label": name.removeprefix("hs_").replace("_", " ").capitalize(),
                "type": value_type,
                "fieldType": field_type,
                "groupName": f"{kind.singular}information",
                "description": "",
                "options": _options(portal, kind.name, name),
                "calculated": False,
                "externalOptions": False,
                "hasUniqueValue": name == "hs_object_id",
                "hidden": False,
                "formField": False,
                "displayOrder": -1,
                "createdAt": at,
                "updatedAt": at,
                "archived": False,
                "modificationMetadata": {
                    "archivable": not name.startswith("hs_"),
                    "readOnlyDefinition": name.startswith("hs_"),
                    "readOnlyValue": name in kind.always_returned,
                },
            }
        )
    return definitions
