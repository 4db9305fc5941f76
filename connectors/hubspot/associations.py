"""The association sweep: links changed in HubSpot without a modified date, picked up.

HubSpot does not move a record's modified date when an association is added or removed,
so an incremental sync does not see it. Webhooks (``object.associationChange``) bring such
changes in seconds; a deployment without them (Socket Mode) runs this sweep every
``SALESBOT_HUBSPOT_ASSOCIATION_SWEEP_MINUTES``. It re-reads, through the v4 batch
associations endpoint (1,000 records a request per target type, inside the portal's rate
limiter), the associations of the records whose links the guided actions read now: open
deals, open leads, open tasks, and activities of the last ``ACTIVE_DAYS`` days (or planned
later). Records whose links differ from the store's are read again and written as a sync
writes them, so their guided actions are re-evaluated (docs/hubspot.md, "Association
changes").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from connectors.hubspot import mapping, writes
from connectors.hubspot.api import Association
from connectors.hubspot.objects import DEALS, LEADS, OBJECT_TYPES, ObjectType
from connectors.hubspot.sync import GROUP, Syncer
from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Company,
    Contact,
    Deal,
    DealContact,
    Lead,
    PipelineStage,
    StageState,
    TaskStatus,
)

# Activities this recent (or later: planned meetings, tasks due) have their links checked.
ACTIVE_DAYS = 30

# Records created in salesbot that HubSpot does not hold yet (write-back pending).
_LOCAL = "salesbot-%"
_BY_KIND = {t.kind: t for t in OBJECT_TYPES if t.kind is not None}
_TARGETS: dict[str, Any] = {
    "contacts": Contact,
    "companies": Company,
    "deals": Deal,
    "leads": Lead,
}
_ACTIVITY_LINKS = (
    (ActivityContact, "contacts", ActivityContact.contact_id),
    (ActivityCompany, "companies", ActivityCompany.company_id),
    (ActivityDeal, "deals", ActivityDeal.deal_id),
    (ActivityLead, "leads", ActivityLead.lead_id),
)

Links = dict[str, Any]  # what ``mapping.linked`` gives, lists made sets


@dataclass
class SweepReport:
    """Records whose associations were read, and those whose links had changed."""

    checked: int = 0
    changed: int = 0


def sweep_associations(
    syncer: Syncer, *, now: datetime, active_days: int = ACTIVE_DAYS
) -> SweepReport:
    """Re-read the associations of the records the rules read now; write the changed ones.

    What was written lands in ``syncer.result`` (``touched``) like a sync's changes.

    Raises:
        BudgetSpent: the portal's daily budget ran out (nothing half-written).
    """
    report = SweepReport()
    with Session(syncer.engine) as session:
        candidates = _candidates(session, now - timedelta(days=active_days))
    for kind, external_ids in candidates:
        for start in range(0, len(external_ids), GROUP):
            chunk = external_ids[start : start + GROUP]
            report.checked += len(chunk)
            report.changed += _sweep(syncer, kind, chunk)
    syncer.record_requests()
    return report


def _candidates(session: Session, since: datetime) -> list[tuple[ObjectType, list[str]]]:
    """(object type, external ids) of open deals and leads and of current activities."""
    found: list[tuple[ObjectType, list[str]]] = []
    for kind, model in ((DEALS, Deal), (LEADS, Lead)):
        ids = session.scalars(
            select(model.external_id)
            .join(PipelineStage, PipelineStage.id == model.stage_id)
            .where(PipelineStage.state == StageState.OPEN, ~model.external_id.like(_LOCAL))
            .order_by(model.id)
        )
        found.append((kind, list(ids)))
    when = func.coalesce(Activity.occurred_at, Activity.created_at)
    open_task = and_(Activity.kind == ActivityKind.TASK, Activity.status != TaskStatus.COMPLETED)
    rows = session.execute(
        select(Activity.kind, Activity.external_id)
        .where(~Activity.external_id.like(_LOCAL), or_(when >= since, open_task))
        .order_by(Activity.id)
    )
    by_kind: dict[ActivityKind, list[str]] = {}
    for activity_kind, external_id in rows:
        by_kind.setdefault(activity_kind, []).append(external_id)
    found += [(_BY_KIND[k], ids) for k, ids in by_kind.items() if k in _BY_KIND]
    return [(kind, ids) for kind, ids in found if ids]


def _sweep(syncer: Syncer, kind: ObjectType, external_ids: Sequence[str]) -> int:
    """Compare one group's links with HubSpot's; write the records that differ."""
    fetched: dict[str, dict[str, list[Association]]] = {i: {} for i in external_ids}
    for to_type in kind.associations:
        for from_id, found in syncer.api.associations(kind.name, to_type, external_ids).items():
            if from_id in fetched:
                fetched[from_id][to_type] = found
    with Session(syncer.engine) as session:
        known = _known_targets(session, fetched.values())
        stored = _stored_links(session, kind, external_ids)
    changed = [
        record_id
        for record_id, links in fetched.items()
        if _normalised(kind, links, known) != stored.get(record_id)
    ]
    if changed:
        objects = syncer.api.batch_read(
            kind.name, changed, properties=kind.properties, history=kind.history
        )
        syncer.write(kind, objects, {o.id: fetched[o.id] for o in objects})
    return len(changed)


def _known_targets(
    session: Session, fetched: Iterable[Mapping[str, list[Association]]]
) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for links in fetched:
        for to_type, found in links.items():
            wanted.setdefault(to_type, set()).update(a.to_id for a in found)
    return {
        to_type: writes.known_external_ids(session, _table(to_type), ids)
        for to_type, ids in wanted.items()
    }


def _table(to_type: str) -> Table:
    table = _TARGETS[to_type].__table__
    assert isinstance(table, Table)
    return table


def _normalised(
    kind: ObjectType, links: Mapping[str, list[Association]], known: Mapping[str, set[str]]
) -> Links:
    """HubSpot's links as the store would hold them (references it does not hold dropped)."""
    fields = mapping.linked(kind, mapping.Context(links))
    section = {"contact": "contacts", "company": "companies"}
    normal: Links = {}
    for name, value in fields.items():
        if isinstance(value, list):
            normal[name] = frozenset(v for v in value if v in known.get(name, set()))
        else:
            normal[name] = value if value in known.get(section[name], set()) else None
    return normal


def _stored_links(
    session: Session, kind: ObjectType, external_ids: Sequence[str]
) -> dict[str, Links]:
    if kind is DEALS:
        return _stored_deal_links(session, external_ids)
    if kind is LEADS:
        return _stored_lead_links(session, external_ids)
    return _stored_activity_links(session, external_ids)


def _stored_deal_links(session: Session, external_ids: Sequence[str]) -> dict[str, Links]:
    stored: dict[str, Links] = {}
    rows = session.execute(
        select(Deal.external_id, Company.external_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .where(Deal.external_id.in_(external_ids))
    )
    for deal, company in rows:
        stored[deal] = {"company": company, "contacts": set()}
    contacts = session.execute(
        select(Deal.external_id, Contact.external_id)
        .join(DealContact, DealContact.deal_id == Deal.id)
        .join(Contact, Contact.id == DealContact.contact_id)
        .where(Deal.external_id.in_(external_ids))
    )
    for deal, contact in contacts:
        stored[deal]["contacts"].add(contact)
    return {k: {**v, "contacts": frozenset(v["contacts"])} for k, v in stored.items()}


def _stored_lead_links(session: Session, external_ids: Sequence[str]) -> dict[str, Links]:
    contact, company = aliased(Contact), aliased(Company)
    rows = session.execute(
        select(Lead.external_id, contact.external_id, company.external_id)
        .outerjoin(contact, contact.id == Lead.contact_id)
        .outerjoin(company, company.id == Lead.company_id)
        .where(Lead.external_id.in_(external_ids))
    )
    return {lead: {"contact": c, "company": co} for lead, c, co in rows}


def _stored_activity_links(session: Session, external_ids: Sequence[str]) -> dict[str, Links]:
    rows = session.execute(
        select(Activity.id, Activity.external_id).where(Activity.external_id.in_(external_ids))
    )
    ids: dict[int, str] = {row_id: external_id for row_id, external_id in rows}
    sets: dict[str, dict[str, set[str]]] = {
        e: {t: set() for _, t, _ in _ACTIVITY_LINKS} for e in ids.values()
    }
    for link, to_type, column in _ACTIVITY_LINKS:
        target = _TARGETS[to_type]
        links = session.execute(
            select(link.activity_id, target.external_id)
            .join(target, target.id == column)
            .where(link.activity_id.in_(list(ids)))
        )
        for activity_id, external_id in links:
            sets[ids[activity_id]][to_type].add(external_id)
    return {e: {t: frozenset(v) for t, v in found.items()} for e, found in sets.items()}
