"""The outbox worker's core: send queued writes to HubSpot, in order per record, once.

- **Order and one replica per record**: ``storage.outbox.claim`` leases a record's oldest
  open row; the rows after it wait until it is sent, failed or decided.
- **Creates exactly once**: ``sending_since`` is committed before a create goes out; the
  HubSpot id is stored with the local record and the row in one commit. A create whose
  outcome is unknown (crash, timeout, 5xx) is looked up by its marker before it is sent
  again (``WritingClient.create_many``); one refused because its marker is taken (a unique
  ``salesbot_id``) was made before, and the record holding it is recorded.
- **Batches of creates**: the creates claimed together go 100 to a ``batch/create`` per
  object type, matched back by marker; one the batch did not create (HubSpot's 207), and
  every create of a batch refused as a whole, is sent alone, so it fails or lands by itself.
- **No lost updates**: before an update, the record is read; a field whose HubSpot value
  differs from what the user saw (and from the new value) is a conflict: nothing is
  written, the local copy is refreshed from HubSpot and the row waits for the user.
- **Batches**: the updates claimed together (one row per record: the oldest open one) are
  read with one batch read and sent with one batch update per object type, 100 at a time.
  A row the batch could not settle (a record HubSpot did not return or confirm, a batch
  refused as a whole) goes the single way (read, then PATCH), so one bad row never holds
  up or loses the others.
- **Who acted**: with ``actor_types`` set, each create and update also writes the acting
  user's name into ``salesbot_acted_by`` (same request), so HubSpot's property history
  names the person next to the app.
- **Failures**: 429, 5xx and timeouts are retried inside the rate limiter (the client);
  still failing, the row is tried again later with a growing pause. A refusal for good
  (validation, missing scope, deleted record) fails the row with a plain reason and the
  local copy returns to HubSpot's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from connectors.hubspot import outbound, writes
from connectors.hubspot.account import WriteGate, gate_writes
from connectors.hubspot.api import HubSpotError
from connectors.hubspot.limits import BudgetSpent
from connectors.hubspot.objects import BY_NAME
from connectors.hubspot.sync import Syncer
from connectors.hubspot.write_api import (
    ACTOR_PROPERTY,
    ACTOR_PROPERTY_MISSING,
    BATCH_SIZE,
    CurrentRecord,
    NewRecord,
    Rejected,
    WritingClient,
)
from storage.models import (
    Activity,
    Deal,
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
    WriteReason,
)
from storage.outbox import any_due, claim

logger = logging.getLogger(__name__)

# A replica keeps the records it claimed this long; a crashed one's claims run out.
CLAIM_TTL = timedelta(minutes=10)
# Rows claimed together (one per record): 5 batches of 100. One claim per round of writes
# instead of one per batch (a claim's query is the costliest statement of a round).
CLAIM_LIMIT = 5 * BATCH_SIZE
# Transient failures that outlast the client's own retries: try again after this, doubling.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# After this many rounds of transient failures the row fails for good.
MAX_ROUNDS = 12
# While the token's portal cannot be confirmed, it is asked again after this.
PORTAL_RECHECK = timedelta(seconds=30)

Touched = tuple[OwnedObject, int]
T = TypeVar("T")


@dataclass
class Delivered:
    """What one pass of the worker did; ``notify`` rows need a word to their user."""

    sent: int = 0
    conflicts: int = 0
    failed: int = 0
    retrying: int = 0
    touched: list[Touched] = field(default_factory=list)
    notify: list[int] = field(default_factory=list)
    # Records a create found deleted in HubSpot: (object type, HubSpot id) -> name. They go
    # here too once the pass is over, so that every create linked to one says so.
    gone: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return self.sent + self.conflicts + self.failed + self.retrying


class _Conflict(Exception):
    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__("changed in HubSpot")
        self.detail = detail


@dataclass(frozen=True)
class _Planned:
    """An update row ready for a batch: its record's HubSpot id and the fields it writes."""

    row_id: int
    crm_id: str
    wanted: dict[str, outbound.Field]


@dataclass(frozen=True)
class _Ready:
    """A create row ready for a batch: what to send, and when an earlier send may have
    gone out (None: never sent)."""

    record: NewRecord
    sending_since: datetime | None


@dataclass
class _Sorted:
    """Where each row of a batch of updates goes."""

    done: list[int] = field(default_factory=list)  # HubSpot holds it: sent
    single: list[int] = field(default_factory=list)  # to send alone (read, then PATCH)
    failed: list[tuple[int, Rejected]] = field(default_factory=list)
    to_send: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # crm id ->


class OutboxSender:
    """Sends claimed outbox rows to one portal."""

    def __init__(
        self,
        engine: Engine,
        api: WritingClient,
        *,
        holder: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        actor_types: frozenset[str] = frozenset(),
        unique_types: frozenset[str] = frozenset(),
    ) -> None:
        """
        Args:
            actor_types: The object types whose records get ``salesbot_acted_by`` (the
                types where the portal has the property; empty: attribution off).
            unique_types: The object types where ``salesbot_id`` is a unique property
                (``SetupCheck.unique_types``): a create's marker is read back exactly and
                at once, and a resend HubSpot refuses as taken was made before.
        """
        self.engine = engine
        self.api = api
        self.holder = holder
        self.clock = clock
        self.actor_types = actor_types
        self.unique_types = unique_types
        self._dispositions: dict[str, str] | None = None
        self._names: dict[int, str] = {}  # user id -> name, for this pass
        # Nothing is sent before the token's portal is confirmed (``gate_writes``).
        self.portal: WriteGate | None = None
        self._portal_again = clock()

    def portal_open(self) -> bool:
        """Whether this token's portal is the store's; asks HubSpot until it knows (and
        only once there is something to send)."""
        if self.portal is not None and (self.portal.open or self.portal.final):
            return self.portal.open
        if self.portal is not None and self.clock() < self._portal_again:
            return False
        with Session(self.engine) as session:
            if not any_due(session, now=self.clock()):
                return False
        gate = gate_writes(self.engine, self.api, now=self.clock())
        if gate.reason != (self.portal.reason if self.portal else None) and gate.reason:
            level = logging.ERROR if gate.final else logging.WARNING
            logger.log(level, "hubspot write-back: %s", gate.reason)
        self.portal = gate
        self._portal_again = self.clock() + PORTAL_RECHECK
        return gate.open

    def deliver(self, *, limit: int = CLAIM_LIMIT, max_rows: int | None = None) -> Delivered:
        """Send everything that is due, batch after batch, until nothing is left."""
        if not self.portal_open():
            return Delivered()  # the rows stay pending, unclaimed
        return self._deliver_due(limit, max_rows)

    def _deliver_due(self, limit: int, max_rows: int | None) -> Delivered:
        report = Delivered()
        self._names.clear()  # a renamed user is named anew in the next pass
        while max_rows is None or report.handled < max_rows:
            with Session(self.engine) as session:
                rows = claim(
                    session, holder=self.holder, now=self.clock(), ttl=CLAIM_TTL, limit=limit
                )
                work = [(r.id, r.operation, outbound.object_type_of(r.record_kind)) for r in rows]
                session.commit()
            if not work:
                break
            updates: dict[str, list[int]] = {}
            creates: dict[str, list[int]] = {}
            for row_id, operation, object_type in work:
                if operation is OutboxOperation.UPDATE and object_type is not None:
                    updates.setdefault(object_type, []).append(row_id)
                elif operation is OutboxOperation.CREATE and object_type is not None:
                    creates.setdefault(object_type, []).append(row_id)
                else:
                    self.send(row_id, report)
            for object_type, row_ids in creates.items():
                for start in range(0, len(row_ids), BATCH_SIZE):
                    self.send_creates(object_type, row_ids[start : start + BATCH_SIZE], report)
            for object_type, row_ids in updates.items():
                for start in range(0, len(row_ids), BATCH_SIZE):
                    self.send_updates(object_type, row_ids[start : start + BATCH_SIZE], report)
        self._forget_gone(report)
        return report

    # A batch of creates -----------------------------------------------------------------

    def send_creates(self, object_type: str, row_ids: list[int], report: Delivered) -> None:
        """Up to 100 creates of one object type: one ``batch/create``; what it did not
        create goes alone."""
        if len(row_ids) == 1:
            self.send(row_ids[0], report)
            return
        ready = self._prepare_creates(object_type, row_ids, report)
        if not ready:
            return
        maybe_sent = [r.sending_since for r in ready.values() if r.sending_since is not None]
        try:
            created = self.api.create_many(
                object_type,
                [r.record for r in ready.values()],
                maybe_sent_at=max(maybe_sent).timestamp() if maybe_sent else None,
                unique=object_type in self.unique_types,
            )
        except (BudgetSpent, HubSpotError) as error:
            # Still unknown after the client's retries: each row keeps ``sending_since`` and
            # is looked up before it is sent again.
            for row_id in ready:
                self._settle(row_id, error, report)
            return
        markers = {row_id: r.record.marker for row_id, r in ready.items()}
        # Found or created: recorded whatever happened to the others.
        self._record_created(
            {row_id: created.ids[m] for row_id, m in markers.items() if m in created.ids}, report
        )
        rest = [row_id for row_id, m in markers.items() if m not in created.ids]
        if created.refused is not None and created.refused.status == 403:
            for row_id in rest:  # a missing scope refuses every row alike
                self._fail(row_id, created.refused, report)
            return
        if not created.unaccounted:
            # HubSpot answered for each of these first sends (refused as a whole, or a
            # 207's error): not created, so sent alone they need no look first.
            self._not_sent([row_id for row_id in rest if ready[row_id].sending_since is None])
        for row_id in rest:
            self.send(row_id, report)

    def _prepare_creates(
        self, object_type: str, row_ids: list[int], report: Delivered
    ) -> dict[int, _Ready]:
        """Each pending create's record, and ``sending_since`` committed (one commit for the
        batch) before anything is sent: after a crash, the next try looks first."""
        ready: dict[int, _Ready] = {}
        gone: list[int] = []
        failed: list[tuple[int, Rejected]] = []
        single: list[int] = []
        now = self.clock()
        with Session(self.engine) as session:
            rows = _load(session, row_ids)
            kind = rows[0].record_kind if rows else ""
            # The batch's records and links in a few queries, not a few per row.
            local = [r.object_id for r in rows]
            model = Deal if kind == "deal" else Activity
            list(session.scalars(select(model).where(model.id.in_(local))))
            linked = outbound.links_of(session, kind, local)
            for row in rows:
                if row.state is not OutboxState.PENDING:
                    continue
                built = outbound.new_record(session, row.record_kind, row.object_id, linked)
                if built is None:
                    gone.append(row.id)
                    continue
                values, links = built
                try:
                    properties = self._properties(session, row.record_kind, values)
                except Rejected as refusal:
                    failed.append((row.id, refusal))
                    continue
                except HubSpotError:
                    single.append(row.id)  # (dispositions unreadable)
                    continue
                self._sign(session, row, object_type, properties)
                assert row.marker is not None
                since = row.sending_since
                if since is None:
                    row.sending_since = now
                record = NewRecord(row.marker, properties, links, maybe_sent=since is not None)
                ready[row.id] = _Ready(record, since)
            for row in _load(session, gone):
                self._mark(row, OutboxState.DISCARDED, "deleted before it reached HubSpot")
            session.commit()
        for row_id, reason in failed:
            self._fail(row_id, reason, report)
        for row_id in single:
            self.send(row_id, report)
        return ready

    def _not_sent(self, row_ids: list[int]) -> None:
        """HubSpot answered that these creates were not made: a resend need not look first."""
        if not row_ids:
            return
        with Session(self.engine) as session:
            session.execute(
                update(OutboxWrite)
                .where(OutboxWrite.id.in_(row_ids))
                .values(sending_since=None)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def _record_created(self, crm_ids: dict[int, str], report: Delivered) -> None:
        """Store each new record's HubSpot id with its local record and its row: SENT, in one
        commit."""
        if not crm_ids:
            return
        with Session(self.engine) as session:
            rows = _load(session, list(crm_ids))
            for model, owned, section in (
                (Activity, OwnedObject.ACTIVITY, "activities"),
                (Deal, OwnedObject.DEAL, "deals"),
            ):
                mine = [r for r in rows if r.object_type is owned]
                # A sync may have copied a new record before this commit: those fold (rare).
                copied = writes.row_ids(session, section, [crm_ids[r.id] for r in mine])
                for row in mine:
                    if crm_ids[row.id] in copied:
                        self._adopt(session, row, crm_ids[row.id])
                plain = [r for r in mine if crm_ids[r.id] not in copied]
                if plain:
                    table: Table = model.__table__  # type: ignore[assignment]
                    session.connection().execute(
                        update(table)
                        .where(table.c.id == bindparam("_id"))
                        .values(external_id=bindparam("_crm")),
                        [{"_id": r.object_id, "_crm": crm_ids[r.id]} for r in plain],
                    )
            for row in rows:
                row.crm_id = crm_ids[row.id]
                self._mark(row, OutboxState.SENT)
            session.commit()
            for row in rows:
                if row.notified_at is not None:
                    report.touched += self._refresh(session, row)
                    report.notify.append(row.id)
        report.sent += len(crm_ids)

    # A batch of updates -----------------------------------------------------------------

    def send_updates(self, object_type: str, row_ids: list[int], report: Delivered) -> None:
        """Up to 100 updates of one object type (distinct records): one batch read, one
        batch update; what the batch cannot settle goes the single way."""
        sorted_rows = _Sorted()
        planned = self._plan(row_ids, sorted_rows)
        if planned:
            props = sorted({spec.prop for p in planned for spec in p.wanted.values()})
            try:
                current = self.api.read_many(
                    object_type, [p.crm_id for p in planned], properties=props
                )
            except (BudgetSpent, HubSpotError) as error:
                self._batch_failed([p.row_id for p in planned], error, sorted_rows, report)
            else:
                self._compare_all(object_type, planned, current, sorted_rows)
        if sorted_rows.to_send:
            self._update_all(object_type, sorted_rows, report)
        self._finish_sent(sorted_rows.done, report)
        for row_id, refusal in sorted_rows.failed:
            self._fail(row_id, refusal, report)
        for row_id in sorted_rows.single:
            self.send(row_id, report)

    def _plan(self, row_ids: list[int], sorted_rows: _Sorted) -> list[_Planned]:
        planned: list[_Planned] = []
        with Session(self.engine) as session:
            rows = _load(session, row_ids)
            known = _external_ids(session, rows)
            for row in rows:
                if row.state is not OutboxState.PENDING:
                    continue
                row_id = row.id
                crm_id = known.get(row_id) or _crm_id(session, row)
                wanted = _wanted(row)
                if crm_id is None or not wanted:
                    sorted_rows.single.append(row_id)  # the single way settles these plainly
                else:
                    planned.append(_Planned(row_id, crm_id, wanted))
        return planned

    def _compare_all(
        self,
        object_type: str,
        planned: list[_Planned],
        current: dict[str, Any],
        sorted_rows: _Sorted,
    ) -> None:
        with Session(self.engine) as session:
            rows = {row.id: row for row in _load(session, [p.row_id for p in planned])}
            for plan in planned:
                row = rows[plan.row_id]
                if plan.crm_id not in current:
                    # Deleted or merged in HubSpot: the single read says which.
                    sorted_rows.single.append(plan.row_id)
                    continue
                try:
                    to_send, clashes = self._compare(
                        session, row, plan.wanted, current[plan.crm_id]
                    )
                    if clashes:
                        # The single way reads the history that says who changed it, when.
                        sorted_rows.single.append(plan.row_id)
                    elif not to_send:
                        sorted_rows.done.append(plan.row_id)
                    else:
                        properties = self._properties(session, row.record_kind, to_send)
                        self._sign(session, row, object_type, properties)
                        sorted_rows.to_send[plan.crm_id] = (plan.row_id, properties)
                except Rejected as refusal:
                    sorted_rows.failed.append((plan.row_id, refusal))
                except HubSpotError:
                    sorted_rows.single.append(plan.row_id)  # (dispositions unreadable)

    def _update_all(self, object_type: str, sorted_rows: _Sorted, report: Delivered) -> None:
        batch = sorted_rows.to_send
        try:
            confirmed = self.api.update_many(
                object_type, {crm_id: props for crm_id, (_row, props) in batch.items()}
            )
        except Rejected as refusal:
            if refusal.status == 403:  # a missing scope refuses every row alike
                sorted_rows.failed += [(row_id, refusal) for row_id, _props in batch.values()]
                return
            confirmed = set()  # refused as a whole for one bad row: each goes alone
        except (BudgetSpent, HubSpotError) as error:
            self._batch_failed(
                [row_id for row_id, _p in batch.values()], error, sorted_rows, report
            )
            return
        for crm_id, (row_id, _props) in batch.items():
            (sorted_rows.done if crm_id in confirmed else sorted_rows.single).append(row_id)

    def _batch_failed(
        self, row_ids: list[int], error: Exception, sorted_rows: _Sorted, report: Delivered
    ) -> None:
        """A batch request failed: a refusal sends each row alone (one bad row must not
        stop the rest); HubSpot down or the budget spent: every row waits."""
        if isinstance(error, Rejected) and error.status != 403:
            sorted_rows.single += row_ids
        elif isinstance(error, Rejected):
            sorted_rows.failed += [(row_id, error) for row_id in row_ids]
        else:
            for row_id in row_ids:
                self._settle(row_id, error, report)

    def _finish_sent(self, row_ids: list[int], report: Delivered) -> None:
        """Rows HubSpot now holds: SENT, in one commit."""
        if not row_ids:
            return
        with Session(self.engine) as session:
            told = list(
                session.scalars(
                    select(OutboxWrite.id).where(
                        OutboxWrite.id.in_(row_ids), OutboxWrite.notified_at.is_not(None)
                    )
                )
            )
            # One statement for the batch (an ORM flush updated row by row).
            session.execute(
                update(OutboxWrite)
                .where(OutboxWrite.id.in_(row_ids))
                .values(
                    state=OutboxState.SENT,
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                    sent_at=self.clock(),
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
            for row in _load(session, told):
                report.touched += self._refresh(session, row)
                report.notify.append(row.id)
        report.sent += len(row_ids)

    # One row --------------------------------------------------------------------------

    def send(self, row_id: int, report: Delivered) -> None:
        try:
            self._send(row_id, report)
        except (HubSpotError, _Conflict) as error:
            self._settle(row_id, error, report)

    def _settle(self, row_id: int, error: Exception, report: Delivered) -> None:
        """What a failed send means for its row."""
        if isinstance(error, BudgetSpent):
            self._retry_later(
                row_id,
                f"HubSpot's daily API limit is used up ({error})",
                report,
                cause={"code": WriteReason.BUDGET_SPENT.value, "values": {"detail": str(error)}},
            )
        elif isinstance(error, Rejected):
            self._fail(row_id, error, report)
        elif isinstance(error, _Conflict):
            self._conflict(row_id, error.detail, report)
        else:
            self._retry_later(row_id, str(error), report, cause={"values": {"detail": str(error)}})

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
                self._create(session, row, object_type, report)
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

    def _create(
        self, session: Session, row: OutboxWrite, object_type: str, report: Delivered
    ) -> None:
        built = outbound.new_record(session, row.record_kind, row.object_id)
        if built is None:
            self._finish(session, row, OutboxState.DISCARDED, "deleted before it reached HubSpot")
            return
        values, links = built
        properties = self._properties(session, row.record_kind, values)
        self._sign(session, row, object_type, properties)
        maybe_sent = row.sending_since
        if maybe_sent is None:
            # Committed before the request: after a crash, the next try looks first.
            row.sending_since = self.clock()
            session.commit()
        assert row.marker is not None
        marker = row.marker

        def create(links: list[tuple[str, int]]) -> str:
            return self._unsigned_if_refused(
                object_type,
                properties,
                lambda props: self.api.create_once(
                    object_type,
                    props,
                    links,
                    marker=marker,
                    maybe_sent_at=maybe_sent.timestamp() if maybe_sent is not None else None,
                    unique=object_type in self.unique_types,
                ),
            )

        # A record it is linked to was deleted in HubSpot: the create could never succeed.
        # It goes without those links, and its user is told which.
        gone = [g for g in outbound.linked(session, links) if (g[0], g[1]) in report.gone]
        known = {crm_id for _type, crm_id, _name in gone}
        try:
            crm_id = create([link for link in links if link[0] not in known])
        except Rejected as refusal:
            gone = self._gone_links(session, links, refusal)
            if not gone:
                raise
            gone_ids = {crm_id for _type, crm_id, _name in gone}
            crm_id = create([link for link in links if link[0] not in gone_ids])
        # The id is recorded with the local record and the row in one commit.
        self._adopt(session, row, crm_id)
        if not gone:
            self._finish(session, row, OutboxState.SENT)
            return
        names = [name for _type, _id, name in gone]
        self._finish(
            session,
            row,
            OutboxState.SENT,
            f"created without its links to {', '.join(names)}: deleted in HubSpot",
            WriteReason.LINKS_GONE,
            {"names": names},
        )
        report.gone.update({(object_type, crm_id): name for object_type, crm_id, name in gone})
        report.notify.append(row.id)

    def _adopt(self, session: Session, row: OutboxWrite, crm_id: str) -> None:
        """The local record of a create row takes the HubSpot id of the record made for it."""
        model = Deal if row.object_type is OwnedObject.DEAL else Activity
        ours = session.scalar(select(model.external_id).where(model.id == row.object_id))
        if ours is not None and ours != crm_id:
            # A sync that read the new record before this commit made a copy of it: the
            # copy's links move to the record the user created, and the copy goes.
            section = "deals" if model is Deal else "activities"
            writes.merge_records(session, section, ours, [crm_id], now=self.clock())
        session.execute(update(model).where(model.id == row.object_id).values(external_id=crm_id))
        row.crm_id = crm_id

    def _gone_links(
        self, session: Session, links: list[tuple[str, int]], refusal: Rejected
    ) -> list[tuple[str, str, str]]:
        """The links of a refused create whose records HubSpot no longer has."""
        if refusal.status not in (400, 404) or not links:
            return []
        gone = []
        for object_type, crm_id, name in outbound.linked(session, links):
            if self.api.read(object_type, crm_id, properties=[], history=False) is None:
                gone.append((object_type, crm_id, name))
        return gone

    def _forget_gone(self, report: Delivered) -> None:
        """Records found deleted in HubSpot go here too (with tombstones), as a sync would."""
        if not report.gone:
            return
        syncer = Syncer(self.engine, self.api, clock=self.clock)
        for object_type, crm_id in report.gone:
            if object_type in BY_NAME:
                syncer.delete(BY_NAME[object_type], [crm_id])
        report.touched += syncer.result.touched

    def _update(self, session: Session, row: OutboxWrite, object_type: str) -> None:
        crm_id = _crm_id(session, row)
        if crm_id is None:
            raise Rejected(
                404,
                "NEVER_CREATED",
                "the record never reached HubSpot",
                WriteReason.NEVER_REACHED,
            )
        wanted = _wanted(row)
        if not wanted:
            self._finish(session, row, OutboxState.SENT)
            return
        props = sorted({f.prop for f in wanted.values()})
        current = self.api.read(object_type, crm_id, properties=props, history=True)
        if current is None:
            raise Rejected(
                404, "OBJECT_NOT_FOUND", "the record was deleted in HubSpot", WriteReason.DELETED
            )
        to_send, clashes = self._compare(session, row, wanted, current.properties)
        if clashes:
            raise _Conflict(
                {
                    name: self._clash(current, wanted[name].prop, theirs)
                    for name, theirs in clashes.items()
                }
            )
        if to_send:
            properties = self._properties(session, row.record_kind, to_send)
            self._sign(session, row, object_type, properties)
            self._unsigned_if_refused(
                object_type, properties, lambda props: self.api.update(object_type, crm_id, props)
            )
        self._finish(session, row, OutboxState.SENT)

    def _unsigned_if_refused(
        self, object_type: str, properties: dict[str, Any], send: Callable[[dict[str, Any]], T]
    ) -> T:
        """Send; refused only because ``salesbot_acted_by`` is gone from the portal (deleted
        since the start-up check), send again without it: naming who acted never blocks a
        change."""
        try:
            return send(properties)
        except Rejected as refusal:
            if refusal.category != ACTOR_PROPERTY_MISSING or ACTOR_PROPERTY not in properties:
                raise
        logger.warning(
            "hubspot write-back: %s lost the property %s; changes there no longer name who "
            "acted (run `salesbot hubspot setup`)",
            object_type,
            ACTOR_PROPERTY,
        )
        self.actor_types = self.actor_types - {object_type}
        return send({k: v for k, v in properties.items() if k != ACTOR_PROPERTY})

    def _compare(
        self,
        session: Session,
        row: OutboxWrite,
        wanted: dict[str, outbound.Field],
        current: Mapping[str, str | None],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(fields to send, fields changed in HubSpot since the user saw them: HubSpot's
        value) for one row against HubSpot's current values."""
        to_send: dict[str, Any] = {}
        clashes: dict[str, Any] = {}
        for name, spec in wanted.items():
            theirs = self._from_crm(session, row.record_kind, name, current.get(spec.prop))
            mine = self._normal(session, row.record_kind, name, row.fields[name])
            if theirs == mine:
                continue  # already so (a resend after a crash, or the same change made twice)
            seen = self._normal(session, row.record_kind, name, row.seen.get(name))
            if row.force or theirs == seen:
                to_send[name] = row.fields[name]
            else:
                clashes[name] = theirs
        return to_send, clashes

    def _sign(
        self, session: Session, row: OutboxWrite, object_type: str, properties: dict[str, Any]
    ) -> None:
        """Add who acted (``salesbot_acted_by``) where the portal has the property."""
        if object_type not in self.actor_types or row.actor_id is None:
            return
        name = self._names.get(row.actor_id)
        if name is None:
            name = session.scalar(select(User.name).where(User.id == row.actor_id)) or ""
            self._names[row.actor_id] = name
        if name:
            properties[ACTOR_PROPERTY] = name

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
                raise Rejected(
                    400,
                    "VALIDATION_ERROR",
                    f"HubSpot has no call outcome '{label}'",
                    WriteReason.NO_CALL_OUTCOME,
                    {"label": label},
                )
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
        self,
        session: Session,
        row: OutboxWrite,
        state: OutboxState,
        error: str | None = None,
        code: WriteReason | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        self._mark(row, state, error, code, values)
        session.commit()

    def _mark(
        self,
        row: OutboxWrite,
        state: OutboxState,
        error: str | None = None,
        code: WriteReason | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        row.state = state
        row.last_error = error
        row.reason_code = code.value if code is not None else None
        row.reason_values = values if code is not None else None
        row.claimed_by = row.claimed_until = None
        if state is OutboxState.SENT:
            row.sent_at = self.clock()

    def _conflict(self, row_id: int, detail: dict[str, Any], report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            assert row is not None
            row.conflict = detail
            row.notified_at = None
            self._finish(
                session,
                row,
                OutboxState.CONFLICT,
                "changed in HubSpot since you saw it",
                WriteReason.CHANGED_SINCE_SEEN,
            )
            report.touched += self._refresh(session, row)
        report.conflicts += 1
        report.notify.append(row_id)

    def _fail(self, row_id: int, refusal: Rejected, report: Delivered) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxWrite, row_id)
            assert row is not None
            self._finish(
                session, row, OutboxState.FAILED, refusal.reason, refusal.code, refusal.values
            )
            # The local copy returns to HubSpot's state (a create stays, marked not saved,
            # so that Retry has something to send once the cause is fixed).
            if row.operation is not OutboxOperation.CREATE:
                report.touched += self._refresh(session, row)
        report.failed += 1
        report.notify.append(row_id)

    def _retry_later(
        self, row_id: int, reason: str, report: Delivered, *, cause: dict[str, Any]
    ) -> None:
        """Try the row again later; after ``MAX_ROUNDS`` it fails, naming ``reason`` (its
        ``cause``: a ``WriteReason`` code and values, or a ``detail`` as written)."""
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
                    WriteReason.GAVE_UP,
                    {"attempts": row.attempts, "cause": cause},
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


def _wanted(row: OutboxWrite) -> dict[str, outbound.Field]:
    """The fields of an update row that HubSpot has a property for."""
    _type, fields = outbound.FIELDS[row.record_kind]
    return {name: fields[name] for name in row.fields if name in fields}


def _load(session: Session, row_ids: list[int]) -> list[OutboxWrite]:
    """Rows by id, in one query, in id order."""
    if not row_ids:
        return []
    query = select(OutboxWrite).where(OutboxWrite.id.in_(row_ids)).order_by(OutboxWrite.id)
    return list(session.scalars(query))


def _external_ids(session: Session, rows: list[OutboxWrite]) -> dict[int, str]:
    """Row id -> its record's HubSpot id, for the rows whose local record has one (one
    query per model; ``_crm_id`` looks further for the rest)."""
    found: dict[int, str] = {}
    for model, owned in ((Activity, OwnedObject.ACTIVITY), (Deal, OwnedObject.DEAL)):
        wanted = {r.object_id: r.id for r in rows if r.object_type is owned}
        if not wanted:
            continue
        query = select(model.id, model.external_id).where(model.id.in_(list(wanted)))
        for record_id, external_id in session.execute(query):
            if external_id and external_id.isdigit():
                found[wanted[record_id]] = external_id
    return found


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
