"""Staying inside the portal's limits: 429s wait as told, a spent day stops and resumes, one
replica syncs at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.hubspot import sync_and_apply
from connectors.hubspot import OfficialClient, RateLimiter, Syncer, status, take_lease
from connectors.hubspot.limits import Window
from connectors.hubspot.sync import LeaseLost
from storage.models import Activity, Company
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn


def _client(hubspot: HubSpotStandIn, limiter: RateLimiter) -> OfficialClient:
    return OfficialClient(token=hubspot.token, api_url=hubspot.base_url, limiter=limiter)


def test_a_storm_of_429s_is_waited_out_as_told(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    waits: list[float] = []
    api = _client(hubspot, RateLimiter(sleep=waits.append))
    hubspot.fail_next(6, status=429, endpoint="objects.list")

    result = Syncer(sqlite_engine, api).run(full=True)

    assert result.stopped is None
    # Each refusal waited one rolling window (the headers' 10 s), no request was lost.
    assert waits == [10.0] * 6
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 2


def test_a_spent_daily_budget_stops_cleanly_and_the_next_day_resumes(
    sqlite_engine: Engine, hubspot: HubSpotStandIn
) -> None:
    for n in range(450):
        hubspot.portal.create("companies", {"name": f"Company {n}"})
    hubspot.limits.daily = 6

    first = Syncer(sqlite_engine, _client(hubspot, RateLimiter())).run(full=True)

    assert first.stopped is not None and "daily" in first.stopped
    with Session(sqlite_engine) as session:
        shown = status(session, datetime.now(UTC))
        assert shown.budget_spent
        assert (session.scalar(select(func.count()).select_from(Company)) or 0) < 450

    hubspot.limits.daily = 650_000
    hubspot.limits.daily_used = 0
    second = Syncer(sqlite_engine, _client(hubspot, RateLimiter())).run(full=True)

    assert second.stopped is None
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 450


def test_while_one_replica_holds_the_lease_another_does_not_sync(
    any_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    now = datetime.now(UTC)
    with Session(any_engine) as session:
        assert take_lease(session, holder="replica-a", now=now, ttl=timedelta(minutes=10))
        session.commit()

    other = sync_and_apply(any_engine, api, holder="replica-b")
    later = sync_and_apply(
        any_engine, api, holder="replica-b", clock=lambda: now + timedelta(minutes=11)
    )

    assert other.result is None and other.skipped_reason == "another replica is syncing"
    assert later.result is not None and later.result.stopped is None


def test_the_window_waits_for_the_oldest_request_to_leave() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    window = Window(2, 10.0, clock=lambda: clock[0], sleep=sleep)
    window.acquire()
    clock[0] = 3.0
    window.acquire()
    window.acquire()

    assert slept == [7.0]


def test_a_replica_whose_lease_was_taken_over_stops_writing(
    sqlite_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    now = datetime.now(UTC)
    with Session(sqlite_engine) as session:
        # Replica A's lease ran out while it synced; replica B took it.
        assert take_lease(session, holder="replica-b", now=now, ttl=timedelta(minutes=10))
        session.commit()

    with pytest.raises(LeaseLost):
        Syncer(sqlite_engine, api, lease=("replica-a", timedelta(minutes=10))).run(full=True)

    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 1
        assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_a_request_answered_late_holds_its_place_in_the_window_until_its_answer() -> None:
    # HubSpot counts a request when it arrives, somewhere before its answer: with several
    # requests in flight, counting from the send would let the next one in too early.
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    window = Window(1, 10.0, clock=lambda: clock[0], sleep=sleep)
    slot = window.acquire()
    clock[0] = 2.0
    window.release(slot)
    clock[0] = 10.0
    window.acquire()

    assert slept == [2.0]
