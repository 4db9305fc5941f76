"""Checked values become rows: references turn into row ids, derived columns are set.

A reference to a record the database does not hold, a user's email or Slack id held by
another user, and an unknown pipeline or stage are reported here (they need the database).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from storage.models import OwnedObject, PipelineObject
from storage.snapshot.fields import SECTIONS
from storage.snapshot.job import Job
from storage.snapshot.tables import ACTIVITY_LINKS, SECTION_TABLES, SINGULAR, SectionTable

# Activities may name activities further down the file: resolved once they are written.
SELF_REFS = ("follow_up_of", "in_reply_to")


@dataclass(slots=True)
class Record:
    """One record on its way to the database.

    Attributes:
        index: its position in the section (for messages).
        values: its checked values (references still external ids).
        row: the columns of its table row.
        history: (owner row id, assigned at) entries for owned records.
        links: activity association lists, as row ids.
        deal_contacts: a deal's contacts (row id -> associated at).
        scores: a deal's score readings (recorded at -> score).
        pending: activities naming activities not written yet: (field, external id).
        owner_given_at: the file gives the current owner's assignment time.
    """

    index: int
    values: dict[str, Any]
    row: dict[str, Any]
    history: list[tuple[int | None, datetime]] = field(default_factory=list)
    links: dict[str, list[int]] = field(default_factory=dict)
    deal_contacts: dict[int, datetime | None] = field(default_factory=dict)
    scores: dict[datetime, int] = field(default_factory=dict)
    pending: list[tuple[str, str]] = field(default_factory=list)
    owner_given_at: bool = False


class Resolver:
    """Resolves one section's records at a time against the database."""

    def __init__(self, job: Job) -> None:
        self.job = job
        # (external id, value as written) of each taken email (by its lower case) and Slack id
        self._user_emails: dict[str, tuple[str, str]] | None = None
        self._user_slack_ids: dict[str, tuple[str, str]] = {}

    def resolve(
        self, table: SectionTable, parsed: list[tuple[int, dict[str, Any]]]
    ) -> list[Record]:
        """The records whose references all resolve; a problem for each one that does not."""
        section = table.section
        fields = SECTIONS[section]
        maps = self._id_maps(section, parsed)
        plain = [(f.name, f.column) for f in fields if f.column and not f.ref]
        refs = [
            (f.name, f.column, f.ref)
            for f in fields
            if f.column and f.ref and f.ref not in ("pipelines", "stages")
        ]
        # One C-level pick of the plain fields per record (itemgetter gives a tuple if
        # asked for two or more names; every section has more than one plain column).
        pick = itemgetter(*(name for name, _ in plain))
        columns = [column for _, column in plain]
        records: list[Record] = []
        for index, values in parsed:
            row = dict(zip(columns, pick(values), strict=True))
            record = Record(index, values, row)
            ok = True
            for name, column, ref in refs:
                value = values[name]
                if value is None:
                    row[column] = None
                    continue
                found = maps[ref].get(value)
                if found is None:
                    if name in SELF_REFS:
                        row[column] = None
                        record.pending.append((name, value))
                        continue
                    self.job.problems.add(
                        f"{section}[{index}].{name}", f"unknown {SINGULAR[ref]} {value!r}"
                    )
                    ok = False
                    continue
                row[column] = found
            ok = self._resolve_special(table, record, maps, f"{section}[{index}]") and ok
            if ok:
                records.append(record)
        return records

    def _id_maps(
        self, section: str, parsed: list[tuple[int, dict[str, Any]]]
    ) -> dict[str, dict[str, int]]:
        """Row ids of every record the batch names, by referenced section."""
        wanted: dict[str, set[str]] = defaultdict(set)
        ref_fields = [
            f for f in SECTIONS[section] if f.ref and f.ref not in ("pipelines", "stages")
        ]
        for _, values in parsed:
            for f in ref_fields:
                value = values[f.name]
                if not value:
                    continue
                if f.name == "owner_history":
                    wanted["users"].update(e["owner"] for e in value if e["owner"])
                elif f.name == "contacts" and section == "deals":
                    wanted["contacts"].update(e["contact"] for e in value)
                elif isinstance(value, list):
                    wanted[f.ref].update(value)  # type: ignore[index]
                else:
                    wanted[f.ref].add(value)  # type: ignore[index]
        return {target: self.job.ids.of(target, ids) for target, ids in wanted.items()}

    def _resolve_special(
        self, table: SectionTable, record: Record, maps: dict[str, dict[str, int]], path: str
    ) -> bool:
        """The columns and child rows particular to a section; False: a problem was found."""
        section, values, row = table.section, record.values, record.row
        ok = True
        if section in ("users", "contacts"):
            email = values["email"]
            row["email_domain"] = email.rsplit("@", 1)[1].lower() if email else None
        if section == "users":
            ok = self._unique_user_fields(values, path)
        if section in ("leads", "deals"):
            ok = self._resolve_stage(section, values, row, path)
        if section == "activities":
            ok = self._activity_links(record, maps, path)
        if section == "deals":
            ok = self._deal_contacts_and_scores(record, maps, path) and ok
        if table.owned is not None:
            ok = self._owner_history(table, record, maps, path) and ok
        return ok

    def _activity_links(self, record: Record, maps: dict[str, dict[str, int]], path: str) -> bool:
        row, ok = record.row, True
        if row["occurred_at"] is None:
            row["occurred_at"] = row["due_at"] or row["starts_at"] or row["created_at"]
        for name in ACTIVITY_LINKS:
            ids = []
            for ext in record.values[name]:
                found = maps[name].get(ext)
                if found is None:
                    self.job.problems.add(f"{path}.{name}", f"unknown {SINGULAR[name]} {ext!r}")
                    ok = False
                else:
                    ids.append(found)
            record.links[name] = ids
        return ok

    def _deal_contacts_and_scores(
        self, record: Record, maps: dict[str, dict[str, int]], path: str
    ) -> bool:
        problems, ok = self.job.problems, True
        for position, entry in enumerate(record.values["contacts"]):
            found = maps["contacts"].get(entry["contact"])
            if found is None:
                problems.add(
                    f"{path}.contacts[{position}].contact",
                    f"unknown contact {entry['contact']!r}",
                )
                ok = False
            elif found in record.deal_contacts:
                problems.add(f"{path}.contacts[{position}]", "lists the contact twice")
                ok = False
            else:
                record.deal_contacts[found] = entry["associated_at"]
        for position, entry in enumerate(record.values["scores"]):
            if entry["recorded_at"] in record.scores:
                problems.add(
                    f"{path}.scores[{position}].recorded_at", "two readings at the same time"
                )
                ok = False
            record.scores[entry["recorded_at"]] = entry["score"]
        return ok

    def _owner_history(
        self, table: SectionTable, record: Record, maps: dict[str, dict[str, int]], path: str
    ) -> bool:
        ok = True
        for position, entry in enumerate(record.values["owner_history"]):
            owner = entry["owner"]
            owner_id = None
            if owner is not None:
                owner_id = maps["users"].get(owner)
                if owner_id is None:
                    self.job.problems.add(
                        f"{path}.owner_history[{position}].owner", f"unknown user {owner!r}"
                    )
                    ok = False
                    continue
            record.history.append((owner_id, entry["assigned_at"]))
        if table.owned is not OwnedObject.ACTIVITY:
            record.owner_given_at = record.values["owner_assigned_at"] is not None
            if not record.owner_given_at:
                record.row.pop("owner_assigned_at")
        return ok

    def _unique_user_fields(self, values: dict[str, Any], path: str) -> bool:
        """Emails (compared regardless of case) and Slack ids belong to one user each."""
        if self._user_emails is None:
            self._load_user_fields()
        assert self._user_emails is not None
        ok = True
        for name, taken in (("email", self._user_emails), ("slack_user_id", self._user_slack_ids)):
            value = values[name]
            if value is None:
                continue
            key = value.lower() if name == "email" else value
            holder, theirs = taken.get(key, (None, None))
            if holder is not None and holder != values["id"]:
                also = f" (as {theirs!r}; emails are compared regardless of case)"
                self.job.problems.add(
                    f"{path}.{name}",
                    f"{value!r} already belongs to user {holder!r}"
                    + (also if theirs != value else ""),
                )
                ok = False
            else:
                taken[key] = (values["id"], value)
        return ok

    def _load_user_fields(self) -> None:
        users = SECTION_TABLES["users"].table
        rows = self.job.conn.execute(
            select(users.c.external_id, users.c.email, users.c.slack_user_id)
        )
        self._user_emails, self._user_slack_ids = {}, {}
        for ext, email, slack in rows:
            self._user_emails[email.lower()] = (ext, email)
            if slack:
                self._user_slack_ids[slack] = (ext, slack)

    def _resolve_stage(
        self, section: str, values: dict[str, Any], row: dict[str, Any], path: str
    ) -> bool:
        kind = PipelineObject.DEAL if section == "deals" else PipelineObject.LEAD
        pipeline = values["pipeline"]
        pipeline_id = self.job.ids.pipelines().get((kind, pipeline))
        if pipeline_id is None:
            self.job.problems.add(f"{path}.pipeline", f"unknown {kind.value} pipeline {pipeline!r}")
            return False
        stage_id = self.job.ids.stages[pipeline_id].get(values["stage"])
        if stage_id is None:
            self.job.problems.add(
                f"{path}.stage", f"unknown stage {values['stage']!r} in pipeline {pipeline!r}"
            )
            return False
        row["pipeline_id"], row["stage_id"] = pipeline_id, stage_id
        return True
