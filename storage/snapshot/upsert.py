"""Writing resolved records: insert the new, update what changed, by their key.

Records are written even after a problem (the transaction is rolled back in the end) so
that later records naming them do not report false "unknown" ids.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from storage.models import Activity, Company, Contact, Deal, Lead, OwnedObject
from storage.ownership import assign
from storage.snapshot.ids import chunks
from storage.snapshot.job import Job
from storage.snapshot.links import SelfReferences, team_digest_row, update_children
from storage.snapshot.resolve import Record
from storage.snapshot.tables import (
    ACTIVITY_LINKS,
    ASSIGNMENTS,
    DEAL_CONTACTS,
    DEAL_SCORES,
    TEAM_DIGESTS,
    SectionTable,
)

_OWNED_MODELS: dict[OwnedObject, type[Company | Contact | Lead | Deal | Activity]] = {
    OwnedObject.COMPANY: Company,
    OwnedObject.CONTACT: Contact,
    OwnedObject.LEAD: Lead,
    OwnedObject.DEAL: Deal,
    OwnedObject.ACTIVITY: Activity,
}
_HISTORY_COLUMNS = ("object_type", "object_id", "owner_id", "assigned_at")


class Upsert:
    """Writes one section's records a batch at a time."""

    def __init__(self, job: Job, self_references: SelfReferences) -> None:
        self.job = job
        self.self_references = self_references

    def write(self, table: SectionTable, records: list[Record]) -> None:
        """Insert or update ``records`` and count them in the report."""
        if not records:
            return
        job = self.job
        job.tuning.defer_indexes(table.section)
        first_new = job.ids.first_new(table) if table.by_external_id else 0
        existing = self._existing(table, records)
        if table.by_external_id:
            records = self._drop_repeated(table, records, existing, first_new)
        counts = job.report.counts(table.section)
        new: list[Record] = []
        changed: list[tuple[Record, dict[str, Any]]] = []
        owner_changes: list[tuple[int, int | None, datetime]] = []
        for record in records:
            key = tuple(record.row[c] for c in table.key_columns)
            current = existing.get(key)
            if current is None:
                self._initial_owner(table, record)
                new.append(record)
                continue
            pk = current[table.primary_key]
            if table.owned is not None:
                change = self._owner_change(record, current)
                if change is not None:
                    owner_changes.append((pk, *change))
            diff = {c: v for c, v in record.row.items() if current.get(c) != v}
            changed.append((record, {table.primary_key: pk, **diff}))
        self._insert(table, new)
        touched = self._update(table, changed, owner_changes)
        touched |= update_children(job, table, [r for r, _ in changed])
        updated = sum(1 for record, _ in changed if id(record) in touched)
        counts.updated += updated
        counts.unchanged += len(changed) - updated
        counts.inserted += len(new)
        if table.section == "activities":
            self.self_references.settle(records)
        if table.small:
            job.ids.forget(table.section)

    def _owner_change(
        self, record: Record, current: dict[str, Any]
    ) -> tuple[int | None, datetime] | None:
        """The new owner and when, if the file names another owner than the stored one.

        Takes the owner columns out of the record's row: owners change through assign().
        """
        row = record.row
        # The assignment time is read only with a new owner; otherwise the stored one
        # stands (a stale time in the file must not undo a recorded change).
        given = row.pop("owner_assigned_at", None)
        if row["owner_id"] == current["owner_id"]:
            return None
        at = self.job.now
        if given is not None and given != current.get("owner_assigned_at"):
            at = given
        return row.pop("owner_id"), at

    def _existing(self, table: SectionTable, records: list[Record]) -> dict[Any, dict[str, Any]]:
        """The current rows of these records, by key tuple."""
        lookup = table.key_columns[0]
        column = table.table.c[lookup]
        values = list({r.row[lookup] for r in records})
        found: dict[Any, dict[str, Any]] = {}
        for chunk in chunks(values):
            query = select(table.table).where(column.in_(chunk))
            for row in self.job.conn.execute(query).mappings():
                found[tuple(row[c] for c in table.key_columns)] = dict(row)
        return found

    def _drop_repeated(
        self,
        table: SectionTable,
        records: list[Record],
        existing: dict[Any, dict[str, Any]],
        first_new: int,
    ) -> list[Record]:
        """Report records whose id an earlier batch of the file already wrote."""
        current_ids = {
            record.index: existing[(record.row["external_id"],)]["id"]
            for record in records
            if (record.row["external_id"],) in existing
        }
        named_before = self.job.ids.named_before(
            table.section, [i for i in current_ids.values() if i < first_new]
        )
        kept = []
        for record in records:
            row_id = current_ids.get(record.index)
            if row_id is not None and (row_id >= first_new or row_id in named_before):
                self.job.problems.add(
                    f"{table.section}[{record.index}]",
                    f"duplicate id {record.values['id']!r} in the file",
                )
                continue
            kept.append(record)
        return kept

    def _initial_owner(self, table: SectionTable, record: Record) -> None:
        """A new owned record starts with its owner in the history, as assign() would."""
        if table.owned is None or table.owned is OwnedObject.ACTIVITY:
            return
        row = record.row
        owner = row["owner_id"]
        if owner is None:
            row.setdefault("owner_assigned_at", None)
            return
        if not record.owner_given_at:
            # The latest history entry for this owner says when it was assigned.
            same = [at for who, at in record.history if who == owner]
            row["owner_assigned_at"] = max(same) if same else self.job.now
        entry = (owner, row["owner_assigned_at"])
        if entry not in record.history:
            record.history.append(entry)

    def _insert(self, table: SectionTable, new: list[Record]) -> None:
        if not new:
            return
        job = self.job
        job.report.rows_written += job.bulk.insert(table.table, [r.row for r in new])
        if not table.by_external_id:
            return
        ids = job.ids.of(table.section, [r.row["external_id"] for r in new])
        if table.small:
            job.ids.forget(table.section)
            ids = job.ids.small(table.section)
        history, scores, deal_contacts, links = _child_rows(table, new, ids)
        insert = job.bulk.insert_tuples
        written = insert(ASSIGNMENTS, _HISTORY_COLUMNS, history)
        written += insert(DEAL_SCORES, ("deal_id", "recorded_at", "score"), scores)
        written += insert(DEAL_CONTACTS, ("deal_id", "contact_id", "associated_at"), deal_contacts)
        for name, rows in links.items():
            link, column = ACTIVITY_LINKS[name]
            written += insert(link, ("activity_id", column), rows)
        if table.section == "teams":
            written += job.bulk.insert(
                TEAM_DIGESTS,
                [
                    team_digest_row(r.row["id"], r.values["digest"])
                    for r in new
                    if r.values["digest"]
                ],
            )
        job.report.rows_written += written

    def _update(
        self,
        table: SectionTable,
        changed: list[tuple[Record, dict[str, Any]]],
        owner_changes: list[tuple[int, int | None, datetime]],
    ) -> set[int]:
        """Write changed columns (grouped by which columns changed); return touched records."""
        touched: set[int] = set()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        pk_name = table.primary_key
        for record, diff in changed:
            record.row["id" if pk_name == "id" else pk_name] = diff[pk_name]
            columns = tuple(sorted(c for c in diff if c != pk_name))
            if columns:
                touched.add(id(record))
                groups[columns].append(
                    {"_pk": diff[pk_name], **{f"_v_{c}": diff[c] for c in columns}}
                )
        for columns, rows in groups.items():
            statement = (
                table.table.update()
                .where(table.table.c[pk_name] == bindparam("_pk"))
                .values({c: bindparam(f"_v_{c}") for c in columns})
            )
            self.job.execute_many(statement, rows)
        if owner_changes:
            assert table.owned is not None
            by_pk = {diff[pk_name]: record for record, diff in changed}
            touched |= self._change_owners(table.owned, owner_changes, by_pk)
        return touched

    def _change_owners(
        self,
        owned: OwnedObject,
        owner_changes: list[tuple[int, int | None, datetime]],
        by_pk: dict[Any, Record],
    ) -> set[int]:
        """Owner changes go through assign(), which keeps the history (one row each)."""
        session, model = self.job.session, _OWNED_MODELS[owned]
        touched: set[int] = set()
        for pk, owner_id, at in owner_changes:
            obj = session.get(model, pk, populate_existing=True)
            assert isinstance(obj, Company | Contact | Lead | Deal | Activity)
            if assign(session, obj, owner_id, at=at):
                touched.add(id(by_pk[pk]))
                self.job.report.rows_written += 2
        session.flush()
        session.expunge_all()
        return touched


def _child_rows(
    table: SectionTable, new: list[Record], ids: dict[str, int]
) -> tuple[
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    dict[str, list[tuple[int, int]]],
]:
    """Give new records their row ids; return their history, scores, contacts and links."""
    history: list[tuple[Any, ...]] = []
    scores: list[tuple[Any, ...]] = []
    deal_contacts: list[tuple[Any, ...]] = []
    links: dict[str, list[tuple[int, int]]] = defaultdict(list)
    owned = table.owned
    for record in new:
        pk = ids[record.row["external_id"]]
        record.row["id"] = pk
        if owned is not None:
            history += [(owned, pk, o, a) for o, a in dict.fromkeys(record.history)]
        if record.scores:
            scores += [(pk, at, s) for at, s in record.scores.items()]
        if record.deal_contacts:
            deal_contacts += [(pk, c, at) for c, at in record.deal_contacts.items()]
        for name, targets in record.links.items():
            if targets:
                links[name] += [(pk, t) for t in targets]
    return history, scores, deal_contacts, links
