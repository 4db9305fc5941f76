"""The part of HubSpot's API the write-back uses: read one record with its history, create
exactly once (alone or 100 to a batch), update, archive, and find who a HubSpot user is.

``WritingClient`` extends the sync's ``OfficialClient``: the same portal rate limiter, the
same retries (429 waits as told, 5xx and lost connections back off, tenacity). What differs:
- a refusal HubSpot means for good (400 validation, 403 missing scope, 404 gone, 409) raises
  ``Rejected`` with a sentence a rep can read, instead of a generic error;
- a create is never retried blindly: when its outcome is unknown (a timeout, a 5xx, a crash
  recorded by the caller), HubSpot is asked for the create's marker first: read by
  ``idProperty`` where ``salesbot_id`` is a unique property (exact, at once), else searched
  for (after the search index caught up), keeping only records whose marker is exactly it;
- a create refused because its marker is already held (a unique ``salesbot_id``) was made
  before: the record holding it is the create's record.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from connectors.hubspot.api import HubSpotError, MissingScope, OfficialClient, _json
from storage.models import WriteReason

# The custom property that carries a create's marker (docs/hubspot.md, "Write-back").
MARKER_PROPERTY = "salesbot_id"
# The custom property that names who acted in Slack, written with each change.
ACTOR_PROPERTY = "salesbot_acted_by"
# ``Rejected.category`` of a write refused only for lack of ``salesbot_acted_by``.
ACTOR_PROPERTY_MISSING = "ACTOR_PROPERTY_MISSING"
# HubSpot's batch endpoints take at most this many inputs.
BATCH_SIZE = 100
# How long a request may take before its outcome counts as unknown.
REQUEST_TIMEOUT = (5.0, 30.0)
# HubSpot's search index trails its writes by seconds: a marker search waits this long
# after the create it looks for was sent, or it could miss a record that exists.
SEARCH_SETTLE_SECONDS = 10.0


class Rejected(HubSpotError):
    """HubSpot refused a write for good; ``reason`` says why in plain words.

    ``marker_taken``: refused because a record already holds the create's ``salesbot_id``
    (a unique property), i.e. the create was made before; ``existing_id`` is that record's
    id when HubSpot named it.
    """

    def __init__(
        self,
        status: int,
        category: str,
        reason: str,
        code: WriteReason | None = None,
        values: Mapping[str, Any] | None = None,
        *,
        marker_taken: bool = False,
        existing_id: str | None = None,
    ) -> None:
        """
        Args:
            reason: Why, in English (logs, ``salesbot hubspot status``).
            code: The same reason for people to read in their language, with ``values``
                (the details its sentence names: ``storage.models.WriteReason``).
        """
        super().__init__(reason)
        self.status = status
        self.category = category
        self.reason = reason
        self.code = code
        self.values = dict(values or {})
        self.marker_taken = marker_taken
        self.existing_id = existing_id

    @property
    def gone(self) -> bool:
        """The record no longer exists in HubSpot."""
        return self.status == 404


@dataclass(frozen=True)
class HistoryEntry:
    value: str | None
    at: datetime
    user_id: int | None
    source: str | None


@dataclass(frozen=True)
class CurrentRecord:
    """A record as HubSpot holds it now, with the history of the properties asked for."""

    id: str
    properties: Mapping[str, str | None]
    history: Mapping[str, Sequence[HistoryEntry]]

    def last_change(self, prop: str) -> HistoryEntry | None:
        entries = self.history.get(prop) or []
        return max(entries, key=lambda e: e.at) if entries else None


@dataclass(frozen=True)
class NewRecord:
    """One create of a batch: its marker, properties and associations."""

    marker: str
    properties: Mapping[str, str | None]
    associations: Sequence[tuple[str, int]]  # (HubSpot id, association type id)
    maybe_sent: bool = False  # an earlier send may have created it: look for it first


@dataclass(frozen=True)
class Created:
    """What a batch of creates left in HubSpot."""

    ids: dict[str, str]  # marker -> HubSpot id
    # A result could not be matched to a marker, or an attempt's outcome was unknown: the
    # markers missing from ``ids`` may exist all the same (look before sending them again).
    unaccounted: bool = False
    # HubSpot refused the creates not in ``ids`` as a whole (one invalid value, a scope).
    refused: Rejected | None = None


# HubSpot does not document how it refuses a value a unique property already holds. Two
# shapes are known: 409 CONFLICT / OBJECT_ALREADY_EXISTS with "Existing ID: <id>" (contacts'
# email), and 400 VALIDATION_ERROR naming the property with "already has that value"
# (custom unique properties, as integrations report). Both are read as "taken".
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_TAKEN_WORDS = ("already has that value", "already exists", "must be unique")


def _marker_taken(status: int, body: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(whether the refusal says ``salesbot_id``'s value is held already, the holder's id)."""
    text = str(body.get("message") or "") + " ".join(
        str(e.get("message") or "") for e in body.get("errors") or [] if isinstance(e, dict)
    )
    if not (status == 409 or (status == 400 and MARKER_PROPERTY in text)):
        return False, None
    if not any(words in text.lower() for words in _TAKEN_WORDS):
        return False, None
    found = _EXISTING_ID.search(text)
    return True, found.group(1) if found else None


def _refusal(status: int, body: Mapping[str, Any]) -> Rejected:
    """HubSpot's 4xx answer as a ``Rejected``, with whether it says the marker is taken."""
    taken, existing_id = _marker_taken(status, body)
    refusal = _reason(status, body, marker_taken=taken)
    refusal.marker_taken, refusal.existing_id = taken, existing_id
    return refusal


def _reason(status: int, body: Mapping[str, Any], *, marker_taken: bool) -> Rejected:
    category = str(body.get("category") or "")
    message = str(body.get("message") or "")
    if status == 404:
        return Rejected(
            status,
            category or "OBJECT_NOT_FOUND",
            "the record was deleted in HubSpot",
            WriteReason.DELETED,
        )
    if status == 403:
        scopes: list[str] = []
        for error in body.get("errors") or []:
            scopes += (error.get("context") or {}).get("requiredGranularScopes") or []
        needed = f" (it needs {', '.join(scopes)})" if scopes else ""
        return Rejected(
            status,
            category or "MISSING_SCOPES",
            f"salesbot's HubSpot app may not make this change{needed}: ask your HubSpot "
            "admin to add the scope",
            WriteReason.MISSING_SCOPE,
            {"scopes": scopes},
        )
    if status == 409:
        return Rejected(
            status,
            category or "CONFLICT",
            f"HubSpot refused it as a conflict: {message[:200]}",
            WriteReason.CRM_CONFLICT,
            {"detail": message[:200]},
        )
    if MARKER_PROPERTY in message and not marker_taken:
        return Rejected(
            status,
            category or "VALIDATION_ERROR",
            f"HubSpot has no {MARKER_PROPERTY} property yet: ask your HubSpot admin to run "
            "`salesbot hubspot setup` (docs/hubspot.md, Connect a portal)",
            WriteReason.MISSING_PROPERTY,
            {"property": MARKER_PROPERTY},
        )
    if ACTOR_PROPERTY in message:
        # Removed after the start-up check: the sender writes without it (never a failure).
        return Rejected(status, ACTOR_PROPERTY_MISSING, f"HubSpot has no {ACTOR_PROPERTY} property")
    return Rejected(
        status,
        category or "VALIDATION_ERROR",
        f"HubSpot refused the values: {message[:200]}",
        WriteReason.REFUSED_VALUES,
        {"detail": message[:200]},
    )


def _markers_of(results: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, str]]:
    for result in results:
        marker = (result.get("properties") or {}).get(MARKER_PROPERTY)
        if result.get("id") is not None and marker:
            yield str(result["id"]), str(marker)


class WritingClient(OfficialClient):
    """``OfficialClient`` plus the calls that change a portal."""

    search_settle_seconds: float = SEARCH_SETTLE_SECONDS

    def _raise_for(self, error: Exception) -> None:
        status = getattr(error, "status", None)
        if status in (400, 403, 404, 409, 422):
            self.limiter.observe(getattr(error, "headers", None) or {})
            body = _json(getattr(error, "body", None))
            raise _refusal(int(status), body) from None
        super()._raise_for(error)

    def portal_id(self) -> int:
        """As the sync's client: a 403 is a missing scope (``check_portal``), not a refusal."""
        try:
            return super().portal_id()
        except Rejected as refusal:
            if refusal.status != 403:
                raise
            raise MissingScope(f"HubSpot answered 403: {refusal}", ()) from None

    # Reading ----------------------------------------------------------------------------

    def read(
        self, object_type: str, record_id: str, *, properties: Sequence[str], history: bool
    ) -> CurrentRecord | None:
        """The record now, or None when HubSpot no longer has it."""
        api = self._bulk_api("basic")
        kwargs: dict[str, Any] = {"properties": list(properties), "archived": False}
        if history:
            kwargs["properties_with_history"] = list(properties)
        try:
            answer = self._call(
                lambda: api.get_by_id_with_http_info(
                    object_type, record_id, _request_timeout=REQUEST_TIMEOUT, **kwargs
                )
            )
        except Rejected as refusal:
            if refusal.gone:
                return None
            raise
        found = {
            name: [
                HistoryEntry(
                    v.value,
                    v.timestamp,
                    int(v.updated_by_user_id) if v.updated_by_user_id is not None else None,
                    v.source_type,
                )
                for v in values or []
                if v.timestamp is not None
            ]
            for name, values in (getattr(answer, "properties_with_history", None) or {}).items()
        }
        return CurrentRecord(str(answer.id), dict(answer.properties or {}), found)

    def find_by_markers(
        self, object_type: str, markers: Sequence[str], *, unique: bool
    ) -> dict[str, str]:
        """marker -> id of the record that carries it, for the markers HubSpot has.

        Args:
            unique: ``salesbot_id`` is a unique property on ``object_type``: a batch read by
                ``idProperty`` answers exactly and at once. Otherwise the search is asked
                (its index trails writes: the caller waits first), and only records whose
                marker equals one asked for count: a search hit is a candidate, not a
                match (probe finding F23b). A marker on two records (a rep cloned one) is
                the older record's: salesbot's create came first.
        """
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(markers))
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            records = self._read_by_marker(object_type, chunk) if unique else None
            if records is None:
                records = self._search_markers(object_type, chunk)
            for record_id, marker in sorted(records, key=lambda r: int(r[0])):
                if marker in chunk:
                    found.setdefault(marker, record_id)
        return found

    def _read_by_marker(
        self, object_type: str, markers: Sequence[str]
    ) -> list[tuple[str, str]] | None:
        """(id, marker) of the records holding ``markers``, by a batch read with
        ``idProperty``; None when HubSpot refuses (the property is not unique after all)."""
        api = self._bulk_api("batch")
        body = {
            "inputs": [{"id": marker} for marker in markers],
            "idProperty": MARKER_PROPERTY,
            "properties": [MARKER_PROPERTY],
            "propertiesWithHistory": [],
        }
        try:
            answer = self._json_call(
                api.read_with_http_info,
                object_type,
                body,
                archived=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except Rejected as refusal:
            if refusal.status == 400:
                return None
            raise
        return list(_markers_of(answer.get("results") or []))

    def _search_markers(self, object_type: str, markers: Sequence[str]) -> list[tuple[str, str]]:
        """(id, marker) of the records the search finds for ``markers`` (``IN``, or ``EQ``
        for one), every page."""
        if len(markers) == 1:
            condition: dict[str, Any] = {"operator": "EQ", "value": markers[0]}
        else:
            condition = {"operator": "IN", "values": list(markers)}
        api = self._bulk_api("search")
        records: list[tuple[str, str]] = []
        after: str | None = None
        while True:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [{"propertyName": MARKER_PROPERTY, **condition}]}],
                "properties": [MARKER_PROPERTY],
                "limit": 200,
            }
            if after:
                body["after"] = after
            answer = self._json_call(
                api.do_search_with_http_info,
                object_type,
                body,
                search=True,
                _request_timeout=REQUEST_TIMEOUT,
            )
            records += _markers_of(answer.get("results") or [])
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return records

    def owner_of_user(self, user_id: int) -> str | None:
        """The owner id of a HubSpot user (property history names users, records owners)."""
        api = self._client.crm.owners.owners_api
        for archived in (False, True):
            after: str | None = None
            while True:
                kwargs: dict[str, Any] = {"limit": 100, "archived": archived}
                if after:
                    kwargs["after"] = after
                page = self._call(partial(api.get_page_with_http_info, **kwargs))
                for owner in page.results or []:
                    if user_id in (owner.user_id, owner.user_id_including_inactive):
                        return str(owner.id)
                nxt = getattr(getattr(page, "paging", None), "next", None)
                after = getattr(nxt, "after", None)
                if not after:
                    break
        return None

    def read_many(
        self, object_type: str, record_ids: Sequence[str], *, properties: Sequence[str]
    ) -> dict[str, Mapping[str, str | None]]:
        """Current values of up to 100 records in one batch read, by id.

        Records HubSpot no longer has (or answers under another id, after a merge) are
        missing from the answer: the caller reads those one by one.
        """
        api = self._bulk_api("batch")
        body = {
            "inputs": [{"id": record_id} for record_id in record_ids[:BATCH_SIZE]],
            "properties": list(properties),
        }
        answer = self._json_call(
            api.read_with_http_info,
            object_type,
            body,
            archived=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        return {
            str(found["id"]): dict(found.get("properties") or {})
            for found in answer.get("results") or []
            if found.get("id") is not None
        }

    def update_many(
        self, object_type: str, updates: Mapping[str, Mapping[str, str | None]]
    ) -> set[str]:
        """Update up to 100 records in one batch; the ids HubSpot confirms.

        HubSpot answers 200 when every input was applied and 207 (multi-status) when some
        failed: those are missing from ``results``, and the caller sends them one by one to
        learn each one's fate. A refusal of the whole batch (400) raises ``Rejected``.
        """
        api = self._bulk_api("batch")
        body = {
            "inputs": [
                {"id": record_id, "properties": dict(properties)}
                for record_id, properties in list(updates.items())[:BATCH_SIZE]
            ]
        }
        answer = self._json_call(
            api.update_with_http_info, object_type, body, _request_timeout=REQUEST_TIMEOUT
        )
        return {str(r["id"]) for r in answer.get("results") or [] if r.get("id") is not None}

    # Properties -------------------------------------------------------------------------

    def property_definition(self, object_type: str, name: str) -> dict[str, Any] | None:
        """The definition of the property ``name`` of ``object_type`` (HubSpot's JSON:
        ``hasUniqueValue``, ...), or None when there is none."""
        api = self._client.crm.properties.core_api
        try:
            found = self._json_call(
                api.get_by_name_with_http_info, object_type, name, _request_timeout=REQUEST_TIMEOUT
            )
        except Rejected as refusal:
            if refusal.gone:
                return None
            raise
        return found if isinstance(found, dict) else {}

    def create_property_group(self, object_type: str, *, name: str, label: str) -> bool:
        """Create a property group; False when it exists already."""
        api = self._client.crm.properties.groups_api
        body = {"name": name, "label": label, "displayOrder": -1}
        return self._create_definition(
            lambda: api.create_with_http_info(
                object_type, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> bool:
        """Create a property (HubSpot's ``PropertyCreate`` shape); False when it exists."""
        api = self._client.crm.properties.core_api
        body = dict(definition)
        return self._create_definition(
            lambda: api.create_with_http_info(
                object_type, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def _create_definition(self, request: Callable[[], Any]) -> bool:
        def raw() -> tuple[None, int, Mapping[str, str]]:
            response = request()
            _ = response.data  # read to the end: the connection goes back to the pool
            return None, response.status, response.headers

        try:
            self._call(raw)
        except Rejected as refusal:
            if refusal.status == 409:  # HubSpot: the name is taken, i.e. it is there
                return False
            raise
        return True

    # Writing ----------------------------------------------------------------------------

    def update(
        self, object_type: str, record_id: str, properties: Mapping[str, str | None]
    ) -> None:
        from hubspot.crm.objects import SimplePublicObjectInput

        api = self._bulk_api("basic")
        body = SimplePublicObjectInput(properties=dict(properties))
        self._call(
            lambda: api.update_with_http_info(
                object_type, record_id, body, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def archive(self, object_type: str, record_id: str) -> None:
        """Delete a record (HubSpot answers 204 for one already gone)."""
        api = self._bulk_api("basic")
        try:
            self._call(
                lambda: api.archive_with_http_info(
                    object_type, record_id, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except Rejected as refusal:
            if not refusal.gone:
                raise

    def create_once(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        associations: Sequence[tuple[str, int]],
        *,
        marker: str,
        maybe_sent_at: float | None,
        unique: bool = False,
    ) -> str:
        """Create a record carrying ``marker``; its id. Never creates it twice.

        Args:
            object_type: ``tasks``, ``deals``, ...
            properties: The record's properties (the marker is added).
            associations: (HubSpot id, HUBSPOT_DEFINED association type id) to link.
            marker: The token that makes this create recognisable.
            maybe_sent_at: When an earlier attempt may have reached HubSpot (``time.time()``
                of a send whose answer never came, e.g. before a crash), else None: then
                HubSpot is asked for the marker before anything is sent.
            unique: ``salesbot_id`` is a unique property on ``object_type``.
        """
        created = self.create_many(
            object_type,
            [NewRecord(marker, properties, associations, maybe_sent_at is not None)],
            maybe_sent_at=maybe_sent_at,
            unique=unique,
        )
        if marker not in created.ids and created.refused is not None:
            raise created.refused
        return created.ids[marker]

    def create_many(
        self,
        object_type: str,
        records: Sequence[NewRecord],
        *,
        maybe_sent_at: float | None,
        unique: bool,
    ) -> Created:
        """Create up to 100 records of one type in one batch; marker -> id of each record
        HubSpot now holds (created now, or found: created before).

        Results are matched to inputs by their marker (``salesbot_id``, also sent as
        ``objectWriteTraceId``), never by position. A marker missing from the answer was not
        created (HubSpot's 207 lists it under ``errors``): the caller sends it alone. When the
        batch's outcome is unknown (a timeout, a 5xx, or ``maybe_sent``: a crash after an
        earlier send), the markers are looked up before anything is sent again.

        Args:
            maybe_sent_at: When the latest earlier send of a ``maybe_sent`` record may have
                reached HubSpot (``time.time()``), for the search's settling time.
            unique: ``salesbot_id`` is a unique property on ``object_type``.

        One record goes to the single create endpoint (``POST /crm/v3/objects/{type}``); a
        refusal because its marker is taken resolves to the record that holds it.

        A refusal of the batch as a whole (one invalid value refuses all) is in the answer's
        ``refused``, with the records found before it (an earlier, unknown send's) in
        ``ids``: they are never lost to the refusal.
        """
        pending = {r.marker: r for r in records[:BATCH_SIZE]}
        found: dict[str, str] = {}
        unmatched = [0]
        unknown = [False]  # an attempt's outcome was unknown
        unknown_since = maybe_sent_at
        look_for = {r.marker for r in pending.values() if r.maybe_sent}

        # One attempt of the client's retried call: look for the markers first whenever an
        # earlier send may have got through, and never send blind after such a send.
        def request() -> tuple[None, int, Mapping[str, str]]:
            nonlocal unknown_since
            if unknown_since is not None and look_for:
                self._look_for(object_type, look_for, found, unique=unique, since=unknown_since)
                for marker in found:
                    pending.pop(marker, None)
            if not pending:
                return None, 200, {}
            sent_at = time.time()
            try:
                status, headers, unmatched[0] = self._post_creates(
                    object_type, list(pending.values()), found
                )
            except Exception as error:
                code = getattr(error, "status", None)
                if code is None or int(code) >= 500:
                    # It may have been created all the same: look before the next send.
                    unknown_since = sent_at
                    look_for.update(pending)
                    unknown[0] = True
                raise
            return None, status, headers

        refused: Rejected | None = None
        try:
            self._call(request)
        except Rejected as refusal:
            if refusal.marker_taken and len(pending) == 1:
                found.update(self._holder(object_type, refusal, next(iter(pending))))
            else:
                refused = refusal
        return Created(found, unaccounted=unmatched[0] > 0 or unknown[0], refused=refused)

    def _look_for(
        self,
        object_type: str,
        markers: set[str],
        found: dict[str, str],
        *,
        unique: bool,
        since: float,
    ) -> None:
        """Find the records of ``markers`` made by an earlier send (sent at ``since``)."""
        if not unique:
            self._settle(since)  # the search index trails HubSpot's writes
        found.update(self.find_by_markers(object_type, sorted(markers), unique=unique))
        markers.clear()

    def _holder(self, object_type: str, refusal: Rejected, marker: str) -> dict[str, str]:
        """A create refused because its marker is taken was made before (a replica's, or
        one whose answer was lost): the record holding the marker is the create's."""
        holder = refusal.existing_id or self.find_by_markers(
            object_type, [marker], unique=True
        ).get(marker)
        if holder is None:
            raise refusal
        return {marker: holder}

    def _post_creates(
        self, object_type: str, records: Sequence[NewRecord], found: dict[str, str]
    ) -> tuple[int, Mapping[str, str], int]:
        """Send creates (one alone, several as a batch); record the ids answered in
        ``found`` by marker. The answer: status, headers, and how many results carried no
        marker that was sent (then a missing marker may exist all the same)."""

        def body_of(record: NewRecord) -> dict[str, Any]:
            return {
                "properties": {**record.properties, MARKER_PROPERTY: record.marker},
                "associations": [
                    {
                        "to": {"id": to_id},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                        ],
                    }
                    for to_id, type_id in record.associations
                ],
            }

        basic, batch = self._bulk_api("basic"), self._bulk_api("batch")
        if len(records) == 1:
            response = basic.create_with_http_info(
                object_type,
                body_of(records[0]),
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            answer = json.loads(response.data or b"null") or {}
            results = [answer] if isinstance(answer, dict) else []
        else:
            inputs = [{**body_of(r), "objectWriteTraceId": r.marker} for r in records]
            response = batch.create_with_http_info(
                object_type,
                {"inputs": inputs},
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            answer = json.loads(response.data or b"null") or {}
            results = list(answer.get("results") or []) if isinstance(answer, dict) else []
        sent = {r.marker for r in records}
        unmatched = 0
        for result in results:
            marker = (result.get("properties") or {}).get(MARKER_PROPERTY) or result.get(
                "objectWriteTraceId"
            )
            if marker in sent and result.get("id") is not None:
                found[str(marker)] = str(result["id"])
            else:
                unmatched += 1
        return response.status, response.headers, unmatched

    def _settle(self, sent_at: float, clock: Callable[[], float] = time.time) -> None:
        wait = sent_at + self.search_settle_seconds - clock()
        if wait > 0:
            self.limiter.sleep(wait)
