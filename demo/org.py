"""The demo organisation as a whole: who is in it, in which order it is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from demo.background import ordinary_year
from demo.people import DEMO_REP_SLACK_ID, TEAMS, add_staff
from demo.records import Builder, Person
from demo.rows import sync_sequences
from demo.safety import DEMO_DB_FILENAME, DemoRefused, has_crm_data, is_demo_database, wipe
from demo.scenario import FEATURED_DEAL_NAME, dana_day
from demo.wording import COMPANY_FIRST_WORDS, COMPANY_SECOND_WORDS
from storage.models import Sequence, WorkspaceSettings


@dataclass(frozen=True)
class DemoOrg:
    """What the demo built, and the records a walkthrough starts from."""

    rep_id: int
    rep_name: str
    rep_email: str
    rep_slack_user_id: str
    manager_id: int
    manager_name: str
    admin_id: int
    admin_name: str
    featured_deal_id: int
    featured_deal_name: str
    seed: int
    now: datetime
    # Rows written per table.
    counts: dict[str, int] = field(default_factory=dict)


def build_demo_org(
    session: Session, *, now: datetime, seed: int = 42, reset: bool = False
) -> DemoOrg:
    """Fill an empty database with the demo organisation, relative to ``now``.

    The caller commits. Nothing is written when a check fails.

    Args:
        session: A session on the target database (schema at head).
        now: The instant everything is relative to (aware).
        seed: Same seed, same organisation.
        reset: Delete every row first. Allowed only on the embedded demo database
            (a SQLite file named ``demo.sqlite3``, or in-memory SQLite).

    Raises:
        DemoRefused: The database holds CRM data and ``reset`` is off, or ``reset`` was asked
            for a database that is not the embedded demo database.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware value")
    if reset:
        if not is_demo_database(session):
            raise DemoRefused(
                "refusing to reset: only the embedded demo database "
                f"(a SQLite file named {DEMO_DB_FILENAME}) may be wiped"
            )
        wipe(session)
    elif has_crm_data(session):
        raise DemoRefused(
            "the database already holds CRM data: the demo only fills an empty database"
        )
    builder = Builder(session, now, seed)
    org = _populate(builder)
    counts = builder.rows.write(session)
    if session.get_bind().dialect.name == "postgresql":
        sync_sequences(session, builder.rows)
    session.flush()
    return DemoOrg(**{**org, "seed": seed, "now": builder.now, "counts": counts})


def _populate(b: Builder) -> dict[str, Any]:
    # Settings are not CRM data: an existing row is the operator's choice and stays.
    if b.session.get(WorkspaceSettings, 1) is None:
        b.rows.add(WorkspaceSettings, id=1, hipaa_sensitive_data=False, customer_analysis=True)
    staff = add_staff(b)
    companies = _companies(b, staff.reps)
    sequences = _sequences(b, staff.managers)
    dana, manager = staff.reps[0], staff.managers[0]
    featured = dana_day(b, dana, manager, staff.reps[1], companies, sequences[0])
    for rep in staff.reps:
        ordinary_year(b, rep, companies, sequences[rep.team])
    return {
        "rep_id": dana.id,
        "rep_name": dana.name,
        "rep_email": dana.email,
        "rep_slack_user_id": DEMO_REP_SLACK_ID,
        "manager_id": manager.id,
        "manager_name": manager.name,
        "admin_id": staff.admin.id,
        "admin_name": staff.admin.name,
        "featured_deal_id": featured,
        "featured_deal_name": FEATURED_DEAL_NAME,
    }


def _companies(b: Builder, reps: list[Person]) -> list[tuple[int, str, bool]]:
    """160 companies, one in eight a target account: (id, email domain, is target)."""
    names = sorted({f"{a} {c}" for a in COMPANY_FIRST_WORDS for c in COMPANY_SECOND_WORDS})
    b.rng.shuffle(names)
    companies: list[tuple[int, str, bool]] = []
    for index, name in enumerate(names[:160]):
        target = index % 8 == 0
        company_id = b.company(name, target=target, owner=b.rng.choice(reps) if target else None)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        companies.append((company_id, f"{slug}.example", target))
    return companies


def _sequences(b: Builder, managers: list[Person]) -> list[int]:
    """One outbound sequence per team, owned by its manager."""
    return [
        b.rows.add(
            Sequence,
            external_id=b.key("sequence"),
            name=f"{team_name} outbound Q1",
            owner_id=managers[team_index].id,
        )
        for team_index, (_, team_name, _, _) in enumerate(TEAMS)
    ]
