"""The fast insert path stores exactly what SQLAlchemy's own binding would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from storage.models import Activity, Deal, table_of
from storage.snapshot.bulk import BulkInserter
from tests.builders import CRM

BERLIN = timezone(timedelta(hours=1))


def _raw_rows(engine: Engine, table: str, external_id: str) -> tuple[Any, ...]:
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT * FROM {table} WHERE external_id = :e"), {"e": external_id}
        ).one()
    return tuple(row[2:])  # all but the row id and the external id


@pytest.mark.parametrize(
    "due",
    [
        datetime(2026, 3, 11, 15, 30, tzinfo=UTC),
        datetime(2026, 3, 11, 9, 5, 7, 120, tzinfo=BERLIN),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
)
def test_bulk_and_core_inserts_store_the_same_bytes(
    any_engine: Engine, now: datetime, due: datetime
) -> None:
    values: dict[str, Any] = {
        "kind": "task",
        "created_at": now,
        "occurred_at": due,
        "due_at": due,
        "status": "not_started",
        "attendees": None,
        "to_emails": ["a@b.example"],
        "tracked": True,
    }
    table = table_of(Activity)
    with any_engine.begin() as conn:
        conn.execute(insert(table), [{"external_id": "core", **values}])
        BulkInserter(conn).insert(table, [{"external_id": "bulk", **values}])

    assert _raw_rows(any_engine, "activities", "core") == _raw_rows(
        any_engine, "activities", "bulk"
    )


def test_bulk_dates_and_amounts_read_back_like_core(any_engine: Engine, now: datetime) -> None:
    from sqlalchemy.orm import Session

    with Session(any_engine) as session:
        crm = CRM(session, now)
        deal = crm.deal(close_date=date(2026, 4, 30))
        session.commit()
        deals = table_of(Deal)
        row = {c.name: getattr(deal, c.name) for c in deals.columns if c.name != "id"}
    row["external_id"] = "bulk"
    with any_engine.begin() as conn:
        BulkInserter(conn).insert(deals, [row])
        stored = conn.execute(select(deals).where(Deal.external_id == "bulk")).one()
    assert stored.close_date == date(2026, 4, 30)
    assert stored.amount == deal.amount
    assert _raw_rows(any_engine, "deals", "bulk") == _raw_rows(
        any_engine, "deals", deal.external_id
    )
