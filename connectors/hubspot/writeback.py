"""The outbox worker's core: send queued writes to HubSpot, in order per record, once.

- **Order and one replica per record**: ``storage.outbox.claim`` leases a record's oldest
  open row; the rows after it wait until it is sent, failed or decided.
- **Creates exactly once**: ``sending_since`` is committed before a create goes out; the
  HubSpot id is stored with the local record and the row in one commit. A create whose
  outcome is unknown (crash, timeout, 5xx) is looked up by its marker before it is sent
  again (``WritingClient.create_once``).
- **No lost updates**: before an update, the record is read; a field whose HubSpot value
  differs from what the user saw (and from the new value) is a conflict: nothing is
  written, the local copy is refreshed from HubSpot and the row waits for the user.
- **Failures**: 429, 5xx and timeouts are retried inside the rate limiter (the client);
  still failing, the row is tried again later with a growing pause. A refusal for good
  (validation, missing scope, deleted record) fails the row with a plain reason and the
  local copy returns to HubSpot's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from connectors.hubspot import outbound, writes
from connectors.hubspot.api import HubSpotError
from connectors.hubspot.limits import BudgetSpent
from connectors.hubspot.objects import BY_NAME
from connectors.hubspot.sync import Syncer
from connectors.hubspot.write_api import CurrentRecord, Rejected, WritingClient
from storage.models import (
    Activity,
    Deal,
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
)
from storage.outbox import claim

logger = logging.getLogger(__name__)

# A replica keeps the records it claimed this long; a crashed one's claims run out.
CLAIM_TTL = timedelta(minutes=10)
# Transient failures that outlast the client's own retries: try again after this, doubling.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# After this many rounds of transient failures the row fails for good.
MAX_ROUNDS = 12

Touched = tuple[OwnedObject, int]


@dataclass
class Delivered:
    """What one pass of the worker did; ``notify`` rows need a word to their user."""

    sent: int = 0
    conflicts: int = 0
    failed: int = 0
    retrying: int = 0
    touched: list[Touched] = field(default_factory=list)
    notify: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.conflicts + self.failed + self.retrying


class _Conflict(Exception):
    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__("changed in HubSpot")
        self.detail = detail


class OutboxSender:
    """Sends claimed outbox rows to one portal."""

    def __init__(
        self,
        engine: Engine,
        api: WritingClient,
        *,
        holder: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.api = api
        self.holder = holder
        self.clock = clock
        self._dispositions: dict[str, str] | None = None

    def deliver(self, *, limit: int = 100, max_rows: int | None = None) -> Delivered:
        """Send everything that is due, batch after batch, until nothing is left."""
        report = Delivered()
        while max_rows is None or report.handled < max_rows:
            with Session(self.engine) as session:
                rows = claim(
                    session, holder=self.holder, now=self.clock(), ttl=CLAIM_TTL, limit=limit
                )
                ids = [r.id for r in rows]
                session.commit()
            if not ids:
                return report
            for row_id in ids:
                self.send(row_id, report)
        return report

    # One row --------------------------------------------------------------------------

    def send(self, row_id: int, report: Delivered) -> None:
        try:
            self._send(row_id, report)
        except BudgetSpent as spent:
            self._retry_later(row_id, f"HubSpot's daily API limit is used up ({spent})", report)
        except Rejected as refusal:
            self._fail(row_id, refusal, report)
        except _Conflict as conflict:
            self._conflict(row_id, conflict.detail, report)
        except HubSpotError as error:
            self._retry_later(row_id, str(error), report)

    def _send(self, row_id: int, report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            if row is None or row.state is not OutboxState.PENDING:
                return
            # The user was told it was not saved (and saw the CRM's values again): now
            # that it goes through, their copy follows and they hear of it.
            told = row.notified_at is not None
            object_type = outbound.object_type_of(row.record_kind)
            if object_type is None:
                self._finish(session, row, OutboxState.DISCARDED, "HubSpot has no such record")
                return
            if row.operation is OutboxOperation.CREATE:
                self._create(session, row, object_type)
            elif row.operation is OutboxOperation.DELETE:
                crm_id = _crm_id(session, row)
                if crm_id is not None:
                    self.api.archive(object_type, crm_id)
                self._finish(session, row, OutboxState.SENT)
            else:
                self._update(session, row, object_type)
            report.sent += 1
            if told:
                report.touched += self._refresh(session, row)
                report.notify.append(row.id)

    def _create(self, session: Session, row: OutboxWrite, object_type: str) -> None:
        built = outbound.new_record(session, row.record_kind, row.object_id)
        if built is None:
            self._finish(session, row, OutboxState.DISCARDED, "deleted before it reached HubSpot")
            return
        values, links = built
        properties = self._properties(session, row.record_kind, values)
        maybe_sent = row.sending_since
        if maybe_sent is None:
            # Committed before the request: after a crash, the next try looks first.
            row.sending_since = self.clock()
            session.commit()
        assert row.marker is not None
        crm_id = self.api.create_once(
            object_type,
            properties,
            links,
            marker=row.marker,
            maybe_sent_at=maybe_sent.timestamp() if maybe_sent is not None else None,
        )
        # The id is recorded with the local record and the row in one commit.
        model = Deal if row.object_type is OwnedObject.DEAL else Activity
        ours = session.scalar(select(model.external_id).where(model.id == row.object_id))
        if ours is not None and ours != crm_id:
            # A sync that read the new record before this commit made a copy of it: the
            # copy's links move to the record the user created, and the copy goes.
            section = "deals" if model is Deal else "activities"
            writes.merge_records(session, section, ours, [crm_id], now=self.clock())
        session.execute(update(model).where(model.id == row.object_id).values(external_id=crm_id))
        row.crm_id = crm_id
        self._finish(session, row, OutboxState.SENT)

    def _update(self, session: Session, row: OutboxWrite, object_type: str) -> None:
        crm_id = _crm_id(session, row)
        if crm_id is None:
            raise Rejected(404, "NEVER_CREATED", "the record never reached HubSpot")
        _type, fields = outbound.FIELDS[row.record_kind]
        wanted = {name: fields[name] for name in row.fields if name in fields}
        if not wanted:
            self._finish(session, row, OutboxState.SENT)
            return
        props = sorted({f.prop for f in wanted.values()})
        current = self.api.read(object_type, crm_id, properties=props, history=True)
        if current is None:
            raise Rejected(404, "OBJECT_NOT_FOUND", "the record was deleted in HubSpot")
        to_send: dict[str, Any] = {}
        clashes: dict[str, Any] = {}
        for name, spec in wanted.items():
            theirs = self._from_crm(
                session, row.record_kind, name, current.properties.get(spec.prop)
            )
            mine = self._normal(session, row.record_kind, name, row.fields[name])
            if theirs == mine:
                continue  # already so (a resend after a crash, or the same change made twice)
            seen = self._normal(session, row.record_kind, name, row.seen.get(name))
            if row.force or theirs == seen:
                to_send[name] = row.fields[name]
            else:
                clashes[name] = self._clash(current, spec.prop, theirs)
        if clashes:
            raise _Conflict(clashes)
        if to_send:
            self.api.update(
                object_type, crm_id, self._properties(session, row.record_kind, to_send)
            )
        self._finish(session, row, OutboxState.SENT)

    # Values ---------------------------------------------------------------------------

    def dispositions(self) -> dict[str, str]:
        """GUID → label of the portal's call outcomes (read once per worker)."""
        if self._dispositions is None:
            self._dispositions = self.api.call_dispositions()
        return self._dispositions

    def _properties(self, session: Session, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        properties = outbound.to_properties(session, kind, values)
        if kind == "call" and "hs_call_disposition" in properties:
            label = properties["hs_call_disposition"]
            guids = {v.lower(): k for k, v in self.dispositions().items()}
            if label is not None and label.lower() not in guids:
                raise Rejected(400, "VALIDATION_ERROR", f"HubSpot has no call outcome '{label}'")
            properties["hs_call_disposition"] = guids.get(label.lower()) if label else None
        return properties

    def _from_crm(self, session: Session, kind: str, name: str, value: str | None) -> Any:
        if kind == "call" and name == "outcome" and value:
            value = self.dispositions().get(value, value)
        return outbound.FIELDS[kind][1][name].from_crm(session, value)

    def _normal(self, session: Session, kind: str, name: str, value: Any) -> Any:
        """A JSON value as it comes back from HubSpot (so like compares with like)."""
        spec = outbound.FIELDS[kind][1][name]
        return spec.from_crm(session, spec.to_crm(session, value))

    def _clash(self, current: CurrentRecord, prop: str, theirs: Any) -> dict[str, Any]:
        change = current.last_change(prop)
        owner_id = None
        if change is not None and change.user_id is not None:
            owner_id = self.api.owner_of_user(change.user_id)
        return {
            "theirs": theirs,
            "at": change.at.isoformat() if change is not None else None,
            "by_owner": owner_id,
            "source": change.source if change is not None else None,
        }

    # Outcomes -------------------------------------------------------------------------

    def _finish(
        self, session: Session, row: OutboxWrite, state: OutboxState, error: str | None = None
    ) -> None:
        row.state = state
        row.last_error = error
        row.claimed_by = row.claimed_until = None
        if state is OutboxState.SENT:
            row.sent_at = self.clock()
        session.commit()

    def _conflict(self, row_id: int, detail: dict[str, Any], report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            assert row is not None
            row.conflict = detail
            row.notified_at = None
            self._finish(session, row, OutboxState.CONFLICT, "changed in HubSpot since you saw it")
            report.touched += self._refresh(session, row)
        report.conflicts += 1
        report.notify.append(row_id)

    def _fail(self, row_id: int, refusal: Rejected, report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            assert row is not None
            self._finish(session, row, OutboxState.FAILED, refusal.reason)
            # The local copy returns to HubSpot's state (a create stays, marked not saved,
            # so that Retry has something to send once the cause is fixed).
            if row.operation is not OutboxOperation.CREATE:
                report.touched += self._refresh(session, row)
        report.failed += 1
        report.notify.append(row_id)

    def _retry_later(self, row_id: int, reason: str, report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            assert row is not None
            row.attempts = (row.attempts or 0) + 1
            if row.attempts >= MAX_ROUNDS:
                self._finish(
                    session,
                    row,
                    OutboxState.FAILED,
                    f"HubSpot did not take it after {row.attempts} tries: {reason}",
                )
                report.failed += 1
                report.notify.append(row_id)
                return
            pause = min(RETRY_FIRST * 2 ** (row.attempts - 1), RETRY_MAX)
            row.next_attempt_at = self.clock() + pause
            row.last_error = f"retrying: {reason}"
            row.claimed_by = row.claimed_until = None
            session.commit()
        logger.warning("hubspot write-back: row %s retried later: %s", row_id, reason)
        report.retrying += 1

    def _refresh(self, session: Session, row: OutboxWrite) -> list[Touched]:
        """Bring the local record back to what HubSpot holds (or remove it, if gone)."""
        crm_id = _crm_id(session, row)
        object_type = outbound.object_type_of(row.record_kind)
        if crm_id is None or object_type is None or object_type not in BY_NAME:
            return []
        kind = BY_NAME[object_type]
        syncer = Syncer(self.engine, self.api, clock=self.clock)
        try:
            found = syncer.read(kind, [crm_id])
            if found:
                syncer.write(kind, found)
            else:
                syncer.delete(kind, [crm_id])
        except HubSpotError:
            logger.exception("hubspot write-back: could not refresh %s %s", object_type, crm_id)
        syncer.log_problems()
        return syncer.result.touched


def _crm_id(session: Session, row: OutboxWrite) -> str | None:
    """The record's HubSpot id: the local record's, else its create's, else the row's."""
    model = Deal if row.object_type is OwnedObject.DEAL else Activity
    external_id = session.scalar(select(model.external_id).where(model.id == row.object_id))
    if external_id is None:
        external_id = session.scalar(
            select(OutboxWrite.crm_id).where(
                OutboxWrite.object_type == row.object_type,
                OutboxWrite.object_id == row.object_id,
                OutboxWrite.operation == OutboxOperation.CREATE,
                OutboxWrite.crm_id.is_not(None),
            )
        )
    external_id = external_id or row.external_id
    return external_id if external_id and external_id.isdigit() else None
