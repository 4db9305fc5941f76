"""The part of HubSpot's API the write-back uses: read one record with its history, create
exactly once, update, archive, and find who a HubSpot user is.

``WritingClient`` extends the sync's ``OfficialClient``: the same portal rate limiter, the
same retries (429 waits as told, 5xx and lost connections back off, tenacity). What differs:
- a refusal HubSpot means for good (400 validation, 403 missing scope, 404 gone, 409) raises
  ``Rejected`` with a sentence a rep can read, instead of a generic error;
- a create is never retried blindly: when its outcome is unknown (a timeout, a 5xx, a crash
  recorded by the caller), HubSpot is searched for the create's marker first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from connectors.hubspot.api import HubSpotError, OfficialClient, _json
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
    """HubSpot refused a write for good; ``reason`` says why in plain words."""

    def __init__(
        self,
        status: int,
        category: str,
        reason: str,
        code: WriteReason | None = None,
        values: Mapping[str, Any] | None = None,
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


def _reason(status: int, body: Mapping[str, Any]) -> Rejected:
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
    if MARKER_PROPERTY in message:
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


class WritingClient(OfficialClient):
    """``OfficialClient`` plus the calls that change a portal."""

    search_settle_seconds: float = SEARCH_SETTLE_SECONDS

    def _raise_for(self, error: Exception) -> None:
        status = getattr(error, "status", None)
        if status in (400, 403, 404, 409, 422):
            self.limiter.observe(getattr(error, "headers", None) or {})
            body = _json(getattr(error, "body", None))
            raise _reason(int(status), body) from None
        super()._raise_for(error)

    # Reading ----------------------------------------------------------------------------

    def read(
        self, object_type: str, record_id: str, *, properties: Sequence[str], history: bool
    ) -> CurrentRecord | None:
        """The record now, or None when HubSpot no longer has it."""
        api = self._client.crm.objects.basic_api
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

    def find_by_marker(self, object_type: str, marker: str) -> str | None:
        """The id of the record that carries ``marker``, or None."""
        from hubspot.crm.objects import Filter, FilterGroup, PublicObjectSearchRequest

        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name=MARKER_PROPERTY, operator="EQ", value=marker)]
                )
            ],
            properties=[MARKER_PROPERTY],
            limit=2,
        )
        api = self._client.crm.objects.search_api
        answer = self._call(
            lambda: api.do_search_with_http_info(
                object_type, request, _request_timeout=REQUEST_TIMEOUT
            ),
            search=True,
        )
        results = answer.results or []
        return str(results[0].id) if results else None

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
        api = self._client.crm.objects.batch_api
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
        api = self._client.crm.objects.batch_api
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

    def has_property(self, object_type: str, name: str) -> bool:
        """Whether ``object_type`` records have the property ``name``."""
        api = self._client.crm.properties.core_api
        try:
            self._json_call(
                api.get_by_name_with_http_info, object_type, name, _request_timeout=REQUEST_TIMEOUT
            )
        except Rejected as refusal:
            if refusal.gone:
                return False
            raise
        return True

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

        api = self._client.crm.objects.basic_api
        body = SimplePublicObjectInput(properties=dict(properties))
        self._call(
            lambda: api.update_with_http_info(
                object_type, record_id, body, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def archive(self, object_type: str, record_id: str) -> None:
        """Delete a record (HubSpot answers 204 for one already gone)."""
        api = self._client.crm.objects.basic_api
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
    ) -> str:
        """Create a record carrying ``marker``; its id. Never creates it twice.

        Args:
            object_type: ``tasks``, ``deals``, ...
            properties: The record's properties (the marker is added).
            associations: (HubSpot id, HUBSPOT_DEFINED association type id) to link.
            marker: The token that makes this create recognisable.
            maybe_sent_at: When an earlier attempt may have reached HubSpot (``time.time()``
                of a send whose answer never came, e.g. before a crash), else None: then
                HubSpot is searched for the marker before anything is sent.
        """
        from hubspot.crm.objects import (
            AssociationSpec,
            PublicAssociationsForObject,
            PublicObjectId,
            SimplePublicObjectInputForCreate,
        )

        body = SimplePublicObjectInputForCreate(
            properties={**properties, MARKER_PROPERTY: marker},
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=to_id),
                    types=[
                        AssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=type_id
                        )
                    ],
                )
                for to_id, type_id in associations
            ],
        )
        api = self._client.crm.objects.basic_api
        unknown_since = maybe_sent_at

        # One attempt of the client's retried call: look for the marker first whenever an
        # earlier send may have got through, and never send blind after such a send.
        def request() -> tuple[str, int, Mapping[str, str]]:
            nonlocal unknown_since
            if unknown_since is not None:
                self._settle(unknown_since)
                found = self.find_by_marker(object_type, marker)
                if found is not None:
                    return found, 200, {}
            sent_at = time.time()
            try:
                data, status, headers = api.create_with_http_info(
                    object_type, body, _request_timeout=REQUEST_TIMEOUT
                )
            except Exception as error:
                code = getattr(error, "status", None)
                if code is None or int(code) >= 500:
                    unknown_since = sent_at  # it may have been created all the same
                raise
            return str(data.id), status, headers

        return self._call(request)

    def _settle(self, sent_at: float, clock: Callable[[], float] = time.time) -> None:
        wait = sent_at + self.search_settle_seconds - clock()
        if wait > 0:
            self.limiter.sleep(wait)
