"""Writes the snapshot importer does not do: owners and teams, deletions, merges.

Users keep what only salesbot knows (role, deal visibility, time zone, Slack link): HubSpot
owners carry none of it. Deleted and merged records go the way a deleted task goes: a
tombstone in ``record_changes``, references to the record cleared or moved to the survivor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from connectors.hubspot.api import Owner, PortalUser
from storage.changes import log_change
from storage.models import (
    Activity,
    Base,
    ChangeKind,
    Company,
    Contact,
    Deal,
    DealVisibility,
    Lead,
    OwnedObject,
    Role,
    Team,
    User,
)

Touched = tuple[OwnedObject, int]

SECTION_MODELS: dict[str, type[Company | Contact | Lead | Deal | Activity]] = {
    "companies": Company,
    "contacts": Contact,
    "leads": Lead,
    "deals": Deal,
    "activities": Activity,
}
SECTION_OWNED = {
    "companies": OwnedObject.COMPANY,
    "contacts": OwnedObject.CONTACT,
    "leads": OwnedObject.LEAD,
    "deals": OwnedObject.DEAL,
    "activities": OwnedObject.ACTIVITY,
}


def _owner_name(owner: Owner) -> str:
    name = f"{owner.first_name or ''} {owner.last_name or ''}".strip()
    return (name or owner.email or f"Owner {owner.id}")[:200]


def _role(person: PortalUser | None) -> Role:
    """Super admin from the flag; manager when a role's name says so; else rep.

    HubSpot's permission sets are not in the API: the role's name is what there is.
    """
    if person is None:
        return Role.REP
    if person.super_admin:
        return Role.SUPER_ADMIN
    if any("manager" in name.lower() for name in person.role_names):
        return Role.MANAGER
    return Role.REP


_VISIBILITY = {
    Role.SUPER_ADMIN: DealVisibility.EVERYTHING,
    Role.MANAGER: DealVisibility.TEAM,
    Role.REP: DealVisibility.OWNED,
}


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def upsert_owners(
    session: Session,
    owners: Sequence[Owner],
    people: Mapping[str, PortalUser],
    zones: Mapping[str, str],
) -> tuple[int, list[str]]:
    """Owners → users, their primary teams → teams; archived owners are deactivated.

    Role and time zone come from the portal's users (``people``, ``zones``, by e-mail) when
    it has them; deal visibility is set from the role for a new user only (salesbot's own
    setting afterwards).

    Returns:
        How many users were inserted or changed, and problems (owners without an email,
        unknown time zones).
    """
    problems: list[str] = []
    teams = _upsert_teams(session, owners)
    users = {u.external_id: u for u in session.scalars(select(User))}
    emails = {u.email.lower(): u for u in users.values()}
    changed = 0
    # Active owners win an email shared with an archived one.
    for owner in sorted(owners, key=lambda o: not o.archived):
        email = (owner.email or "").strip()
        if "@" not in email:
            problems.append(f"owner {owner.id}: no usable email, not synced")
            continue
        primary = next(
            (t for t in owner.teams if t.primary), owner.teams[0] if owner.teams else None
        )
        team_id = teams[primary.id].id if primary else None
        user = users.get(owner.id)
        holder = emails.get(email.lower())
        if holder is not None and holder is not user:
            if holder.is_active and owner.archived:
                continue
            # The address moved to another owner id: the old user lets go of it.
            holder.email = f"{holder.external_id}+released@invalid"
            session.flush()
        values = _user_values(owner, email, team_id, people.get(email.lower()))
        zone_name = zones.get(email.lower())
        zone = _zone(zone_name)
        if zone is not None:
            values["timezone"] = zone
        elif zone_name:
            problems.append(f"owner {owner.id}: unknown time zone {zone_name!r}, kept")
        if user is None:
            role = values.get("role", Role.REP)
            assert isinstance(role, Role)
            user = User(external_id=owner.id, deal_visibility=_VISIBILITY[role], **values)
            session.add(user)
            users[owner.id] = user
            changed += 1
        elif any(getattr(user, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(user, k, v)
            changed += 1
        emails[email.lower()] = user
        session.flush()
    return changed, problems


def _upsert_teams(session: Session, owners: Sequence[Owner]) -> dict[str, Team]:
    """The owners' teams, inserted or renamed; every team by external id."""
    teams = {t.external_id: t for t in session.scalars(select(Team))}
    for owner in owners:
        for team in owner.teams:
            known = teams.get(team.id)
            if known is None:
                known = teams[team.id] = Team(external_id=team.id, name=team.name[:200] or team.id)
                session.add(known)
            elif team.name and known.name != team.name[:200]:
                known.name = team.name[:200]
    session.flush()
    return teams


def _user_values(
    owner: Owner, email: str, team_id: int | None, person: PortalUser | None
) -> dict[str, object]:
    """A user's columns from its owner (and the portal user with the same email, if any)."""
    values: dict[str, object] = {
        "name": _owner_name(owner),
        "email": email,
        "email_domain": email.rsplit("@", 1)[1].lower(),
        "team_id": team_id,
        "is_active": not owner.archived,
    }
    if person is not None:
        values["role"] = _role(person)
    return values


def row_ids(session: Session, section: str, external_ids: Iterable[str]) -> dict[str, int]:
    model = SECTION_MODELS[section]
    wanted = list(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.execute(
                select(model.external_id, model.id).where(model.external_id.in_(chunk))
            ).all()
        )
    return found


def known_external_ids(session: Session, table: Table, external_ids: Iterable[str]) -> set[str]:
    wanted = list(set(external_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(select(table.c.external_id).where(table.c.external_id.in_(chunk)))
        )
    return found


def _references_to(table: Table) -> list[tuple[Table, str, bool, bool]]:
    """(table, column, nullable, part of the primary key) for every FK pointing at ``table``."""
    found = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                column = fk.parent
                found.append((other, column.name, bool(column.nullable), bool(column.primary_key)))
    return found


def delete_records(
    session: Session, section: str, external_ids: Sequence[str], *, now: datetime
) -> list[Touched]:
    """Remove records deleted in HubSpot; leave a tombstone; return what was touched."""
    ids = row_ids(session, section, external_ids)
    return _remove(session, section, ids, survivor=None, now=now)


def merge_records(
    session: Session, section: str, survivor: str, merged: Sequence[str], *, now: datetime
) -> list[Touched]:
    """Records merged into ``survivor`` in HubSpot: their references move to it, they go."""
    ids = row_ids(session, section, [survivor, *merged])
    survivor_id = ids.pop(survivor, None)
    if survivor_id is None:
        return []
    removed = _remove(session, section, ids, survivor=(survivor, survivor_id), now=now)
    return [(SECTION_OWNED[section], survivor_id), *removed] if removed else []


def _remove(
    session: Session,
    section: str,
    ids: Mapping[str, int],
    *,
    survivor: tuple[str, int] | None,
    now: datetime,
) -> list[Touched]:
    """Delete rows (external id → row id) with tombstones; references go to ``survivor``
    (external id, row id) when there is one, else they are cleared."""
    if not ids:
        return []
    table: Table = SECTION_MODELS[section].__table__  # type: ignore[assignment]
    owned = SECTION_OWNED[section]
    detail = (
        {"source": "hubspot"}
        if survivor is None
        else {
            "source": "hubspot",
            "merged_into": survivor[0],
        }
    )
    for external_id, row_id in ids.items():
        log_change(
            session,
            object_type=owned,
            object_id=row_id,
            external_id=external_id,
            kind=ChangeKind.DELETED,
            actor_id=None,
            at=now,
            detail=detail,
        )
    row_list = list(ids.values())
    _detach(session, table, row_list, replacement=survivor[1] if survivor else None)
    session.execute(delete(table).where(table.c.id.in_(row_list)))
    return [(owned, row_id) for row_id in row_list]


def _detach(session: Session, table: Table, row_ids: list[int], *, replacement: int | None) -> None:
    """Point every reference to ``row_ids`` at ``replacement``; without one, clear it."""
    for other, column, nullable, in_key in _references_to(table):
        col = other.c[column]
        if in_key:
            if replacement is not None:
                # A link the survivor already has would be a duplicate key: drop it first.
                others = [c for c in other.primary_key.columns if c.name != column]
                if others:
                    have = select(*others).where(col == replacement)
                    key = others[0]
                    session.execute(
                        delete(other).where(col.in_(row_ids)).where(key.in_(have.scalar_subquery()))
                    )
                session.execute(update(other).where(col.in_(row_ids)).values({column: replacement}))
            session.execute(delete(other).where(col.in_(row_ids)))
        elif replacement is not None:
            session.execute(update(other).where(col.in_(row_ids)).values({column: replacement}))
        elif nullable:
            session.execute(update(other).where(col.in_(row_ids)).values({column: None}))
        else:
            # Rows that cannot live without the record go too, and what points at them
            # lets go first (a deleted contact's enrollments, named by sequence tasks).
            doomed = list(session.scalars(select(other.c.id).where(col.in_(row_ids))))
            if doomed:
                _detach(session, other, doomed, replacement=None)
            session.execute(delete(other).where(col.in_(row_ids)))


def count_records(session: Session, section: str, kind: str | None = None) -> int:
    model = SECTION_MODELS[section]
    query = select(func.count()).select_from(model)
    if kind is not None:
        query = query.where(Activity.kind == kind)
    return int(session.scalar(query) or 0)


def set_last_opened(session: Session, opened: Mapping[int, datetime | None]) -> None:
    """Contacts' last open of a tracked email (HubSpot keeps it per contact)."""
    if not opened:
        return
    # One executemany for the group (a statement per contact was a quarter of a sync's CPU).
    table: Table = Contact.__table__  # type: ignore[assignment]
    statement = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values(email_last_opened_at=bindparam("_at"))
    )
    session.connection().execute(statement, [{"_id": i, "_at": at} for i, at in opened.items()])
