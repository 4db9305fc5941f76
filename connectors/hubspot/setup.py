"""salesbot's own properties in a HubSpot portal: created once (``salesbot hubspot setup``),
checked when the write-back starts and in ``salesbot hubspot status``.

Two custom properties, in a property group "salesbot", on every object type salesbot writes
(the types of ``outbound.FIELDS``, so a new write kind gets them too):
- ``salesbot_id``: the marker that makes a create recognisable (exactly once); a unique
  property (``hasUniqueValue``) on the types HubSpot allows it for, so a create is found by
  its marker exactly and at once, and HubSpot itself refuses to make it twice;
- ``salesbot_acted_by``: the name of the Slack user whose click made the change, written
  with the change (HubSpot names the private app as the author of what its token writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot import outbound
from connectors.hubspot.api import HubSpotError
from connectors.hubspot.write_api import ACTOR_PROPERTY, MARKER_PROPERTY, Rejected, WritingClient

GROUP_NAME = "salesbot"
GROUP_LABEL = "salesbot"

PROPERTIES: tuple[Mapping[str, Any], ...] = (
    {
        "name": MARKER_PROPERTY,
        "label": "salesbot id",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP_NAME,
        "description": "Set by salesbot on the records it creates, so that a create is never "
        "made twice. Do not edit.",
        "formField": False,
        "hasUniqueValue": True,
    },
    {
        "name": ACTOR_PROPERTY,
        "label": "Changed in Slack by",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP_NAME,
        "description": "The salesbot user whose click in Slack made the last change salesbot "
        "wrote to this record (its history lists each one).",
        "formField": False,
        "hasUniqueValue": False,
    },
)
PROPERTY_NAMES = tuple(str(p["name"]) for p in PROPERTIES)
# The types whose properties may require unique values: HubSpot's changelog ("Unique
# Properties support for newly created Contact properties") names companies, deals,
# tickets, custom objects and contacts; activities (tasks, calls, notes, meetings) are not
# among them. Elsewhere ``salesbot_id`` is a plain property (creates are then found by search).
UNIQUE_VALUE_TYPES = frozenset({"contacts", "companies", "deals", "tickets"})


def written_types() -> list[str]:
    """The object types salesbot writes (and so needs its properties on)."""
    return sorted({object_type for object_type, _fields in outbound.FIELDS.values()})


def schema_scope(object_type: str) -> str:
    """The private app scope that lets salesbot create properties on ``object_type``.

    HubSpot's properties API takes ``crm.schemas.<object>.write``; tasks, meetings, calls and
    notes have no schema scope of their own and go by the contacts' one (as their object
    scopes do).
    """
    if object_type in ("companies", "deals", "leads"):
        return f"crm.schemas.{object_type}.write"
    return "crm.schemas.contacts.write"


class SetupRefused(HubSpotError):
    """HubSpot refused to create a property: the message names the scope to add."""


@dataclass
class SetupReport:
    """What ``ensure_properties`` did, as (object type, name) pairs; ``not_unique``: the
    types where ``salesbot_id`` could have unique values and has not (with why)."""

    created: list[tuple[str, str]] = field(default_factory=list)
    present: list[tuple[str, str]] = field(default_factory=list)
    not_unique: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SetupCheck:
    """Which of salesbot's properties the portal lacks (``error``: could not ask)."""

    missing: Mapping[str, Sequence[str]]  # property name -> object types without it
    checked_types: Sequence[str]
    error: str | None = None
    # The types where ``salesbot_id`` is a unique property.
    unique_types: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        return self.error is None and not any(self.missing.values())

    @property
    def actor_types(self) -> frozenset[str]:
        """The object types whose records can carry ``salesbot_acted_by``."""
        if self.error is not None:
            return frozenset()
        return frozenset(self.checked_types) - set(self.missing.get(ACTOR_PROPERTY, ()))

    def describe(self) -> str:
        """One line for the log and ``status``."""
        if self.error is not None:
            return f"salesbot's HubSpot properties not checked: {self.error}"
        if self.complete:
            unique = ", ".join(sorted(self.unique_types)) or "no type"
            return (
                f"salesbot's HubSpot properties: {', '.join(PROPERTY_NAMES)} present on "
                f"{', '.join(self.checked_types)} ({MARKER_PROPERTY} unique on {unique})"
            )
        gaps = "; ".join(
            f"{name} missing on {', '.join(types)}" for name, types in self.missing.items() if types
        )
        consequence = []
        if self.missing.get(MARKER_PROPERTY):
            consequence.append("new records fail to reach HubSpot")
        if self.missing.get(ACTOR_PROPERTY):
            consequence.append("changes there do not name who acted")
        return (
            f"salesbot's HubSpot properties: {gaps} ({' and '.join(consequence)}): "
            "run `salesbot hubspot setup`"
        )


def check_properties(api: WritingClient) -> SetupCheck:
    """Ask the portal which of salesbot's properties exist (one request per type and name)."""
    types = written_types()
    missing: dict[str, list[str]] = {name: [] for name in PROPERTY_NAMES}
    unique: set[str] = set()
    try:
        for object_type in types:
            for name in PROPERTY_NAMES:
                definition = api.property_definition(object_type, name)
                if definition is None:
                    missing[name].append(object_type)
                elif name == MARKER_PROPERTY and definition.get("hasUniqueValue"):
                    unique.add(object_type)
    except HubSpotError as error:
        return SetupCheck({}, types, error=str(error))
    return SetupCheck(missing, types, unique_types=frozenset(unique))


def ensure_properties(api: WritingClient) -> SetupReport:
    """Create the group and the properties where missing; present ones are left as they are.

    ``salesbot_id`` is asked for with unique values on ``UNIQUE_VALUE_TYPES``; refused there
    (the portal's 10 unique properties of the type are used up), it is made plain. HubSpot
    cannot make an existing property unique ("Once set, this can't be changed"): a plain one
    from an earlier setup stays, and is reported.

    Raises:
        SetupRefused: a scope is missing (the message names it).
    """
    report = SetupReport()
    # Read first: a type whose properties all exist needs no write, and so no schema write
    # scope (an admin may take it away once setup has run).
    check = check_properties(api)
    for object_type in written_types():
        if _all_present(check, object_type):
            report.present += [(object_type, name) for name in PROPERTY_NAMES]
            if object_type in UNIQUE_VALUE_TYPES and object_type not in check.unique_types:
                report.not_unique.append(
                    (object_type, "made without unique values by an earlier setup")
                )
            continue
        try:
            api.create_property_group(object_type, name=GROUP_NAME, label=GROUP_LABEL)
            for definition in PROPERTIES:
                _ensure(api, object_type, definition, report)
        except Rejected as refusal:
            if refusal.status != 403:
                raise
            raise SetupRefused(
                f"HubSpot refused to create salesbot's properties on {object_type}: the "
                f"private app needs the scope {schema_scope(object_type)} (HubSpot: Settings "
                "→ Integrations → Private apps → your app → Scopes)"
            ) from None
    return report


def _all_present(check: SetupCheck, object_type: str) -> bool:
    return check.error is None and not any(object_type in types for types in check.missing.values())


def _ensure(
    api: WritingClient, object_type: str, definition: Mapping[str, Any], report: SetupReport
) -> None:
    name = str(definition["name"])
    unique = bool(definition.get("hasUniqueValue")) and object_type in UNIQUE_VALUE_TYPES
    wanted = {**definition, "hasUniqueValue": unique}
    try:
        made = api.create_property(object_type, wanted)
    except Rejected as refusal:
        if not unique or refusal.status != 400:
            raise
        made = api.create_property(object_type, {**wanted, "hasUniqueValue": False})
        report.not_unique.append((object_type, f"HubSpot refused unique values: {refusal}"))
    if made:
        report.created.append((object_type, name))
        return
    report.present.append((object_type, name))
    if unique:
        found = api.property_definition(object_type, name) or {}
        if not found.get("hasUniqueValue"):
            report.not_unique.append(
                (object_type, "made without unique values by an earlier setup")
            )
