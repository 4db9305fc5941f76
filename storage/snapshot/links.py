"""What hangs off a record: owner history, deal contacts and scores, activity links, a
team's digest schedule.

New records get theirs inserted with them (``upsert.py``); here, records that already
exist are brought in line with the file, and activities that name activities further down
the file are pointed at them once those are written.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, delete, select

from storage.snapshot.ids import chunks
from storage.snapshot.job import Job
from storage.snapshot.resolve import SELF_REFS, Record
from storage.snapshot.tables import (
    ACTIVITY_LINKS,
    ASSIGNMENTS,
    DEAL_CONTACTS,
    DEAL_SCORES,
    SECTION_TABLES,
    TEAM_DIGESTS,
    SectionTable,
)


def team_digest_row(team_id: int, digest: dict[str, Any]) -> dict[str, Any]:
    """The team_digest_settings row of a team's ``digest`` member."""
    return {
        "team_id": team_id,
        "digest_time": digest["time"],
        "digest_weekdays": sorted(digest["weekdays"]),
        "manager_digest_time": digest["manager_time"],
    }


def update_children(job: Job, table: SectionTable, records: list[Record]) -> set[int]:
    """Bring associations, scores and history of existing records in line with the file.

    Returns:
        ``id()`` of each record whose children changed.
    """
    touched: set[int] = set()
    if not records:
        return touched
    ids = [r.row["id"] for r in records if "id" in r.row]
    if table.owned is not None:
        touched |= _owner_history(job, table, records, ids)
    if table.section == "deals":
        touched |= _deal_children(job, records, ids)
    if table.section == "activities":
        touched |= _activity_links(job, records, ids)
    if table.section == "teams":
        touched |= _team_digests(job, records, ids)
    return touched


def _owner_history(
    job: Job, table: SectionTable, records: list[Record], ids: list[int]
) -> set[int]:
    """Add the owner history entries the database does not have yet."""
    touched: set[int] = set()
    have = _grouped(
        job,
        select(ASSIGNMENTS.c.object_id, ASSIGNMENTS.c.owner_id, ASSIGNMENTS.c.assigned_at)
        .where(ASSIGNMENTS.c.object_type == table.owned)
        .where(ASSIGNMENTS.c.object_id.in_(bindparam("ids", expanding=True))),
        ids,
    )
    rows = []
    for record in records:
        known = {(o, a) for o, a in have.get(record.row["id"], [])}
        missing = [e for e in dict.fromkeys(record.history) if e not in known]
        if missing:
            touched.add(id(record))
            rows += [
                {
                    "object_type": table.owned,
                    "object_id": record.row["id"],
                    "owner_id": o,
                    "assigned_at": a,
                }
                for o, a in missing
            ]
    job.report.rows_written += job.bulk.insert(ASSIGNMENTS, rows)
    return touched


def _team_digests(job: Job, records: list[Record], ids: list[int]) -> set[int]:
    """Replace each team's digest schedule where the file's differs (null: none)."""
    have: dict[int, dict[str, Any]] = {}
    for chunk in chunks(ids):
        for row in job.conn.execute(
            select(TEAM_DIGESTS).where(TEAM_DIGESTS.c.team_id.in_(chunk))
        ).mappings():
            have[row["team_id"]] = team_digest_row(
                row["team_id"],
                {
                    "time": row["digest_time"],
                    "weekdays": row["digest_weekdays"],
                    "manager_time": row["manager_digest_time"],
                },
            )
    touched: set[int] = set()
    stale: list[int] = []
    fresh: list[dict[str, Any]] = []
    for record in records:
        team_id, digest = record.row["id"], record.values["digest"]
        wanted = team_digest_row(team_id, digest) if digest else None
        current = have.get(team_id)
        if current == wanted:
            continue
        touched.add(id(record))
        if current is not None:
            stale.append(team_id)
        if wanted is not None:
            fresh.append(wanted)
    if stale:
        job.conn.execute(delete(TEAM_DIGESTS).where(TEAM_DIGESTS.c.team_id.in_(stale)))
    job.report.rows_written += len(stale) + job.bulk.insert(TEAM_DIGESTS, fresh)
    return touched


def _grouped(job: Job, query: Any, ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    """Rows of ``query`` (first column: the parent's id) grouped by parent."""
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for chunk in chunks(ids):
        for first, *rest in job.conn.execute(query, {"ids": chunk}):
            grouped[first].append(tuple(rest))
    return grouped


def _deal_children(job: Job, records: list[Record], ids: list[int]) -> set[int]:
    touched: set[int] = set()
    contacts = _grouped(
        job,
        select(
            DEAL_CONTACTS.c.deal_id, DEAL_CONTACTS.c.contact_id, DEAL_CONTACTS.c.associated_at
        ).where(DEAL_CONTACTS.c.deal_id.in_(bindparam("ids", expanding=True))),
        ids,
    )
    scores = _grouped(
        job,
        select(DEAL_SCORES.c.deal_id, DEAL_SCORES.c.recorded_at, DEAL_SCORES.c.score).where(
            DEAL_SCORES.c.deal_id.in_(bindparam("ids", expanding=True))
        ),
        ids,
    )
    replace, add, correct = [], [], []
    for record in records:
        deal_id = record.row["id"]
        if dict(contacts.get(deal_id, [])) != record.deal_contacts:
            touched.add(id(record))
            replace.append(deal_id)
            add += [
                {"deal_id": deal_id, "contact_id": c, "associated_at": at}
                for c, at in record.deal_contacts.items()
            ]
        known = dict(scores.get(deal_id, []))
        for at, score in record.scores.items():
            if at not in known:
                touched.add(id(record))
                correct.append(("new", {"deal_id": deal_id, "recorded_at": at, "score": score}))
            elif known[at] != score:
                touched.add(id(record))
                correct.append(("fix", {"_deal": deal_id, "_at": at, "_score": score}))
    for chunk in chunks(replace):
        job.conn.execute(delete(DEAL_CONTACTS).where(DEAL_CONTACTS.c.deal_id.in_(chunk)))
    job.report.rows_written += job.bulk.insert(DEAL_CONTACTS, add)
    job.report.rows_written += job.bulk.insert(
        DEAL_SCORES, [row for kind, row in correct if kind == "new"]
    )
    job.execute_many(
        DEAL_SCORES.update()
        .where(DEAL_SCORES.c.deal_id == bindparam("_deal"))
        .where(DEAL_SCORES.c.recorded_at == bindparam("_at"))
        .values(score=bindparam("_score")),
        [row for kind, row in correct if kind == "fix"],
    )
    return touched


def _activity_links(job: Job, records: list[Record], ids: list[int]) -> set[int]:
    touched: set[int] = set()
    for name, (link, column) in ACTIVITY_LINKS.items():
        have = _grouped(
            job,
            select(link.c.activity_id, link.c[column]).where(
                link.c.activity_id.in_(bindparam("ids", expanding=True))
            ),
            ids,
        )
        replace, add = [], []
        for record in records:
            activity_id = record.row["id"]
            wanted = set(record.links[name])
            if {t for (t,) in have.get(activity_id, [])} != wanted:
                touched.add(id(record))
                replace.append(activity_id)
                add += [{"activity_id": activity_id, column: t} for t in wanted]
        for chunk in chunks(replace):
            job.conn.execute(delete(link).where(link.c.activity_id.in_(chunk)))
        job.report.rows_written += job.bulk.insert(link, add)
    return touched


class SelfReferences:
    """Activities naming activities (follow_up_of, in_reply_to), settled once both exist."""

    def __init__(self, job: Job) -> None:
        self.job = job
        # (position, own external id, field, named external id), across batches.
        self._pending: list[tuple[int, str, str, str]] = []

    def settle(self, records: list[Record]) -> None:
        """Point follow_up_of / in_reply_to at activities written in this batch."""
        waiting = [r for r in records if r.pending]
        if not waiting:
            return
        found = self.job.ids.of("activities", [t for r in waiting for _, t in r.pending])
        fixes: list[dict[str, Any]] = []
        for record in waiting:
            for name, target in record.pending:
                if target in found:
                    fixes.append({"_pk": record.row["id"], "_name": name, "_to": found[target]})
                else:
                    self._pending.append((record.index, record.values["id"], name, target))
        self._fix(fixes)

    def finish(self) -> None:
        """At the end of the activities: the rest must name activities of the file."""
        if not self._pending:
            return
        ids = self.job.ids
        found = ids.of("activities", [t for *_, t in self._pending])
        own = ids.of("activities", [ext for _, ext, *_ in self._pending])
        fixes = []
        for index, ext, name, target in self._pending:
            if target not in found:
                self.job.problems.add(f"activities[{index}].{name}", f"unknown activity {target!r}")
            elif ext in own:
                fixes.append({"_pk": own[ext], "_name": name, "_to": found[target]})
        self._pending = []
        self._fix(fixes)

    def _fix(self, fixes: list[dict[str, Any]]) -> None:
        table = SECTION_TABLES["activities"].table
        for name in SELF_REFS:
            rows = [{"_pk": f["_pk"], "_to": f["_to"]} for f in fixes if f["_name"] == name]
            self.job.execute_many(
                table.update()
                .where(table.c.id == bindparam("_pk"))
                .values({f"{name}_id": bindparam("_to")}),
                rows,
            )
