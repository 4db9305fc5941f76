"""A send pace shared through the database: one budget per Slack workspace, every replica.

Each send books the next free slot with one atomic UPDATE ... RETURNING, so two replicas
(or two threads) never get the same slot, and the slots come ``interval`` apart whatever
the number of senders. A 429 pushes ``held_until`` forward, and every sender waits for it.
Each function commits nothing: the caller's short unit of work does.
"""

from __future__ import annotations

from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SendBudget

_C = SendBudget.__table__.c


def _ensure(session: Session, name: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SendBudget)
        .values(name=name, next_slot=0.0, held_until=0.0)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def _later(a: object, b: object) -> object:
    return case((a > b, a), else_=b)  # type: ignore[operator]


def book_slot(session: Session, *, name: str, interval: float, now: float) -> float:
    """Book the next send slot of budget ``name``; return when it starts (epoch seconds).

    The slot starts at the latest of ``now``, the budget's next free slot and its hold.
    """
    _ensure(session, name)
    start = _later(_later(literal(now), _C.next_slot), _C.held_until)
    booked = session.execute(
        update(SendBudget)
        .where(_C.name == name)
        .values(next_slot=start + interval)  # type: ignore[operator]
        .returning(_C.next_slot)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return float(booked) - interval


def hold(session: Session, *, name: str, until: float) -> None:
    """Hold every sender of budget ``name`` until ``until`` (a 429's Retry-After)."""
    _ensure(session, name)
    session.execute(
        update(SendBudget)
        .where(_C.name == name)
        .values(held_until=_later(_C.held_until, literal(until)))
        .execution_options(synchronize_session=False)
    )


def held_until(session: Session, *, name: str) -> float:
    """Until when budget ``name`` is held (0 when it never was)."""
    found = session.scalar(select(_C.held_until).where(_C.name == name))
    return float(found or 0.0)
