"""Apply-once bookkeeping for Slack deliveries (event retries, double clicks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlackReceipt
from storage.types import utc

MAX_KEY_LENGTH = 255


def claim_once(session: Session, key: str, *, now: datetime) -> bool:
    """Record ``key`` as applied; return True only for the first caller, ever.

    Uses ``INSERT ... ON CONFLICT DO NOTHING`` so two replicas racing on the same key
    cannot both win. The caller commits (with the work it guards, when it can).

    Args:
        session: The unit of work to insert in.
        key: What identifies the delivery, e.g. ``"event:Ev0123"``.
        now: When it was received (aware).

    Raises:
        ValueError: If the key is empty or longer than 255 characters.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError("a receipt key must be 1 to 255 characters")
    values = {"key": key, "received_at": utc(now)}
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "sqlite":
        stmt = sqlite.insert(SlackReceipt).values(values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(SlackReceipt).values(values).on_conflict_do_nothing()
    else:  # any other database: a savepoint and the primary key do the same job
        try:
            with session.begin_nested():
                session.add(SlackReceipt(**values))
            return True
        except IntegrityError:
            return False
    # RETURNING says whether this insert won; rowcount is not reliable on every driver.
    return session.execute(stmt.returning(SlackReceipt.key)).first() is not None


def prune_receipts(session: Session, *, older_than: datetime) -> int:
    """Delete receipts received before ``older_than``; return how many went.

    Slack stops retrying within minutes, so a day's worth is plenty.
    """
    result = session.execute(delete(SlackReceipt).where(SlackReceipt.received_at < utc(older_than)))
    return int(getattr(result, "rowcount", 0) or 0)
