"""Fill a stand-in portal from a salesbot store: the same organisation, as HubSpot holds it.

Reads every CRM row of a store (the demo's, the benchmark's, a test's) and writes the HubSpot
objects, properties, owners, pipelines and associations a portal would have for it. The
mapping is the table "What maps to what" in docs/hubspot.md; where HubSpot has no documented
home for a value, the choice made here is written there too. ``LoadedPortal.ids`` maps each
store record to its HubSpot id so tests can compare a synced store with the source.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from demo.hubspot_portal.portal import HistoryEntry, PipelineDef, Portal, Record, Stage
from demo.hubspot_portal.schema import iso
from demo.hubspot_portal.sequences import contact_sequence_properties
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityLead,
    Assignment,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    Lead,
    Pipeline,
    PipelineStage,
    SequenceEnrollment,
    Team,
    User,
)
from storage.models.base import Base

# HubSpot object type -> salesbot's assignment-history kind (OwnedObject).
_OWNED_KIND = {
    "contacts": "contact",
    "companies": "company",
    "leads": "lead",
    "deals": "deal",
    **{t: "activity" for t in ("tasks", "meetings", "calls", "emails", "notes")},
}
_ACTIVITY_TYPES = {
    "task": "tasks",
    "meeting": "meetings",
    "call": "calls",
    "email": "emails",
    "note": "notes",
}
_EMAIL_DIRECTIONS = {
    "outgoing": "EMAIL",
    "incoming": "INCOMING_EMAIL",
    "forwarded": "FORWARDED_EMAIL",
}
# Roles live in the portal's permission sets; the stand-in names one role per salesbot role.
ROLE_IDS = {"rep": "8001", "manager": "8002", "super_admin": None}
ROLE_NAMES = {"8001": "Sales rep", "8002": "Sales manager"}


@dataclass
class LoadedPortal:
    """What was loaded: counts per HubSpot type and store ids -> HubSpot ids."""

    counts: dict[str, int] = field(default_factory=dict)
    # ("contacts", store external_id) -> HubSpot id; ("owners", ...) and ("teams", ...) too.
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    rep_email: str = ""

    def hubspot_id(self, object_type: str, external_id: str) -> str:
        return self.ids[(object_type, external_id)]


def _rows(session: Session, model: type[Base]) -> list[Any]:
    table = model.__table__
    assert isinstance(table, Table)
    return list(session.execute(select(table).order_by(*table.primary_key.columns)).mappings())


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _date_value(value: date | None) -> str | None:
    # HubSpot date-time properties hold a date as midnight UTC.
    return iso(datetime.combine(value, time(0), tzinfo=UTC)) if value else None


def _upper(value: Any) -> str | None:
    return str(value).upper() if value is not None else None


class _Loader:
    def __init__(self, portal: Portal, session: Session) -> None:
        self.portal = portal
        self.session = session
        self.loaded = LoadedPortal()
        self.owner_ids: dict[int, str] = {}  # users.id -> owner id
        self.ids: dict[tuple[str, int], str] = {}  # (hubspot type, store id) -> HubSpot id
        self.stage_ids: dict[int, tuple[str, str]] = {}  # stage row id -> (pipeline, stage)
        self.pipeline_ids: dict[int, str] = {}
        self.assignments: dict[tuple[str, int], list[tuple[datetime, int | None]]] = defaultdict(
            list
        )

    def owner(self, user_id: int | None) -> str | None:
        return self.owner_ids.get(user_id) if user_id is not None else None

    def add(
        self,
        hubspot_type: str,
        row: Any,
        properties: dict[str, Any],
        *,
        history: Iterable[tuple[str, str | None, datetime | None]] = (),
        touched: datetime | None = None,
    ) -> Record:
        """Create one record; its modified date is the latest thing that happened to it."""
        created = _utc(row["created_at"]) or self.portal.now()
        entries: list[tuple[str, str | None, datetime]] = [
            (name, value, at.replace(tzinfo=at.tzinfo or UTC))
            for name, value, at in history
            if at is not None
        ]
        for at, user_id in self.assignments.get((_OWNED_KIND[hubspot_type], row["id"]), []):
            entries.append(("hubspot_owner_id", self.owner(user_id), at.replace(tzinfo=UTC)))
        times = [created, *(at for _, _, at in entries)]
        if touched is not None:
            times.append(_utc(touched) or created)
        modified = min(max(times), max(created, self.portal.now()))
        record = self.portal.create(
            hubspot_type,
            {"createdate": created, **{k: v for k, v in properties.items() if v is not None}},
            at=modified,
            track_history=False,
        )
        # Property history as HubSpot keeps it (oldest first); what a sync reads through
        # propertiesWithHistory for the rules' "changed at" questions.
        for name, value, at in sorted(entries, key=lambda e: e[2]):
            record.history.setdefault(name, []).append(HistoryEntry(value, at, "CRM_UI"))
        self.ids[(hubspot_type, row["id"])] = record.id
        self.loaded.ids[(hubspot_type, row["external_id"])] = record.id
        self.loaded.counts[hubspot_type] = self.loaded.counts.get(hubspot_type, 0) + 1
        return record

    def link(
        self,
        from_type: str,
        from_id: int,
        to_type: str,
        to_id: int | None,
        *,
        primary: bool = False,
    ) -> None:
        source = self.ids.get((from_type, from_id))
        target = self.ids.get((to_type, to_id)) if to_id is not None else None
        if source and target:
            self.portal.associate(from_type, source, to_type, target, primary=primary)

    # The organisation -----------------------------------------------------------------

    def people(self) -> None:
        self.portal.roles.update(ROLE_NAMES)
        teams = {}
        for row in _rows(self.session, Team):
            teams[row["id"]] = self.portal.add_team(row["name"])
            self.loaded.ids[("teams", row["external_id"])] = teams[row["id"]].id
        for row in _rows(self.session, User):
            first, _, last = row["name"].partition(" ")
            team = teams.get(row["team_id"])
            owner = self.portal.add_owner(
                row["email"],
                first,
                last,
                teams=[team] if team else [],
                archived=not row["is_active"],
            )
            self.owner_ids[row["id"]] = owner.id
            self.loaded.ids[("owners", row["external_id"])] = owner.id
            self.portal.user_roles[owner.id] = (
                str(row["role"]) == "super_admin",
                ROLE_IDS.get(str(row["role"])),
            )
            # The CRM users object carries the time zone owners lack.
            self.portal.create(
                "users",
                {
                    "hs_email": row["email"],
                    "hs_given_name": first,
                    "hs_family_name": last,
                    "hs_internal_user_id": owner.user_id,
                    "hs_standard_time_zone": row["timezone"],
                },
                track_history=False,
            )
            self.loaded.counts["owners"] = self.loaded.counts.get("owners", 0) + 1
        for row in _rows(self.session, Assignment):
            self.assignments[(str(row["object_type"]), row["object_id"])].append(
                (row["assigned_at"], row["owner_id"])
            )

    def pipelines(self) -> None:
        stages: dict[int, list[Any]] = defaultdict(list)
        for row in _rows(self.session, PipelineStage):
            stages[row["pipeline_id"]].append(row)
        by_type: dict[str, list[PipelineDef]] = defaultdict(list)
        for row in _rows(self.session, Pipeline):
            hubspot_type = "deals" if str(row["object_type"]) == "deal" else "leads"
            self.pipeline_ids[row["id"]] = row["external_id"]
            stage_defs = []
            for stage in sorted(stages[row["id"]], key=lambda s: s["display_order"]):
                self.stage_ids[stage["id"]] = (row["external_id"], stage["external_id"])
                probability = stage["probability"]
                stage_defs.append(
                    Stage(
                        stage["external_id"],
                        stage["label"],
                        stage["display_order"],
                        is_closed=str(stage["state"]) != "open",
                        probability=float(probability) if probability is not None else None,
                    )
                )
            pipelines = by_type[hubspot_type]
            pipelines.append(
                PipelineDef(row["external_id"], row["label"], len(pipelines), stage_defs)
            )
        for hubspot_type, defs in by_type.items():
            self.portal.set_pipelines(hubspot_type, defs)

    def companies(self) -> None:
        for row in _rows(self.session, Company):
            self.add(
                "companies",
                row,
                {
                    "name": row["name"],
                    "domain": row["domain"],
                    "hs_is_target_account": bool(row["is_target_account"]),
                    "hubspot_owner_id": self.owner(row["owner_id"]),
                    "hubspot_owner_assigneddate": _utc(row["owner_assigned_at"]),
                },
            )

    def contacts(
        self, last_opened: dict[int, datetime], sequences: dict[int, dict[str, Any]]
    ) -> None:
        for row in _rows(self.session, Contact):
            self.add(
                "contacts",
                row,
                {
                    "firstname": row["first_name"],
                    "lastname": row["last_name"],
                    "email": row["email"],
                    "lifecyclestage": row["lifecycle_stage"],
                    "hubspot_owner_id": self.owner(row["owner_id"]),
                    "hubspot_owner_assigneddate": _utc(row["owner_assigned_at"]),
                    "associatedcompanyid": self.ids.get(("companies", row["company_id"])),
                    "hs_sales_email_last_opened": last_opened.get(row["id"]),
                    **sequences.get(row["id"], {}),
                },
            )
            self.link("contacts", row["id"], "companies", row["company_id"], primary=True)

    def leads(self) -> None:
        for row in _rows(self.session, Lead):
            pipeline, stage = self.stage_ids[row["stage_id"]]
            self.add(
                "leads",
                row,
                {
                    "hs_lead_name": row["name"],
                    "hs_pipeline": pipeline,
                    "hs_pipeline_stage": stage,
                    "hubspot_owner_id": self.owner(row["owner_id"]),
                    "hubspot_owner_assigneddate": _utc(row["owner_assigned_at"]),
                    "hs_lead_disqualification_reason": row["disqualification_reason"],
                },
                history=[("hs_pipeline_stage", stage, row["stage_changed_at"])],
            )
            self.link("leads", row["id"], "contacts", row["contact_id"], primary=True)
            self.link("leads", row["id"], "companies", row["company_id"], primary=True)

    def deals(self) -> None:
        scores: dict[int, list[Any]] = defaultdict(list)
        for row in _rows(self.session, DealScore):
            scores[row["deal_id"]].append(row)
        for row in _rows(self.session, Deal):
            pipeline, stage = self.stage_ids[row["stage_id"]]
            series = scores.get(row["id"], [])
            history: list[tuple[str, str | None, datetime | None]] = [
                ("dealstage", stage, row["stage_changed_at"]),
                ("hs_next_step", row["next_step"], row["next_step_updated_at"]),
            ]
            history += [("hs_deal_score", str(s["score"]), s["recorded_at"]) for s in series]
            amount = row["amount"]
            self.add(
                "deals",
                row,
                {
                    "dealname": row["name"],
                    "pipeline": pipeline,
                    "dealstage": stage,
                    "amount": f"{amount:f}".rstrip("0").rstrip(".") if amount is not None else None,
                    "deal_currency_code": row["currency"],
                    "closedate": _date_value(row["close_date"]),
                    "hubspot_owner_id": self.owner(row["owner_id"]),
                    "hubspot_owner_assigneddate": _utc(row["owner_assigned_at"]),
                    "hs_next_step": row["next_step"],
                    # Seen in real portals, not documented (FACTS.md 8); history is the
                    # documented way, and both are served.
                    "hs_next_step_updated_at": _utc(row["next_step_updated_at"]),
                    "hs_deal_score": str(series[-1]["score"]) if series else None,
                },
                history=history,
            )
            self.link("deals", row["id"], "companies", row["company_id"], primary=True)
        for row in _rows(self.session, DealContact):
            self.link("deals", row["deal_id"], "contacts", row["contact_id"])

    def activities(self, enrollments: dict[int, str]) -> None:
        for row in _rows(self.session, Activity):
            kind = str(row["kind"])
            hubspot_type = _ACTIVITY_TYPES[kind]
            properties: dict[str, Any] = {
                "hubspot_owner_id": self.owner(row["owner_id"]),
                "hs_timestamp": _utc(row["occurred_at"]),
            }
            properties.update(getattr(self, f"_{kind}")(row, enrollments))
            self.add(hubspot_type, row, properties, touched=row["updated_at"])
        for model, to_type, column in (
            (ActivityContact, "contacts", "contact_id"),
            (ActivityCompany, "companies", "company_id"),
            (ActivityDeal, "deals", "deal_id"),
            (ActivityLead, "leads", "lead_id"),
        ):
            for row in _rows(self.session, model):
                for hubspot_type in _ACTIVITY_TYPES.values():
                    if (hubspot_type, row["activity_id"]) in self.ids:
                        self.link(hubspot_type, row["activity_id"], to_type, row[column])
                        break

    # One method per activity kind: the kind's properties.

    def _task(self, row: Any, enrollments: dict[int, str]) -> dict[str, Any]:
        return {
            "hs_task_subject": row["subject"],
            "hs_task_body": row["body"],
            "hs_task_status": _upper(row["status"]),
            "hs_task_priority": _upper(row["priority"]),
            "hs_task_type": _upper(row["task_type"]),
            "hs_task_completion_date": _utc(row["completed_at"]),
            "hs_task_sequence_step_enrollment_id": enrollments.get(row["sequence_enrollment_id"]),
        }

    def _meeting(self, row: Any, _e: dict[int, str]) -> dict[str, Any]:
        return {
            "hs_meeting_title": row["subject"],
            "hs_meeting_body": row["body"],
            "hs_meeting_start_time": _utc(row["starts_at"]),
            "hs_meeting_end_time": _utc(row["ends_at"]),
            "hs_meeting_outcome": _upper(row["outcome"]),
            "hs_meeting_external_url": row["meeting_link"],
            "hs_meeting_location": row["location"],
        }

    def _call(self, row: Any, _e: dict[int, str]) -> dict[str, Any]:
        starts, ends = _utc(row["starts_at"]), _utc(row["ends_at"])
        duration = int((ends - starts).total_seconds() * 1000) if starts and ends else None
        if row["duration_seconds"] is not None:
            duration = row["duration_seconds"] * 1000
        return {
            "hs_call_title": row["subject"],
            "hs_call_body": row["body"],
            "hs_call_status": _upper(row["call_status"]),
            "hs_call_direction": "OUTBOUND",
            "hs_call_disposition": self.disposition(row["outcome"]),
            "hs_call_duration": duration,
            # Seen in real portals, not documented (FACTS.md, "where they don't meet" 7).
            "hs_call_source": (
                None
                if row["via_calling_feature"] is None
                else "CALLING_WIDGET"
                if row["via_calling_feature"]
                else "CRM_UI"
            ),
        }

    def _email(self, row: Any, _e: dict[int, str]) -> dict[str, Any]:
        to = list(row["to_emails"] or [])
        if row["primary_recipient"] and row["primary_recipient"] in to:
            # HubSpot lists recipients in the order of the To header; the first is "primary".
            to.remove(row["primary_recipient"])
            to.insert(0, row["primary_recipient"])
        cc = list(row["cc_emails"] or [])
        headers = {
            "from": {"email": row["from_email"]},
            "sender": {"email": row["from_email"]},
            "to": [{"email": address} for address in to],
            "cc": [{"email": address} for address in cc],
            "bcc": [],
        }
        tracked = bool(row["tracked"])
        return {
            "hs_email_subject": row["subject"],
            "hs_email_text": row["body"],
            "hs_email_direction": _EMAIL_DIRECTIONS.get(str(row["direction"]), "EMAIL"),
            "hs_email_status": "SENT",
            "hs_email_from_email": row["from_email"],
            "hs_email_to_email": ";".join(to) or None,
            "hs_email_cc_email": ";".join(cc) or None,
            "hs_email_headers": json.dumps(headers),
            # Seen in real portals, not documented (FACTS.md 1): replies share it.
            "hs_email_thread_id": row["thread_id"],
            # Seen in real portals, not documented (FACTS.md 2): a tracked email has a tracker
            # key and counts; there is no per-email open or click time.
            "hs_email_tracker_key": (
                str(uuid.uuid5(uuid.NAMESPACE_URL, row["external_id"])) if tracked else None
            ),
            "hs_email_open_count": (1 if row["opened_at"] else 0) if tracked else None,
            "hs_email_click_count": (1 if row["clicked_at"] else 0) if tracked else None,
            "hs_email_reply_count": (1 if row["replied_at"] else 0) if tracked else None,
        }

    def _note(self, row: Any, _e: dict[int, str]) -> dict[str, Any]:
        return {"hs_note_body": row["body"]}

    def disposition(self, label: str | None) -> str | None:
        if not label:
            return None
        for guid, known in self.portal.dispositions.items():
            if known.lower() == label.lower():
                return guid
        # A portal's custom disposition: a new GUID with the store's label.
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"disposition:{label}"))
        self.portal.dispositions[guid] = label
        return guid


def _last_opened(session: Session) -> dict[int, datetime]:
    """contacts.id -> the latest open of a tracked email to them (contact-level property)."""
    activity = Activity.__table__
    link = ActivityContact.__table__
    assert isinstance(activity, Table) and isinstance(link, Table)
    opened: dict[int, datetime] = {}
    rows = session.execute(
        select(link.c.contact_id, activity.c.opened_at)
        .join(activity, activity.c.id == link.c.activity_id)
        .where(activity.c.opened_at.is_not(None))
    )
    for contact_id, at in rows:
        moment = at if at.tzinfo else at.replace(tzinfo=UTC)
        if contact_id not in opened or moment > opened[contact_id]:
            opened[contact_id] = moment
    return opened


def load_store(portal: Portal, session: Session) -> LoadedPortal:
    """Write the store's organisation into ``portal`` (which should be empty).

    No webhook events are left behind: loading is the portal's past, not a change.
    """
    loader = _Loader(portal, session)
    with portal.lock:
        portal.recording = False
        loader.people()
        loader.pipelines()
        loader.companies()
        loader.contacts(_last_opened(session), contact_sequence_properties(session))
        loader.leads()
        loader.deals()
        enrollments = {row["id"]: row["external_id"] for row in _rows(session, SequenceEnrollment)}
        loader.activities(enrollments)
        portal.recording = True
    return loader.loaded
