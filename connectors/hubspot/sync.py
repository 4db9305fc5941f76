"""Keeping the store in step with a HubSpot portal: full and incremental syncs.

A full sync lists every record of a type (100 a page) and resumes from its page token.
An incremental sync searches records modified since the cursor, sorted by id and paged by
``hs_object_id > last id`` inside one time window, so a bulk update that gives 12,000
records one timestamp never hits search's 10,000-result cap and never loops. Records are
written in groups of up to 1,000 (one v4 association call per target type covers them),
through the snapshot importer. The cursor is saved after each group: a crash or a spent
daily budget resumes there, re-reading the groups read but not yet written (writes are
idempotent). Several object types are read at once (``ahead``) while one thread writes,
stage by stage, so records land after the records they link to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import derived, mapping, sequences, writes
from connectors.hubspot.ahead import Ahead, FetchFailed, Source
from connectors.hubspot.api import (
    SEARCH_PAGE,
    Association,
    CrmObject,
    HubSpotApi,
    HubSpotError,
    MissingScope,
    SearchWindow,
)
from connectors.hubspot.limits import BudgetSpent, Interrupted
from connectors.hubspot.objects import BY_NAME, OBJECT_TYPES, OWNERS, PIPELINES, ObjectType
from connectors.hubspot.state import (
    add_requests,
    cursor,
    mark_budget_spent,
    save_cursor,
    take_lease,
)
from storage.db import refresh_statistics
from storage.models import (
    ActivityKind,
    Company,
    Contact,
    Deal,
    Lead,
    OwnedObject,
    Pipeline,
    PipelineObject,
    PipelineStage,
    StageState,
    User,
)
from storage.snapshot import SnapshotError, import_records

logger = logging.getLogger(__name__)

# Records written together: one association call per target type covers them.
GROUP = 1000
# Status's record count of a type is refreshed at most this often while it syncs.
COUNT_EVERY_SECONDS = 10.0
# Object types fetched at once (each its own thread and connection; all share the limiter).
FETCHERS = 6
# HubSpot's search index trails its writes by seconds: each pass starts this far back.
SEARCH_LAG = timedelta(minutes=2)
# Archived (deleted) records are listed at most this often per type by incremental syncs
# (webhooks report deletions at once; this is the net for portals without them).
ARCHIVED_SWEEP_EVERY = timedelta(hours=1)

# A sync stopped by Ctrl-C or SIGTERM, as ``status`` shows it (the cursor is kept).
INTERRUPTED = "interrupted; the next sync resumes from here"

Touched = tuple[OwnedObject, int]
Progress = Callable[[str, int, int | None], None]

_REF_SECTIONS = {
    "owner": "users",
    "company": "companies",
    "contact": "contacts",
}
_LINK_SECTIONS = {
    "contacts": "contacts",
    "companies": "companies",
    "deals": "deals",
    "leads": "leads",
}
_TABLES = {
    "users": User.__table__,
    "companies": Company.__table__,
    "contacts": Contact.__table__,
    "deals": Deal.__table__,
    "leads": Lead.__table__,
}


class LeaseLost(HubSpotError):
    """Another replica holds the sync lease now (this one's expired): stop writing."""


@dataclass(frozen=True)
class _Group:
    """Records fetched together, their associations, and the cursor once they are written."""

    objects: list[CrmObject]
    links: dict[str, dict[str, list[Association]]]
    position: dict[str, Any]


@dataclass(frozen=True)
class _Archived:
    """The type's archived (deleted) records, listed after its live ones."""

    ids: list[str]


@dataclass(frozen=True)
class _Plan:
    """Where one type's sync starts (decided and saved before its fetcher starts)."""

    kind: ObjectType
    started: datetime  # this run's start for the type ("last run" in status)
    full: bool
    pass_started: datetime  # when the pass began: the next pass reads from here, less the lag
    after: str | None = None  # full: the page token to resume from
    since: datetime | None = None  # incremental: modified at or after this
    after_id: int = 0  # incremental: ids above this, inside ``since``'s window
    sweep: bool = True  # list archived records after the live ones


@dataclass
class TypeResult:
    records: int = 0
    deleted: int = 0
    skipped: int = 0


@dataclass
class SyncResult:
    """What a sync did; ``touched`` feeds the guided actions' re-evaluation."""

    types: dict[str, TypeResult] = field(default_factory=dict)
    touched: list[Touched] = field(default_factory=list)
    owners_changed: int = 0
    requests: int = 0
    stopped: str | None = None
    problems: list[str] = field(default_factory=list)

    def of(self, name: str) -> TypeResult:
        return self.types.setdefault(name, TypeResult())


class Syncer:
    """One sync run against one portal, writing into ``engine``."""

    def __init__(
        self,
        engine: Engine,
        api: HubSpotApi,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_progress: Progress | None = None,
        archived_sweep_every: timedelta = ARCHIVED_SWEEP_EVERY,
        lease: tuple[str, timedelta] | None = None,
    ) -> None:
        self.engine = engine
        self.archived_sweep_every = archived_sweep_every
        # (holder, time to live): renewed with every group written, so a long full sync
        # keeps it; a replica that lost it stops.
        self.lease = lease
        self.api = api
        self.clock = clock
        self.on_progress = on_progress
        self.result = SyncResult()
        self.problems = mapping.Problems()
        self._dispositions: dict[str, str] | None = None
        self._stage_states: dict[str, dict[str, StageState]] = {}
        self._pipelines_refreshed = False
        self._requests_seen = api.limiter.usage.requests
        self._ahead: Ahead[_Group | _Archived] | None = None
        # Types the app may not read, met by their fetchers in this run.
        self._missing: dict[str, MissingScope] = {}
        self._counted: dict[str, float] = {}

    # Entry points ---------------------------------------------------------------------

    def run(self, *, full: bool = False, only: Sequence[str] | None = None) -> SyncResult:
        """Sync owners, pipelines and the object types (``only``: these types).

        The object types are fetched ahead, several at once (``ahead``), while owners,
        pipelines and earlier types are written. A spent daily budget ends the run
        cleanly: ``result.stopped`` says so and the cursors hold where it stopped. A type
        the app lacks a scope for is skipped (the others are synced) and named in
        ``result.stopped``.
        """
        names = list(only) if only else [OWNERS, PIPELINES, *BY_NAME]
        plans = [self._plan(kind, full=full) for kind in OBJECT_TYPES if kind.name in names]
        sources = [
            Source(plan.kind.name, stage, partial(self._fetch, plan))
            for plan, stage in zip(plans, _stages([p.kind for p in plans]), strict=True)
        ]
        self._ahead = Ahead(sources, fetchers=FETCHERS)
        try:
            with self._ahead:
                try:
                    if OWNERS in names:
                        self._step(OWNERS, self.sync_owners)
                    if PIPELINES in names or any(n in ("deals", "leads") for n in names):
                        self._step(PIPELINES, self.sync_pipelines)
                    by_name = {plan.kind.name: plan for plan in plans}
                    for stage in self._ahead.stages:
                        self._write_stage(stage, by_name)
                except KeyboardInterrupt:
                    # Ctrl-C or SIGTERM: fetchers waiting out 429s stop now, not after
                    # their last retry (the cursors hold where the writes got to).
                    self.api.limiter.interrupt()
                    raise
            if any(plan.full for plan in plans):
                # A full pass filled the store in bulk: without fresh planner statistics
                # the guided actions' evaluation that follows is planned blind (minutes).
                refresh_statistics(self.engine)
            if self._missing:
                missing = [f"{name}: {error}" for name, error in self._missing.items()]
                self.result.stopped = "not synced for want of a scope: " + "; ".join(missing)
        except BudgetSpent as spent:
            self.result.stopped = f"daily API budget spent: {spent}"
            with Session(self.engine) as session:
                mark_budget_spent(session, self.clock())
                session.commit()
        finally:
            self._ahead = None
            self.record_requests()
        self.log_problems()
        return self.result

    def log_problems(self) -> None:
        """Log the bad values met since the last call, each once (issue #9: "logged once
        with object type and id"); ``result.problems`` lists them all."""
        fresh = self.problems.new[len(self.result.problems) :]
        self.result.problems = list(self.problems.new)
        for problem in fresh:
            logger.warning("hubspot: %s", problem)

    def _step(self, name: str, work: Callable[[], None]) -> None:
        started = self.clock()
        try:
            work()
        except BaseException as error:
            self._failed(name, started, error)
            raise
        self._save(name, last_run_at=started, last_success_at=self.clock(), last_error=None)

    def _failed(self, name: str, started: datetime, error: BaseException) -> None:
        if isinstance(error, BudgetSpent):
            reason = f"stopped: daily budget spent ({error})"
        elif isinstance(error, KeyboardInterrupt | Interrupted):
            reason = INTERRUPTED
        else:
            reason = f"{type(error).__name__}: {error}"
        self._save(name, last_run_at=started, last_error=reason)

    def _save(self, name: str, **values: Any) -> None:
        with Session(self.engine) as session:
            save_cursor(session, name, **values)
            self.record_requests(session)
            session.commit()

    def record_requests(self, session: Session | None = None) -> None:
        """Add the requests made since the last call to today's count (``status``)."""
        usage = self.api.limiter.usage
        made = usage.requests - self._requests_seen
        if made <= 0 and session is None:
            return
        self._requests_seen = usage.requests
        self.result.requests += made
        if session is None:
            with Session(self.engine) as own:
                add_requests(own, self.clock(), made, usage.daily_limit, usage.daily_remaining)
                own.commit()
        else:
            add_requests(session, self.clock(), made, usage.daily_limit, usage.daily_remaining)

    # Owners and pipelines -------------------------------------------------------------

    def sync_owners(self) -> None:
        owners = self.api.owners(archived=False) + self.api.owners(archived=True)
        people = {u.email.lower(): u for u in self.api.portal_users() if u.email}
        zones = self._time_zones()
        with Session(self.engine) as session:
            changed, problems = writes.upsert_owners(session, owners, people, zones)
            save_cursor(session, OWNERS, records=len(owners))
            session.commit()
        for problem in problems:
            self.problems.add("owners", problem.split(":")[0], "email", problem)
        self.result.owners_changed += changed
        self.result.of(OWNERS).records += len(owners)

    def _time_zones(self) -> dict[str, str]:
        """E-mail → time zone from the CRM users object (owners have no time zone)."""
        zones: dict[str, str] = {}
        after: str | None = None
        while True:
            page = self.api.list_page(
                "users",
                properties=("hs_email", "hs_standard_time_zone"),
                after=after,
                archived=False,
            )
            for user in page.results:
                email = (user.properties.get("hs_email") or "").lower()
                zone = user.properties.get("hs_standard_time_zone")
                if email and zone:
                    zones[email] = zone
            after = page.after
            if not after:
                return zones

    def sync_pipelines(self) -> None:
        records = []
        for object_type in ("deals", "leads"):
            try:
                found = self.api.pipelines(object_type)
            except MissingScope as error:
                self.problems.add(object_type, "pipelines", "scope", str(error))
                continue
            for info in found:
                record = mapping.pipeline(object_type, info)
                if record["stages"]:
                    records.append(record)
        self._import({"pipelines": records})
        self._stage_states = {}
        self.result.of(PIPELINES).records += len(records)
        with Session(self.engine) as session:
            save_cursor(session, PIPELINES, records=len(records))
            session.commit()

    def _states(self, object_type: str) -> dict[str, StageState]:
        if object_type not in self._stage_states:
            kind = PipelineObject.DEAL if object_type == "deals" else PipelineObject.LEAD
            with Session(self.engine) as session:
                rows = session.execute(
                    select(PipelineStage.external_id, PipelineStage.state)
                    .join(Pipeline)
                    .where(Pipeline.object_type == kind)
                ).all()
                self._stage_states[object_type] = dict(rows)
        return self._stage_states[object_type]

    def _known_stages(self, object_type: str) -> set[tuple[str, str]]:
        kind = PipelineObject.DEAL if object_type == "deals" else PipelineObject.LEAD
        with Session(self.engine) as session:
            return set(
                session.execute(
                    select(Pipeline.external_id, PipelineStage.external_id)
                    .join(PipelineStage.pipeline)
                    .where(Pipeline.object_type == kind)
                ).all()
            )

    def dispositions(self) -> dict[str, str]:
        if self._dispositions is None:
            self._dispositions = self.api.call_dispositions()
        return self._dispositions

    # Object types ---------------------------------------------------------------------

    def _plan(self, kind: ObjectType, *, full: bool) -> _Plan:
        """Where the type's sync starts, saved before anything of it is fetched."""
        started = self.clock()
        with Session(self.engine) as session:
            state = cursor(session, kind.name)
            resuming_full = state.full_started_at is not None
            if full or resuming_full or state.cursor_at is None:
                if (full and not resuming_full) or state.full_started_at is None:
                    # A pass from the first page; its cursor is where it started.
                    save_cursor(session, kind.name, full_started_at=started, full_after=None)
                    session.commit()
                    return _Plan(kind, started, True, started)
                return _Plan(kind, started, True, state.full_started_at, after=state.full_after)
            since, after_id = state.cursor_at, state.cursor_id
            pass_started = state.pass_started_at
            if pass_started is None:
                pass_started = started
                save_cursor(session, kind.name, pass_started_at=pass_started)
                session.commit()
            swept = state.archived_swept_at
            sweep = swept is None or started - swept >= self.archived_sweep_every
            return _Plan(kind, started, False, pass_started, None, since, after_id, sweep)

    def _fetch(self, plan: _Plan) -> Iterator[_Group | _Archived]:
        """The type's groups from its cursor on, then its archived records (a fetcher).

        A type the app may not read (leads on some tiers) ends here, noted in
        ``_missing``: the other types go on.
        """
        try:
            if plan.full:
                yield from self._listed_groups(plan.kind, plan.after)
            else:
                assert plan.since is not None
                yield from self._searched_groups(plan.kind, plan.since, plan.after_id)
            if plan.sweep:
                yield _Archived(self._archived_ids(plan.kind))
        except MissingScope as error:
            self._missing[plan.kind.name] = error

    def _write_stage(self, stage: int, plans: dict[str, _Plan]) -> None:
        """Write the stage's groups as they arrive; finish each type when its fetcher has."""
        assert self._ahead is not None
        finished: set[str] = set()
        try:
            for name, item in self._ahead.stage_items(stage):
                kind = plans[name].kind
                if isinstance(item, _Archived):
                    self._remove_archived(kind, item.ids)
                else:
                    self._write_group(kind, item)
        except FetchFailed as failed:
            self._failed(failed.key, plans[failed.key].started, failed.error)
            raise failed.error from None
        except BaseException as error:
            for name in self._ahead.keys(stage):
                if name not in finished:
                    self._failed(name, plans[name].started, error)
            raise
        for name in self._ahead.keys(stage):
            if name in self._missing:  # its cursor stays: nothing of it was read
                self._failed(name, plans[name].started, self._missing[name])
            else:
                self._finish(plans[name])
            finished.add(name)

    def _finish(self, plan: _Plan) -> None:
        """The pass is complete: the next incremental sync starts where this one started."""
        with Session(self.engine) as session:
            values: dict[str, Any] = {"cursor_at": plan.pass_started - SEARCH_LAG, "cursor_id": 0}
            if plan.full:
                values |= {"pass_started_at": None, "full_started_at": None, "full_after": None}
            else:
                values |= {"pass_started_at": None}
            save_cursor(
                session,
                plan.kind.name,
                records=self._count(session, plan.kind),
                last_run_at=plan.started,
                last_success_at=self.clock(),
                last_error=None,
                **values,
            )
            self.record_requests(session)
            session.commit()

    def _listed_groups(self, kind: ObjectType, after: str | None) -> Iterator[_Group]:
        """Every record of the type from page token ``after`` on, a group at a time."""
        group: list[CrmObject] = []
        while True:
            self._check_stop()
            page = self.api.list_page(
                kind.name,
                properties=kind.properties,
                after=after,
                archived=False,
                history=kind.history,
            )
            group += page.results
            after = page.after
            if len(group) >= GROUP or not after:
                yield self._group(kind, group, {"full_after": after})
                group = []
            if not after:
                return

    def _searched_groups(
        self, kind: ObjectType, since: datetime, after_id: int
    ) -> Iterator[_Group]:
        """Records modified at or after ``since`` with ids above ``after_id``, by id."""
        group: list[CrmObject] = []
        while True:
            self._check_stop()
            window = SearchWindow(kind.modified_property, since, after_id)
            if kind.history:
                # Search gives no property history: those records are read in batches.
                page = self.api.search_page(kind.name, properties=("hs_object_id",), window=window)
                group += self.api.batch_read(
                    kind.name,
                    [o.id for o in page.results],
                    properties=kind.properties,
                    history=kind.history,
                )
            else:
                page = self.api.search_page(kind.name, properties=kind.properties, window=window)
                group += page.results
            if page.results:
                after_id = max(after_id, max(_int_id(o.id) for o in page.results))
            done = len(page.results) < SEARCH_PAGE or not page.after
            if len(group) >= GROUP or done:
                yield self._group(kind, group, {"cursor_id": after_id})
                group = []
            if done:
                return

    def _group(
        self, kind: ObjectType, objects: list[CrmObject], position: dict[str, Any]
    ) -> _Group:
        unique = list({o.id: o for o in objects}.values())
        return _Group(unique, self._associations(kind, [o.id for o in unique]), position)

    def _write_group(self, kind: ObjectType, group: _Group) -> None:
        """Write one group, then save the cursor it reached (a crash re-reads from there)."""
        self.write(kind, group.objects, group.links)
        with Session(self.engine) as session:
            values = dict(group.position)
            if self._count_due(kind.name):
                values["records"] = self._count(session, kind)
            save_cursor(session, kind.name, **values)
            self.record_requests(session)
            if self.lease is not None:
                holder, ttl = self.lease
                if not take_lease(session, holder=holder, now=self.clock(), ttl=ttl):
                    session.commit()
                    raise LeaseLost("another replica took over the sync; stopping here")
            session.commit()
        self._progress(kind.name, len(group.objects))

    def _check_stop(self) -> None:
        if self._ahead is not None:
            self._ahead.check()

    def _archived_ids(self, kind: ObjectType) -> list[str]:
        """The type's archived (deleted) records: the store removes those it holds."""
        after: str | None = None
        archived: list[str] = []
        while True:
            self._check_stop()
            page = self.api.list_page(
                kind.name, properties=("hs_object_id",), after=after, archived=True
            )
            archived += [o.id for o in page.results]
            after = page.after
            if not after:
                return archived

    def _remove_archived(self, kind: ObjectType, archived: Sequence[str]) -> None:
        self.delete(kind, archived)
        with Session(self.engine) as session:
            save_cursor(session, kind.name, archived_swept_at=self.clock())
            session.commit()

    def _count_due(self, name: str) -> bool:
        """Whether status's record count is worth refreshing now: counting is a scan of
        the type's rows, so at every group it would grow with the store, not the group."""
        now = time.monotonic()
        if now - self._counted.get(name, float("-inf")) < COUNT_EVERY_SECONDS:
            return False
        self._counted[name] = now
        return True

    def _count(self, session: Session, kind: ObjectType) -> int:
        return writes.count_records(session, kind.section, kind.kind.value if kind.kind else None)

    def _progress(self, name: str, done: int) -> None:
        if self.on_progress is not None:
            self.on_progress(name, done, None)

    # Writing --------------------------------------------------------------------------

    def read(self, kind: ObjectType, ids: Sequence[str]) -> list[CrmObject]:
        """The records' current state, read as ``write`` needs it: with the property history
        that the stage and next-step times come from (without it they would be written
        empty)."""
        return self.api.batch_read(kind.name, ids, properties=kind.properties, history=kind.history)

    def write(
        self,
        kind: ObjectType,
        objects: Sequence[CrmObject],
        links: dict[str, dict[str, list[Association]]] | None = None,
    ) -> None:
        """Map, check and upsert ``objects`` (with their associations) into the store."""
        if not objects:
            return
        objects = list({o.id: o for o in objects}.values())
        if links is None:
            links = self._associations(kind, [o.id for o in objects])
        states = self._states(kind.name) if kind.name in ("deals", "leads") else {}
        dispositions = self.dispositions() if kind.name == "calls" else {}
        records: list[dict[str, Any]] = []
        for obj in objects:
            ctx = mapping.Context(links.get(obj.id, {}), dispositions, states)
            record = mapping.to_record(kind, obj, ctx, self.problems)
            checked = mapping.sanitize(kind.section, record, kind.name, self.problems)
            if checked is None:
                self.result.of(kind.name).skipped += 1
                continue
            records.append(checked)
        records = self._resolve(kind, records)
        self._import({kind.section: records}, checked=True)
        result = self.result.of(kind.name)
        result.records += len(records)
        merges = [
            (o.id, [m for m in (o.properties.get("hs_merged_object_ids") or "").split(";") if m])
            for o in objects
            if o.properties.get("hs_merged_object_ids")
        ]
        with Session(self.engine) as session:
            now = self.clock()
            for survivor, merged in merges:
                self.result.touched += writes.merge_records(
                    session, kind.section, survivor, merged, now=now
                )
            ids = writes.row_ids(session, kind.section, [r["id"] for r in records])
            self._derive(session, kind, objects, ids, records)
            session.commit()
        owned = writes.SECTION_OWNED[kind.section]
        self.result.touched += [(owned, i) for i in ids.values()]

    def _derive(
        self,
        session: Session,
        kind: ObjectType,
        objects: Sequence[CrmObject],
        ids: dict[str, int],
        records: list[dict[str, Any]],
    ) -> None:
        """Email replies and open times, meeting attendees (see ``derived``); sequence
        enrollments and sequence tasks (see ``sequences``)."""
        if kind.name == "contacts":
            opened: dict[int, datetime | None] = {}
            for obj in objects:
                if obj.id in ids:
                    try:
                        at = mapping.timestamp(obj.properties.get("hs_sales_email_last_opened"))
                    except ValueError as error:
                        self.problems.add(
                            "contacts", obj.id, "hs_sales_email_last_opened", str(error)
                        )
                        at = None
                    opened[ids[obj.id]] = datetime.fromisoformat(at) if at else None
            writes.set_last_opened(session, opened)
            derived.derive_opens(session, [i for i, at in opened.items() if at is not None])
            sequences.record_latest_enrollments(session, objects, ids, self.problems)
        elif kind.kind == ActivityKind.EMAIL:
            derived.derive_replies(session, [r["thread_id"] for r in records if r.get("thread_id")])
            contacts = writes.row_ids(
                session, "contacts", [c for r in records for c in r.get("contacts") or []]
            )
            derived.derive_opens(session, contacts.values())
        elif kind.kind == ActivityKind.MEETING:
            derived.derive_attendees(session, ids.values())
        elif kind.kind == ActivityKind.TASK:
            sequences.link_sequence_tasks(session, objects, ids, records)

    def delete(self, kind: ObjectType, external_ids: Sequence[str]) -> None:
        if not external_ids:
            return
        with Session(self.engine) as session:
            touched = writes.delete_records(session, kind.section, external_ids, now=self.clock())
            session.commit()
        self.result.touched += touched
        self.result.of(kind.name).deleted += len(touched)

    def _associations(
        self, kind: ObjectType, ids: list[str]
    ) -> dict[str, dict[str, list[Association]]]:
        by_record: dict[str, dict[str, list[Association]]] = {}
        for to_type in kind.associations:
            try:
                links = self.api.associations(kind.name, to_type, ids)
            except MissingScope as error:
                self.problems.add(kind.name, f"links to {to_type}", "scope", str(error))
                continue
            for from_id, found in links.items():
                by_record.setdefault(from_id, {})[to_type] = found
        return by_record

    def _resolve(self, kind: ObjectType, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Drop references to records the store does not hold (the importer refuses them)."""
        wanted = _wanted_refs(kind, records)
        with Session(self.engine) as session:
            known = {
                section: writes.known_external_ids(session, _TABLES[section], ids)  # type: ignore[arg-type]
                for section, ids in wanted.items()
            }
        stages = self._known_stages(kind.name) if kind.name in ("deals", "leads") else set()
        kept = []
        for record in records:
            rid = str(record["id"])
            self._drop_unknown_refs(kind, record, known)
            if kind.name in ("deals", "leads"):
                key = (record.get("pipeline"), record.get("stage"))
                if key not in stages and not self._pipelines_refreshed:
                    # A stage created since the last pipeline sync: read pipelines again.
                    self._pipelines_refreshed = True
                    self.sync_pipelines()
                    stages = self._known_stages(kind.name)
                if key not in stages:
                    self.problems.add(
                        kind.name, rid, "stage", f"unknown pipeline stage {key!r}: not stored"
                    )
                    self.result.of(kind.name).skipped += 1
                    continue
            kept.append(record)
        return kept

    def _drop_unknown_refs(
        self, kind: ObjectType, record: dict[str, Any], known: dict[str, set[str]]
    ) -> None:
        """Null or leave out the references of ``record`` that the store does not hold."""
        rid = str(record["id"])
        for name, section in _REF_SECTIONS.items():
            value = record.get(name)
            if value and value not in known.get(section, set()):
                self.problems.add(kind.name, rid, name, f"unknown {section[:-1]} {value!r}")
                record[name] = None
        if record.get("owner_history"):
            users = known.get("users", set())
            record["owner_history"] = [
                e for e in record["owner_history"] if e["owner"] is None or e["owner"] in users
            ]
        if kind.section == "activities":
            for name in _LINK_SECTIONS:
                have = record.get(name) or []
                record[name] = [v for v in have if v in known.get(name, set())]
        if kind.name == "deals":
            record["contacts"] = [
                c
                for c in record.get("contacts") or []
                if c["contact"] in known.get("contacts", set())
            ]

    def _import(self, sections: dict[str, list[dict[str, Any]]], *, checked: bool = False) -> None:
        """Write ``sections`` through the snapshot importer, handed over as values (no JSON
        file written and read back); ``checked``: they are ``mapping.sanitize``'s values."""
        try:
            import_records(self.engine, sections, now=self.clock(), checked=checked)
        except SnapshotError as error:
            # Checked records should always pass; if not, say which and go on without them.
            for problem in error.problems:
                self.problems.add("import", problem.path, "refused", problem.message)
            self._import_one_by_one(sections, checked)

    def _import_one_by_one(self, sections: dict[str, list[dict[str, Any]]], checked: bool) -> None:
        for section, records in sections.items():
            for record in records:
                try:
                    import_records(
                        self.engine, {section: [record]}, now=self.clock(), checked=checked
                    )
                except SnapshotError as single:
                    for problem in single.problems:
                        self.problems.add(
                            section, str(record.get("id")), problem.path, problem.message
                        )


def _stages(kinds: Sequence[ObjectType]) -> list[int]:
    """Each type's stage: consecutive activity types share one (an activity links CRM
    records, never another activity); every other type has a stage of its own."""
    stages: list[int] = []
    for n, kind in enumerate(kinds):
        shared = n > 0 and kind.section == "activities" == kinds[n - 1].section
        stages.append(stages[-1] if shared else len(set(stages)))
    return stages


def _int_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def touched_user_ids(engine: Engine, touched: Iterable[Touched]) -> set[int]:
    """Owners of the touched records that still exist (whose views may have changed)."""
    by_kind: dict[OwnedObject, list[int]] = {}
    for kind, row_id in touched:
        by_kind.setdefault(kind, []).append(row_id)
    models = {v: writes.SECTION_MODELS[k] for k, v in writes.SECTION_OWNED.items()}
    owners: set[int] = set()
    with Session(engine) as session:
        for kind, row_ids in by_kind.items():
            model = models[kind]
            for start in range(0, len(row_ids), 500):
                owners.update(
                    o
                    for o in session.scalars(
                        select(model.owner_id).where(model.id.in_(row_ids[start : start + 500]))
                    )
                    if o is not None
                )
    return owners


def _wanted_refs(kind: ObjectType, records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """External ids that ``records`` name, by the section they belong to."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        for name, section in _REF_SECTIONS.items():
            if record.get(name):
                wanted.setdefault(section, set()).add(record[name])
        wanted.setdefault("users", set()).update(
            e["owner"] for e in record.get("owner_history") or [] if e["owner"]
        )
        for name, section in _LINK_SECTIONS.items():
            if kind.section == "activities":
                wanted.setdefault(section, set()).update(record.get(name) or [])
        if kind.name == "deals":
            wanted.setdefault("contacts", set()).update(
                c["contact"] for c in record.get("contacts") or []
            )
    return wanted
