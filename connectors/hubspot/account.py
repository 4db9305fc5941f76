"""One store, one portal: the portal id recorded at the first sync, and checked at each.

A store synced from one portal and then given another portal's token would hold two CRMs'
records side by side (ids of one portal mean other records in the other). The first sync
records the token's portal id (account information API); later syncs, and the worker at
start, refuse a token of another portal. A token that may not read the account details
(HubSpot answers 403) syncs unchecked: a warning says so and ``status`` shows no portal.
Records such an unchecked sync left are not adopted by the next token that names its
portal unless the user says so (``salesbot hubspot sync --adopt-portal``). The write-back
sends nothing until the token's portal is confirmed (``gate_writes``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.hubspot.api import HubSpotApi, HubSpotError, MissingScope
from storage.models import SyncCursor, SyncPortal

logger = logging.getLogger(__name__)

NAME = "hubspot"


class OtherPortal(HubSpotError):
    """The token belongs to another portal than the one this store holds."""

    def __init__(self, recorded: int, current: int) -> None:
        super().__init__(
            f"this database holds HubSpot portal {recorded}, but SALESBOT_HUBSPOT_TOKEN "
            f"belongs to portal {current}: nothing was synced. To sync portal {current}, give "
            "it a database of its own (a new DATABASE_URL or SALESBOT_DATA_DIR, then "
            f"`salesbot db upgrade`); to go on with portal {recorded}, use its private app's "
            "token (docs/hubspot.md, Troubleshooting)"
        )
        self.recorded, self.current = recorded, current


class UnconfirmedPortal(HubSpotError):
    """The store holds records of a sync that recorded no portal: this token's is not
    taken on trust (it may be another portal's), only with ``adopt``."""

    def __init__(self, current: int) -> None:
        super().__init__(
            "this database holds HubSpot records from a sync that recorded no portal (a token "
            "without the `oauth` scope, or a salesbot before the portal check), and "
            f"SALESBOT_HUBSPOT_TOKEN belongs to portal {current}: nothing was synced. If "
            f"those records came from portal {current}, run `salesbot hubspot sync "
            "--adopt-portal` once to record it; otherwise give this portal a database of its "
            "own (docs/hubspot.md, Troubleshooting)"
        )
        self.current = current


@dataclass(frozen=True)
class PortalCheck:
    """The token's portal (None: the app may not read it, ``unchecked`` says why)."""

    portal_id: int | None
    unchecked: str | None = None


def recorded_portal(session: Session) -> SyncPortal | None:
    return session.get(SyncPortal, NAME)


def check_portal(
    engine: Engine, api: HubSpotApi, *, now: datetime, record: bool = True, adopt: bool = False
) -> PortalCheck:
    """Record the token's portal on first use; raise ``OtherPortal`` for another one.

    Raises ``UnconfirmedPortal`` rather than record a portal for a store that already
    holds synced records (an unchecked sync's: they may be another portal's).

    Args:
        record: False only looks (``salesbot hubspot status``): no portal is recorded.
        adopt: The user confirmed that the store's records are this token's portal's
            (``salesbot hubspot sync --adopt-portal``).
    """
    try:
        current = api.portal_id()
    except MissingScope as error:
        reason = (
            f"the private app may not read the account details ({error}); this database is "
            "not checked against the portal it holds"
        )
        logger.warning("hubspot: %s", reason)
        return PortalCheck(None, reason)
    with Session(engine) as session:
        row = recorded_portal(session)
        if row is None and not adopt and session.scalar(select(SyncCursor.object_type).limit(1)):
            raise UnconfirmedPortal(current)
        if row is None and not record:
            return PortalCheck(current)
        if row is None:
            try:
                session.add(SyncPortal(name=NAME, portal_id=current, recorded_at=now))
                session.commit()
                return PortalCheck(current)
            except IntegrityError:  # another replica recorded it first
                session.rollback()
                row = recorded_portal(session)
                assert row is not None
        if row.portal_id != current:
            raise OtherPortal(row.portal_id, current)
    return PortalCheck(current)


@dataclass(frozen=True)
class WriteGate:
    """Whether the write-back may write with this token: only to the store's own portal.

    ``reason`` says why not (or why it writes unchecked); ``final``: asking again does not
    help (the token belongs to another portal).
    """

    open: bool
    reason: str | None = None
    final: bool = False


def gate_writes(
    engine: Engine, api: HubSpotApi, *, now: datetime, record: bool = True
) -> WriteGate:
    """Confirm the token's portal before the write-back sends anything.

    A click's record ids mean other records in another portal: a write waits (rows stay
    queued) while the portal cannot be confirmed, and is refused for another portal. A
    token that may not read the account details writes unchecked only while no portal is
    recorded (as the sync does); once one is recorded it cannot be confirmed, so it waits.
    """
    try:
        check = check_portal(engine, api, now=now, record=record)
    except OtherPortal as error:
        return WriteGate(False, f"refused: {error}", final=True)
    except UnconfirmedPortal as error:
        # Not final: `salesbot hubspot sync --adopt-portal` from another process opens it.
        return WriteGate(False, f"waiting: {error}")
    except HubSpotError as error:
        return WriteGate(
            False,
            f"waiting: the token's portal could not be confirmed ({error}); the writes stay "
            "queued and it is asked again shortly",
        )
    if check.portal_id is not None:
        return WriteGate(True)
    with Session(engine) as session:
        row = recorded_portal(session)
        recorded = row.portal_id if row is not None else None
    if recorded is None:
        return WriteGate(True, check.unchecked)
    return WriteGate(
        False,
        f"waiting: this database holds HubSpot portal {recorded}, but the private app may not "
        "read the account details (scope oauth), so the token's portal cannot be confirmed; "
        "the writes stay queued until the scope is added (docs/hubspot.md, Troubleshooting)",
    )
