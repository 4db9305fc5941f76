"""An in-memory HubSpot portal: records, owners, pipelines, associations and the changes made.

The portal is plain data behind one lock; the HTTP server (``server.py``) translates requests
into calls on it, and tests call the same methods directly to change the portal under a
connector ("mutators"). Every change is appended to ``events`` in the shape of HubSpot's
webhook events, for ``webhooks.py`` to deliver.

HubSpot's behaviours that a sync must survive are reproduced on purpose:
- property values are strings, timestamps ISO-8601 with milliseconds and ``Z``;
- contacts carry their modified date in ``lastmodifieddate``, every other type in
  ``hs_lastmodifieddate``;
- association changes do not touch either record's modified date;
- a merged record disappears, and reading its id answers the surviving record;
- ``bulk_update`` gives many records one identical modified date.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from demo.hubspot_portal.schema import (
    DEFAULT_DISPOSITIONS,
    OBJECT_TYPES,
    ObjectType,
    association_type_ids,
    iso,
    object_type,
    parse_time,
    truncate_ms,
)

PropertyValues = Mapping[str, str | int | float | bool | datetime | None]


class PortalError(LookupError):
    """A request the portal cannot answer; the server turns it into HubSpot's error body."""

    def __init__(self, status: int, category: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message


@dataclass(slots=True)
class HistoryEntry:
    value: str | None
    timestamp: datetime
    source_type: str = "CRM_UI"
    # The HubSpot user who made the change (``updatedByUserId``), when a person did.
    updated_by_user_id: int | None = None


@dataclass(slots=True)
class Record:
    """One CRM record; ``properties`` hold HubSpot's string values (None: no value)."""

    type: ObjectType
    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None
    merged_into: str | None = None
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def _history_of(self, name: str) -> list[HistoryEntry]:
        """A property's history, oldest first; a value never changed was set at creation."""
        entries = self.history.get(name)
        if entries:
            return entries
        value = self.properties.get(name)
        return [HistoryEntry(value, self.created_at)] if value is not None else []

    @property
    def live(self) -> bool:
        return self.archived_at is None and self.merged_into is None

    def to_json(
        self, properties: Iterable[str] | None = None, with_history: Iterable[str] = ()
    ) -> dict[str, Any]:
        """The record as the objects API answers it (``SimplePublicObject``)."""
        wanted = list(self.type.always_returned)
        for name in properties if properties is not None else self.type.default_properties:
            if name not in wanted:
                wanted.append(name)
        answer: dict[str, Any] = {
            "id": self.id,
            "properties": {name: self.properties.get(name) for name in wanted},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            answer["archivedAt"] = iso(self.archived_at)
        history_names = list(with_history)
        if history_names:
            answer["propertiesWithHistory"] = {
                name: [
                    {
                        "value": entry.value,
                        "timestamp": iso(entry.timestamp),
                        "sourceType": entry.source_type,
                        **(
                            {"updatedByUserId": entry.updated_by_user_id}
                            if entry.updated_by_user_id is not None
                            else {}
                        ),
                    }
                    for entry in reversed(self._history_of(name))
                ]
                for name in history_names
            }
        return answer


@dataclass
class Team:
    id: str
    name: str


@dataclass
class Owner:
    """A CRM owner (``/crm/v3/owners``); ``archived`` owners are deactivated users."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    created_at: datetime
    updated_at: datetime
    teams: list[tuple[Team, bool]] = field(default_factory=list)  # (team, primary)
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": None if self.archived else self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived,
            "teams": [
                {"id": team.id, "name": team.name, "primary": primary}
                for team, primary in self.teams
            ],
        }


@dataclass
class Stage:
    id: str
    label: str
    display_order: int
    is_closed: bool
    probability: float | None

    def to_json(self, at: datetime) -> dict[str, Any]:
        metadata: dict[str, str] = {"isClosed": "true" if self.is_closed else "false"}
        if self.probability is not None:
            metadata["probability"] = _number(self.probability)
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": self.display_order,
            "metadata": metadata,
            "createdAt": iso(at),
            "updatedAt": iso(at),
            "archived": False,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }


@dataclass
class PipelineDef:
    id: str
    label: str
    display_order: int
    stages: list[Stage]

    def to_json(self, at: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": self.display_order,
            "stages": [stage.to_json(at) for stage in self.stages],
            "createdAt": iso(at),
            "updatedAt": iso(at),
            "archived": False,
        }


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def to_property_value(value: str | int | float | bool | datetime | None) -> str | None:
    """A Python value as HubSpot's string property value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return _number(value)
    return str(value)


@dataclass(frozen=True)
class Association:
    """One association, stored once per direction."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    primary: bool = False


class Portal:
    """The portal's data; every public method takes the lock (the server is threaded)."""

    def __init__(
        self,
        *,
        portal_id: int = 62515,
        clock: Callable[[], datetime] | None = None,
        first_id: int = 1001,
    ) -> None:
        self.portal_id = portal_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Record]] = {t.name: {} for t in OBJECT_TYPES}
        self.owners: dict[str, Owner] = {}
        self.teams: dict[str, Team] = {}
        self.pipelines: dict[str, list[PipelineDef]] = {"deals": [], "leads": []}
        # owner id -> (superAdmin, roleId): what the settings users API shows.
        self.user_roles: dict[str, tuple[bool, str | None]] = {}
        self.roles: dict[str, str] = {}  # role id -> name (the portal's permission sets)
        self.dispositions: dict[str, str] = {
            guid: label for label, guid in DEFAULT_DISPOSITIONS.items()
        }
        # (from_type, from_id) -> {(to_type, to_id): primary}
        self._links: dict[tuple[str, str], dict[tuple[str, str], bool]] = {}
        self._ids = itertools.count(first_id)
        self._event_ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        # Off while loading an organisation: a portal's past is not a change to deliver.
        self.recording = True
        self.search_lag = timedelta(0)
        # Custom property groups and properties (properties API), per object type:
        # type -> name -> HubSpot's JSON of the definition.
        self.property_groups: dict[str, dict[str, dict[str, Any]]] = {}
        self.custom_properties: dict[str, dict[str, dict[str, Any]]] = {}
        self._id_order: dict[str, list[int]] = {}  # type -> ids ascending (list pages)
        self.created_at = truncate_ms(self.clock())

    # Time and ids ---------------------------------------------------------------------

    def now(self) -> datetime:
        return truncate_ms(self.clock())

    def next_id(self) -> str:
        return str(next(self._ids))

    # Lookups --------------------------------------------------------------------------

    def type_of(self, name: str) -> ObjectType:
        found = object_type(name)
        if found is None:
            raise PortalError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
        return found

    def get(self, type_name: str, record_id: str, *, archived: bool = False) -> Record:
        """A record by id; a merged-away id answers the record it was merged into."""
        with self.lock:
            kind = self.type_of(type_name)
            seen: set[str] = set()
            record = self.records[kind.name].get(str(record_id))
            while record is not None and record.merged_into and record.id not in seen:
                seen.add(record.id)
                record = self.records[kind.name].get(record.merged_into)
            if record is None or record.archived != archived:
                raise PortalError(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"Object not found.  objectId are usually numeric. ({record_id})",
                )
            return record

    def find_by(self, type_name: str, prop: str, value: str) -> Record | None:
        """The live record whose ``prop`` equals ``value`` (``idProperty`` reads), or None."""
        with self.lock:
            kind = self.type_of(type_name)
            for record in self.records[kind.name].values():
                if record.live and record.properties.get(prop) == value:
                    return record
            return None

    def live(self, type_name: str) -> list[Record]:
        with self.lock:
            kind = self.type_of(type_name)
            return [r for r in self.records[kind.name].values() if r.live]

    def searchable(self, type_name: str) -> list[Record]:
        """What the search index holds: the live records, less those changed too recently.

        HubSpot's search guide warns that a new or changed record takes a few moments to
        show up in search; ``search_lag`` reproduces that (a change within the lag hides the
        record from search until the lag has passed). Zero by default.
        """
        records = self.live(type_name)
        if not self.search_lag:
            return records
        indexed_until = self.now() - self.search_lag
        return [r for r in records if r.updated_at <= indexed_until]

    def page(
        self, type_name: str, *, after: int, limit: int, archived: bool = False
    ) -> tuple[list[Record], str | None]:
        """A list page in id order from id ``after`` on, and the id the next page starts at.

        Ids only grow, so records sit in id order in ``records``; the cursor is found by
        bisection instead of a scan (large portals page quickly).
        """
        with self.lock:
            kind = self.type_of(type_name)
            ids = self._ordered_ids(kind.name)
            start = bisect.bisect_left(ids, after)
            found: list[Record] = []
            for position in range(start, len(ids)):
                record = self.records[kind.name][str(ids[position])]
                if record.archived if archived else record.live:
                    if len(found) == limit:
                        return found, record.id
                    found.append(record)
            return found, None

    def _ordered_ids(self, type_name: str) -> list[int]:
        ids = self._id_order.get(type_name)
        if ids is None or len(ids) != len(self.records[type_name]):
            ids = sorted(int(i) for i in self.records[type_name] if i.isdigit())
            self._id_order[type_name] = ids
        return ids

    def archived(self, type_name: str) -> list[Record]:
        with self.lock:
            kind = self.type_of(type_name)
            return [r for r in self.records[kind.name].values() if r.archived]

    # Mutators -------------------------------------------------------------------------

    def create(
        self,
        type_name: str,
        properties: PropertyValues,
        *,
        at: datetime | None = None,
        record_id: str | None = None,
        source_type: str = "CRM_UI",
        track_history: bool = True,
    ) -> Record:
        """Create a record (its created date may be given in ``properties`` for loaded data).

        The created date lives in ``createdate`` (contacts, companies, deals) or
        ``hs_createdate`` (engagements, leads, users); either name is accepted here.

        ``track_history=False`` leaves property history to the caller (a loader that knows
        when each value was really set).
        """
        with self.lock:
            kind = self.type_of(type_name)
            moment = truncate_ms(at or self.clock())
            new_id = record_id or self.next_id()
            values = {name: to_property_value(v) for name, v in properties.items()}
            created_text = values.pop("createdate", None) or values.pop("hs_createdate", None)
            created = moment
            if created_text:
                created = parse_time(created_text) or moment
            record = Record(kind, new_id, {}, created, moment)
            for name, value in values.items():
                record.properties[name] = value
                if track_history:
                    record.history.setdefault(name, []).append(
                        HistoryEntry(value, moment, source_type)
                    )
            record.properties[kind.created_property] = iso(created)
            record.properties["hs_object_id"] = new_id
            record.properties[kind.modified_property] = iso(moment)
            self.records[kind.name][new_id] = record
            self._event("object.creation", kind, new_id, moment)
            return record

    def update(
        self,
        type_name: str,
        record_id: str,
        properties: PropertyValues,
        *,
        at: datetime | None = None,
        source_type: str = "CRM_UI",
        by_user_id: int | None = None,
    ) -> Record:
        """Set properties; bumps the modified date and emits one propertyChange per value.

        ``by_user_id``: the HubSpot user (an owner's ``user_id``) named in the history.
        """
        with self.lock:
            record = self.get(type_name, record_id)
            moment = truncate_ms(at or self.clock())
            self._set(record, properties, moment, source_type, by_user_id)
            return record

    def bulk_update(
        self,
        type_name: str,
        record_ids: Iterable[str],
        properties: PropertyValues,
        *,
        at: datetime | None = None,
    ) -> datetime:
        """Update many records with ONE modified date (what a workflow or import does)."""
        with self.lock:
            moment = truncate_ms(at or self.clock())
            for record_id in record_ids:
                self._set(self.get(type_name, record_id), properties, moment, "IMPORT")
            return moment

    def _set(
        self,
        record: Record,
        properties: PropertyValues,
        moment: datetime,
        source: str,
        by_user_id: int | None = None,
    ) -> None:
        for name, raw in properties.items():
            value = to_property_value(raw)
            record.properties[name] = value
            record.history.setdefault(name, []).append(
                HistoryEntry(value, moment, source, by_user_id)
            )
            self._event(
                "object.propertyChange",
                record.type,
                record.id,
                moment,
                propertyName=name,
                propertyValue=value if value is not None else "",
                changeSource=source,
            )
        record.updated_at = moment
        record.properties[record.type.modified_property] = iso(moment)

    def archive(self, type_name: str, record_id: str, *, at: datetime | None = None) -> None:
        """Delete (archive) a record: it leaves listings and search, and shows in archived."""
        with self.lock:
            record = self.get(type_name, record_id)
            moment = truncate_ms(at or self.clock())
            record.archived_at = moment
            self._event("object.deletion", record.type, record.id, moment)

    def restore(self, type_name: str, record_id: str, *, at: datetime | None = None) -> None:
        with self.lock:
            record = self.get(type_name, record_id, archived=True)
            moment = truncate_ms(at or self.clock())
            record.archived_at = None
            record.updated_at = moment
            record.properties[record.type.modified_property] = iso(moment)
            self._event("object.restore", record.type, record.id, moment)

    def merge(
        self, type_name: str, primary_id: str, merged_id: str, *, at: datetime | None = None
    ) -> Record:
        """Merge ``merged_id`` into ``primary_id``: the loser disappears, reads redirect.

        The winner keeps its id (HubSpot's "newObjectId" equals the primary here), gets the
        loser's associations and ``hs_merged_object_ids``, and its modified date moves.
        """
        with self.lock:
            winner = self.get(type_name, primary_id)
            loser = self.get(type_name, merged_id)
            if winner.id == loser.id:
                raise PortalError(400, "VALIDATION_ERROR", "Cannot merge a record into itself")
            moment = truncate_ms(at or self.clock())
            moved = 0
            for name, value in loser.properties.items():
                if value not in (None, "") and winner.properties.get(name) in (None, ""):
                    winner.properties[name] = value
                    moved += 1
            previous = winner.properties.get("hs_merged_object_ids") or ""
            merged_ids = [i for i in previous.split(";") if i] + [loser.id]
            winner.properties["hs_merged_object_ids"] = ";".join(merged_ids)
            loser_links = self._links.get((winner.type.name, loser.id), {})
            for (to_type, to_id), primary in list(loser_links.items()):
                self._unlink(winner.type.name, loser.id, to_type, to_id)
                self._link(winner.type.name, winner.id, to_type, to_id, primary)
            loser.merged_into = winner.id
            winner.updated_at = moment
            winner.properties[winner.type.modified_property] = iso(moment)
            self._event(
                "object.merge",
                winner.type,
                winner.id,
                moment,
                primaryObjectId=int(winner.id),
                mergedObjectIds=[int(loser.id)],
                newObjectId=int(winner.id),
                numberOfPropertiesMoved=moved,
            )
            return winner

    # Associations (never touch modified dates) --------------------------------------

    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        *,
        primary: bool = False,
        at: datetime | None = None,
    ) -> None:
        with self.lock:
            source = self.get(from_type, from_id)
            target = self.get(to_type, to_id)
            if association_type_ids(source.type.name, target.type.name) is None:
                raise PortalError(
                    400,
                    "VALIDATION_ERROR",
                    f"No association type between {source.type.name} and {target.type.name}",
                )
            if primary:
                # One primary per record and target type (a contact has one primary company).
                for (other_type, other_id), was_primary in list(
                    self._links.get((source.type.name, source.id), {}).items()
                ):
                    if other_type == target.type.name and was_primary:
                        self._link(source.type.name, source.id, other_type, other_id, False)
            self._link(source.type.name, source.id, target.type.name, target.id, primary)
            self._association_event(source, target, removed=False, primary=primary, at=at)

    def dissociate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        *,
        at: datetime | None = None,
    ) -> bool:
        """Remove an association; True when there was one."""
        with self.lock:
            source = self.get(from_type, from_id)
            target = self.get(to_type, to_id)
            primary = self._links.get((source.type.name, source.id), {}).get(
                (target.type.name, target.id)
            )
            if primary is None:
                return False
            self._unlink(source.type.name, source.id, target.type.name, target.id)
            self._association_event(source, target, removed=True, primary=primary, at=at)
            return True

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[Association]:
        """Live associations of one record to one type, ordered by the target's id."""
        with self.lock:
            source_kind = self.type_of(from_type)
            target_kind = self.type_of(to_type)
            links = self._links.get((source_kind.name, str(from_id)), {})
            found = [
                Association(source_kind.name, str(from_id), t_type, t_id, primary)
                for (t_type, t_id), primary in links.items()
                if t_type == target_kind.name
                and self.records[t_type].get(t_id) is not None
                and self.records[t_type][t_id].live
            ]
            return sorted(found, key=lambda a: int(a.to_id) if a.to_id.isdigit() else 0)

    def _link(self, from_type: str, from_id: str, to_type: str, to_id: str, primary: bool) -> None:
        self._links.setdefault((from_type, from_id), {})[(to_type, to_id)] = primary
        # The reverse direction is the same association; "primary" belongs to the side that
        # has one (a contact's primary company is, seen from the company, a primary contact).
        self._links.setdefault((to_type, to_id), {})[(from_type, from_id)] = primary

    def _unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._links.get((from_type, from_id), {}).pop((to_type, to_id), None)
        self._links.get((to_type, to_id), {}).pop((from_type, from_id), None)

    def _association_event(
        self, source: Record, target: Record, *, removed: bool, primary: bool, at: datetime | None
    ) -> None:
        if not self.recording:
            return
        ids = association_type_ids(source.type.name, target.type.name)
        assert ids is not None
        type_id = ids[1] if primary and ids[1] is not None else ids[0]
        self._event(
            "object.associationChange",
            source.type,
            source.id,
            truncate_ms(at or self.clock()),
            associationType=f"{source.type.singular.upper()}_TO_{target.type.singular.upper()}",
            associationTypeId=type_id,
            associationCategory="HUBSPOT_DEFINED",
            fromObjectTypeId=source.type.type_id,
            fromObjectId=int(source.id),
            toObjectTypeId=target.type.type_id,
            toObjectId=int(target.id),
            associationRemoved=removed,
            isPrimaryAssociation=primary,
        )

    # Owners and pipelines ------------------------------------------------------------

    def add_team(self, name: str, *, team_id: str | None = None) -> Team:
        with self.lock:
            team = Team(team_id or self.next_id(), name)
            self.teams[team.id] = team
            return team

    def add_owner(
        self,
        email: str,
        first_name: str,
        last_name: str,
        *,
        teams: Iterable[Team] = (),
        archived: bool = False,
        owner_id: str | None = None,
    ) -> Owner:
        with self.lock:
            moment = self.now()
            owner_id = owner_id or self.next_id()
            owner = Owner(
                owner_id,
                email,
                first_name,
                last_name,
                user_id=int(owner_id) + 7_000_000,
                created_at=moment,
                updated_at=moment,
                teams=[(team, index == 0) for index, team in enumerate(teams)],
                archived=archived,
            )
            self.owners[owner.id] = owner
            return owner

    def set_pipelines(self, type_name: str, pipelines: list[PipelineDef]) -> None:
        with self.lock:
            self.pipelines[self.type_of(type_name).name] = pipelines

    # Events ---------------------------------------------------------------------------

    def _event(
        self, subscription: str, kind: ObjectType, record_id: str, at: datetime, **extra: Any
    ) -> None:
        if not self.recording:
            return
        self.events.append(
            {
                "eventId": next(self._event_ids),
                "subscriptionId": 1000 + len(subscription),
                "portalId": self.portal_id,
                "appId": 4242,
                "occurredAt": int(at.timestamp() * 1000),
                "subscriptionType": subscription,
                "attemptNumber": 0,
                "objectId": int(record_id),
                "objectTypeId": kind.type_id,
                "changeSource": extra.pop("changeSource", "CRM_UI"),
                "changeFlag": _CHANGE_FLAGS.get(subscription, "UPDATED"),
                **extra,
            }
        )

    def take_events(self) -> list[dict[str, Any]]:
        """The events recorded since the last call (what a webhook delivery would carry)."""
        with self.lock:
            taken, self.events = self.events, []
            return taken


_CHANGE_FLAGS = {
    "object.creation": "CREATED",
    "object.deletion": "DELETED",
    "object.merge": "MERGED",
    "object.restore": "RESTORED",
    "object.propertyChange": "UPDATED",
    "object.associationChange": "ASSOCIATION_UPDATED",
}
