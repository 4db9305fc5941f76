"""The outbox's claim: a record's rows go out in order, one replica holds a record at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.models import ChangeKind, OutboxState, OwnedObject
from storage.outbox import OUTBOX_INFO_KEY, claim, enqueue_write
from tests.builders import CRM

TTL = timedelta(minutes=10)


def test_replicas_claim_disjoint_records_and_only_each_records_oldest_row(
    any_engine: Engine, now: datetime
) -> None:
    with Session(any_engine, info={OUTBOX_INFO_KEY: "HubSpot"}) as session:
        crm = CRM(session, now)
        ana = crm.user(name="Ana")
        tasks = [crm.task(ana, subject=f"Call {n}") for n in range(3)]
        for task in tasks:
            for kind in (ChangeKind.RESCHEDULED, ChangeKind.COMPLETED):
                enqueue_write(
                    session,
                    object_type=OwnedObject.ACTIVITY,
                    object_id=task.id,
                    kind=kind,
                    actor_id=ana.id,
                    at=now,
                    changes={"status": ("not_started", "completed")},
                )
        session.commit()

    with (
        Session(any_engine, expire_on_commit=False) as a,
        Session(any_engine, expire_on_commit=False) as b,
    ):
        first = claim(a, holder="a", now=now, ttl=TTL, limit=2)
        a.commit()
        second = claim(b, holder="b", now=now, ttl=TTL)
        b.commit()
        again = claim(b, holder="b", now=now + TTL + timedelta(seconds=1), ttl=TTL)

    claimed_a = {r.object_id for r in first}
    claimed_b = {r.object_id for r in second}
    assert len(first) == 2 and len(second) == 1 and not claimed_a & claimed_b
    # Each is the record's first row; the second rows wait for them.
    assert all(r.fields == {"status": "completed"} for r in [*first, *second])
    assert {r.id for r in [*first, *second]} == _first_rows(any_engine)
    # Once a's claims run out, b may take those records over (still their first rows).
    assert {r.object_id for r in again} == claimed_a | claimed_b


def _first_rows(engine: Engine) -> set[int]:
    from sqlalchemy import func, select

    from storage.models import OutboxWrite

    with Session(engine) as session:
        return set(
            session.scalars(
                select(func.min(OutboxWrite.id))
                .where(OutboxWrite.state == OutboxState.PENDING)
                .group_by(OutboxWrite.object_id)
            )
        )
