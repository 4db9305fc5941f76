"""The properties API (``/crm/v3/properties/{type}``): what a portal says its fields are.

Every property a record of the type holds is listed, typed from its name the way HubSpot types
its default properties (dates, numbers, booleans, enumerations with their options), so a
connector can check a portal before it syncs and read enumeration options (task statuses,
lifecycle stages, deal stages) instead of hard-coding them. Custom property groups and
properties are created as HubSpot documents it (``POST .../groups``, ``POST
/crm/v3/properties/{type}``: 201 with the definition, 409 when the name is taken).

Writes through the objects API are checked the way HubSpot checks them: a property the type
does not have answers 400 ``PROPERTY_DOESNT_EXIST``, an enumeration value outside its
options 400 ``INVALID_OPTION`` (both inside a "Property values were not valid" error).

Unique values (``hasUniqueValue``): HubSpot's properties API says the flag is set when a
property is created and "can't be changed" after; its changelog ("Unique Properties support
for newly created Contact properties") names the types that take it (contacts, companies,
deals, tickets, custom objects) and at most 10 unique properties per type. A write that
would give a second record a unique property's value is refused; HubSpot does not document
the refusal's shape, so the stand-in answers what integrations report: 400
``VALIDATION_ERROR`` naming the property, "already has that value", without the id of the
record that holds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from demo.hubspot_portal.portal import Portal, PortalError
from demo.hubspot_portal.schema import iso

# HubSpot's own properties (without the ``hs_`` prefix) a connector may write; ``hs_``
# names and every name a record of the type holds count as HubSpot's own too.
HUBSPOT_DEFINED = frozenset(
    {
        "hubspot_owner_id",
        "hubspot_owner_assigneddate",
        "dealname",
        "dealstage",
        "pipeline",
        "closedate",
        "amount",
        "deal_currency_code",
        "firstname",
        "lastname",
        "email",
        "lifecyclestage",
        "associatedcompanyid",
        "name",
        "domain",
        "createdate",
        "lastmodifieddate",
    }
)
_VALUE_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_FIELD_TYPES = {"textarea", "text", "date", "file", "number", "select", "radio", "checkbox"}
_FIELD_TYPES |= {"booleancheckbox", "calculation_equation"}

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
# The object types whose custom properties may require unique values, and how many may.
UNIQUE_VALUE_TYPES = frozenset({"contacts", "companies", "deals", "tickets"})
MAX_UNIQUE_PROPERTIES = 10


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
    """The property definitions of one object type (HubSpot's, then custom), sorted by name."""
    kind = portal.type_of(type_name)
    with portal.lock:
        custom = dict(portal.custom_properties.get(kind.name, {}))
        names = set(kind.always_returned) | set(kind.default_properties)
        for record in portal.records[kind.name].values():
            names.update(record.properties)
    names -= set(custom)
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
    definitions += custom.values()
    return sorted(definitions, key=lambda d: str(d["name"]))


def create_group(portal: Portal, type_name: str, body: Any) -> dict[str, Any]:
    """``POST /crm/v3/properties/{type}/groups`` (``PropertyGroupCreate``)."""
    kind = portal.type_of(type_name)
    body = body or {}
    name, label = body.get("name"), body.get("label")
    if not isinstance(name, str) or not name or not isinstance(label, str) or not label:
        raise PortalError(400, "VALIDATION_ERROR", "A property group needs `name` and `label`")
    with portal.lock:
        groups = portal.property_groups.setdefault(kind.name, {})
        if name in groups or name == f"{kind.singular}information":
            raise PortalError(409, "CONFLICT", f"A property group named '{name}' already exists")
        group = {
            "name": name,
            "label": label,
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        groups[name] = group
        return group


def create_property(portal: Portal, type_name: str, body: Any) -> dict[str, Any]:
    """``POST /crm/v3/properties/{type}`` (``PropertyCreate``): the new definition."""
    kind = portal.type_of(type_name)
    body = body or {}
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise PortalError(400, "VALIDATION_ERROR", f"Missing required fields: {missing}")
    if body["type"] not in _VALUE_TYPES or body["fieldType"] not in _FIELD_TYPES:
        raise PortalError(400, "VALIDATION_ERROR", "Unknown type or fieldType")
    name, group = str(body["name"]), str(body["groupName"])
    with portal.lock:
        groups = set(portal.property_groups.get(kind.name, {})) | {f"{kind.singular}information"}
        if group not in groups:
            raise PortalError(400, "VALIDATION_ERROR", f"Property group {group} does not exist")
        custom = portal.custom_properties.setdefault(kind.name, {})
        if name in custom or _hubspot_defined(portal, kind.name, name):
            raise PortalError(409, "CONFLICT", f"Property named '{name}' already exists.")
        unique = bool(body.get("hasUniqueValue", False))
        if unique and kind.name not in UNIQUE_VALUE_TYPES:
            raise PortalError(
                400,
                "VALIDATION_ERROR",
                f"Unique value properties are not supported for {kind.name}",
            )
        if unique and sum(1 for d in custom.values() if d["hasUniqueValue"]) >= (
            MAX_UNIQUE_PROPERTIES
        ):
            raise PortalError(
                400,
                "VALIDATION_ERROR",
                f"{kind.name} already have {MAX_UNIQUE_PROPERTIES} unique value properties",
            )
        at = iso(portal.now())
        definition = {
            "name": name,
            "label": str(body["label"]),
            "type": body["type"],
            "fieldType": body["fieldType"],
            "groupName": group,
            "description": str(body.get("description") or ""),
            "options": list(body.get("options") or []),
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": unique,
            "hidden": bool(body.get("hidden", False)),
            "formField": bool(body.get("formField", False)),
            "displayOrder": int(body.get("displayOrder", -1)),
            "createdAt": at,
            "updatedAt": at,
            "archived": False,
            "modificationMetadata": {
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": False,
            },
        }
        custom[name] = definition
        return definition


def _hubspot_defined(portal: Portal, type_name: str, name: str) -> bool:
    if name.startswith("hs_") or name in HUBSPOT_DEFINED:
        return True
    return any(name in r.properties for r in portal.records[type_name].values())


def check_values(portal: Portal, type_name: str, properties: Mapping[str, Any]) -> None:
    """Refuse a write as HubSpot does: properties the type lacks, values outside options."""
    problems: list[dict[str, Any]] = []
    with portal.lock:
        custom = portal.custom_properties.get(type_name, {})
        stages = {s.id for p in portal.pipelines.get(type_name, []) for s in p.stages}
        for name, value in properties.items():
            if name not in custom and not _hubspot_defined(portal, type_name, name):
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
                continue
            allowed = set(ENUMERATIONS.get(name, ()))
            if name == "dealstage" and stages:
                allowed = stages
            if value not in (None, "") and allowed and str(value) not in allowed:
                problems.append(
                    {
                        "isValid": False,
                        "message": f"{value} was not one of the allowed options",
                        "error": "INVALID_OPTION",
                        "name": name,
                    }
                )
    if problems:
        raise PortalError(
            400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}"
        )


def unique_properties(portal: Portal, type_name: str) -> set[str]:
    """The custom properties of ``type_name`` whose values must be unique."""
    with portal.lock:
        custom = portal.custom_properties.get(type_name, {})
        return {name for name, d in custom.items() if d.get("hasUniqueValue")}


def check_unique(
    portal: Portal,
    type_name: str,
    writes: list[tuple[str | None, Mapping[str, Any]]],
) -> None:
    """Refuse writes that would give two records one unique property's value.

    Args:
        writes: (the record written, None for a create; its properties), all of one request:
            a value repeated within the request is refused too.
    """
    names = unique_properties(portal, type_name)
    wanted = [
        (record_id, name, str(value))
        for record_id, properties in writes
        for name, value in properties.items()
        if name in names and value not in (None, "")
    ]
    if not wanted:
        return
    with portal.lock:
        held = {
            (name, r.properties.get(name)): r.id
            for r in portal.records[type_name].values()
            if r.live
            for name in names
            if r.properties.get(name)
        }
    problems: list[dict[str, Any]] = []
    for record_id, name, value in wanted:
        holder = held.get((name, value))
        if holder is not None and holder != record_id:
            problems.append(
                {
                    "isValid": False,
                    "message": f"{value} already has that value",
                    "error": "INVALID_PROPERTY_VALUE",
                    "name": name,
                }
            )
        held[(name, value)] = record_id or "new"
    if problems:
        raise PortalError(
            400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}"
        )
