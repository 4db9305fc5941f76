"""Claiming digests and recording their outcome: the SQL behind "exactly once".

Every function here runs in the caller's session and leaves committing to the caller,
except that a claim only means something once committed: callers commit right after
``claim`` and before sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import DeliveryStatus, DigestDelivery, DigestKind
from storage.types import utc

# A claimed row whose claimer has not finished within this time is presumed dead (a crash
# or restart between claiming and sending) and may be claimed again.
DEFAULT_LEASE = timedelta(minutes=5)
# A digest that failed for a transient reason is tried again, at most this many times in
# all, each retry later than the one before (``retry_delay``): 1, 2, 4, ... 60 minutes, so
# the attempts spread over the catch-up window and a few minutes of Slack outage at
# someone's digest time does not spend them all.
MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(minutes=60)


def retry_delay(failed_attempts: int) -> timedelta:
    """How long after its ``failed_attempts``-th failure a digest is tried again."""
    return min(FIRST_RETRY_DELAY * (1 << max(failed_attempts - 1, 0)), MAX_RETRY_DELAY)


@dataclass(frozen=True)
class Claim:
    """A digest this process has won the right to send."""

    delivery_id: int
    kind: DigestKind
    recipient_id: int
    local_date: date
    attempt: int


def claim(
    session: Session,
    *,
    kind: DigestKind,
    recipient_id: int,
    local_date: date,
    due_at: datetime,
    now: datetime,
    claimer: str,
    lease: timedelta = DEFAULT_LEASE,
) -> Claim | None:
    """Claim one digest; return the claim, or None when someone else has (or had) it.

    First an insert-or-ignore of the unique (kind, recipient, local date) row: the only
    insert that takes effect wins. When the row exists, a compare-and-set on its
    ``attempts`` counter re-claims it if it was abandoned (claimed longer than ``lease``
    ago) or failed for a transient reason; a sent, skipped or permanently failed digest is
    never claimed again. Commit before sending.
    """
    now = utc(now)
    values: dict[str, Any] = {
        "kind": kind,
        "recipient_id": recipient_id,
        "local_date": local_date,
        "due_at": utc(due_at),
        "status": DeliveryStatus.CLAIMED,
        "attempts": 1,
        "claimed_at": now,
        "claimed_by": claimer,
        "permanent": False,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DigestDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "recipient_id", "local_date"])
        .returning(DigestDelivery.id)
    )
    # RETURNING yields the new id, or no row when the insert was ignored (both dialects).
    row_id = session.execute(statement).scalar_one_or_none()
    if row_id is not None:
        return Claim(row_id, kind, recipient_id, local_date, 1)
    return _reclaim(
        session,
        kind=kind,
        recipient_id=recipient_id,
        local_date=local_date,
        now=now,
        claimer=claimer,
        lease=lease,
    )


def _reclaim(
    session: Session,
    *,
    kind: DigestKind,
    recipient_id: int,
    local_date: date,
    now: datetime,
    claimer: str,
    lease: timedelta,
) -> Claim | None:
    row = session.execute(
        select(DigestDelivery.id, DigestDelivery.attempts, DigestDelivery.finished_at).where(
            DigestDelivery.kind == kind,
            DigestDelivery.recipient_id == recipient_id,
            DigestDelivery.local_date == local_date,
        )
    ).one_or_none()
    if row is None:
        return None
    row_id, seen_attempts, finished_at = row
    if seen_attempts >= MAX_ATTEMPTS:
        return None
    # A transient failure waits for its back-off before the next attempt.
    retry_from = utc(finished_at) + retry_delay(seen_attempts) if finished_at else now
    reclaimable = or_(
        and_(
            DigestDelivery.status == DeliveryStatus.CLAIMED,
            DigestDelivery.claimed_at < now - lease,
        ),
        and_(
            DigestDelivery.status == DeliveryStatus.FAILED,
            DigestDelivery.permanent.is_(False),
            literal(retry_from <= now),
        ),
    )
    # Compare-and-set: of several replicas re-claiming at once, only the one that still
    # sees the attempts counter it read changes the row.
    updated = session.execute(
        update(DigestDelivery)
        .where(
            DigestDelivery.id == row_id,
            DigestDelivery.attempts == seen_attempts,
            reclaimable,
        )
        .values(
            status=DeliveryStatus.CLAIMED,
            attempts=seen_attempts + 1,
            claimed_at=now,
            claimed_by=claimer,
            error=None,
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Claim(row_id, kind, recipient_id, local_date, seen_attempts + 1)


# A released claim looks abandoned long ago, so any replica's next tick re-claims it at once.
RELEASED_AT = datetime(1970, 1, 1, tzinfo=UTC)


def release_claims(session: Session, *, claimer: str) -> int:
    """Give up every digest ``claimer`` holds but has not finished; return how many.

    For a replica shutting down after its sends stopped: its claims would otherwise block
    those digests for a whole lease. The caller commits.
    """
    result = session.execute(
        update(DigestDelivery)
        .where(
            DigestDelivery.status == DeliveryStatus.CLAIMED, DigestDelivery.claimed_by == claimer
        )
        .values(claimed_at=RELEASED_AT)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _finish(session: Session, claim: Claim, now: datetime, **values: Any) -> bool:
    # Only the holder of this attempt may finish it: a claimer that outlived its lease and
    # lost the row to a re-claim must not overwrite the newer outcome.
    result = session.execute(
        update(DigestDelivery)
        .where(
            DigestDelivery.id == claim.delivery_id,
            DigestDelivery.attempts == claim.attempt,
            DigestDelivery.status == DeliveryStatus.CLAIMED,
        )
        .values(finished_at=utc(now), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_sent(
    session: Session, claim: Claim, *, channel_id: str, message_ts: str, now: datetime
) -> bool:
    """Record that Slack accepted the digest (the ts lets buttons update it in place)."""
    return _finish(
        session,
        claim,
        now,
        status=DeliveryStatus.SENT,
        channel_id=channel_id,
        message_ts=message_ts,
        error=None,
    )


def mark_failed(
    session: Session, claim: Claim, *, reason: str, permanent: bool, now: datetime
) -> bool:
    """Record a refusal; a permanent one is never tried again, a transient one may be."""
    return _finish(
        session,
        claim,
        now,
        status=DeliveryStatus.FAILED,
        error=reason[:2000],
        permanent=permanent,
    )


def mark_given_up(session: Session, claim: Claim, *, reason: str, now: datetime) -> bool:
    """Record that the last attempt failed too: the digest is missed, with the reason."""
    return _finish(
        session,
        claim,
        now,
        status=DeliveryStatus.MISSED,
        error=f"given up after {claim.attempt} attempts: {reason}"[:2000],
        permanent=False,
    )


def record_missed(
    session: Session,
    *,
    kind: DigestKind,
    recipient_id: int,
    local_date: date,
    reason: str,
    now: datetime,
) -> bool:
    """Record a digest tried in vain whose catch-up window closed as missed, with the reason.

    A failed or abandoned attempt becomes missed, its last error kept in the reason; sent,
    skipped or permanently failed rows are left as they are, and a digest never tried has
    no row to mark (the scheduler's ERROR line reports it). True when a row was marked.
    """
    row = session.execute(
        select(DigestDelivery.id, DigestDelivery.error).where(
            DigestDelivery.kind == kind,
            DigestDelivery.recipient_id == recipient_id,
            DigestDelivery.local_date == local_date,
            DigestDelivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.CLAIMED]),
            DigestDelivery.permanent.is_(False),
        )
    ).one_or_none()
    if row is None:
        return False
    row_id, last_error = row
    detail = f"{reason}; last error: {last_error}" if last_error else reason
    session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == row_id)
        .values(status=DeliveryStatus.MISSED, error=detail[:2000], finished_at=utc(now))
        .execution_options(synchronize_session=False)
    )
    return True


def mark_skipped(session: Session, claim: Claim, *, reason: str, now: datetime) -> bool:
    """Record that nothing was sent on purpose (an empty digest the recipient opted out of)."""
    return _finish(session, claim, now, status=DeliveryStatus.SKIPPED, error=reason)


def settled_recipients(
    session: Session, *, kind: DigestKind, local_dates: set[date]
) -> set[tuple[int, date]]:
    """(recipient, local date) pairs that need no more work: sent, skipped, failed for good.

    Transient failures and claims are left out: the caller tries to (re-)claim them, and
    ``claim`` decides.
    """
    if not local_dates:
        return set()
    rows = session.execute(
        select(DigestDelivery.recipient_id, DigestDelivery.local_date).where(
            DigestDelivery.kind == kind,
            DigestDelivery.local_date.in_(local_dates),
            or_(
                DigestDelivery.status.in_(
                    [DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.MISSED]
                ),
                DigestDelivery.permanent.is_(True),
            ),
        )
    )
    return {(recipient_id, local_date) for recipient_id, local_date in rows}


def deliveries_on(session: Session, local_date: date) -> list[DigestDelivery]:
    """Every delivery recorded for ``local_date`` (for the CLI and the logs)."""
    return list(
        session.scalars(
            select(DigestDelivery)
            .where(DigestDelivery.local_date == local_date)
            .order_by(DigestDelivery.kind, DigestDelivery.recipient_id)
        )
    )
