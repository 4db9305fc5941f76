"""Claims: one winner per digest, abandoned claims re-claimable, sent ones never again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.deliveries import Claim, claim, mark_failed, mark_sent
from storage.models import DeliveryStatus, DigestDelivery, DigestKind

DAY = date(2026, 3, 11)


def _claim(
    session: Session, now: datetime, claimer: str = "a", recipient_id: int = 1
) -> Claim | None:
    return claim(
        session,
        kind=DigestKind.REP,
        recipient_id=recipient_id,
        local_date=DAY,
        due_at=now,
        now=now,
        claimer=claimer,
    )


def test_only_the_first_claim_wins(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        first = _claim(session, now, "a")
        session.commit()
        assert first is not None
        assert _claim(session, now, "b") is None
        session.commit()
        row = session.scalars(select(DigestDelivery)).one()
        assert (row.status, row.claimed_by, row.attempts) == (DeliveryStatus.CLAIMED, "a", 1)


def test_an_abandoned_claim_is_taken_over_after_the_lease(
    any_engine: Engine, now: datetime
) -> None:
    with Session(any_engine) as session:
        crashed = _claim(session, now, "crashed")
        session.commit()
        assert crashed is not None
        assert _claim(session, now + timedelta(minutes=4), "b") is None  # still leased
        taken = _claim(session, now + timedelta(minutes=6), "b")
        session.commit()
        assert taken is not None and taken.attempt == 2
        # The crashed claimer, back from the dead, cannot overwrite the new attempt.
        assert not mark_sent(session, crashed, channel_id="D1", message_ts="1.1", now=now)
        assert mark_sent(session, taken, channel_id="D1", message_ts="2.2", now=now)
        session.commit()
        assert _claim(session, now + timedelta(hours=1), "c") is None  # sent: never again
        row = session.scalars(select(DigestDelivery)).one()
        assert (row.status, row.message_ts, row.claimed_by) == (DeliveryStatus.SENT, "2.2", "b")


def test_failures_transient_are_retried_permanent_are_not(
    any_engine: Engine, now: datetime
) -> None:
    with Session(any_engine) as session:
        first = _claim(session, now, recipient_id=1)
        other = _claim(session, now, recipient_id=2)
        assert first is not None and other is not None
        mark_failed(session, first, reason="internal_error", permanent=False, now=now)
        mark_failed(session, other, reason="channel_not_found", permanent=True, now=now)
        session.commit()
        # A transient failure is tried again, after its back-off (a minute after the first).
        assert _claim(session, now, recipient_id=1) is None
        assert _claim(session, now + timedelta(minutes=1), recipient_id=1) is not None
        assert _claim(session, now + timedelta(minutes=1), recipient_id=2) is None
