"""One database, one portal (probe finding F23): a store synced from one portal refuses a
token of another, naming both portal ids and what to do; nothing of the other is written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bot.hubspot import start_hubspot, sync_and_apply
from bot.settings import load_settings
from connectors.hubspot import OfficialClient, RateLimiter, status
from connectors.hubspot.account import OtherPortal, check_portal
from connectors.hubspot.setup import ensure_properties
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import OutboxSender
from demo.hubspot_portal import Portal
from rules.tasks.ops import complete_task
from storage.models import Company, OutboxState, OutboxWrite, SyncPortal
from tests.connectors.hubspot.conftest import SmallPortal, Store, fill_small_portal
from tests.support.hubspot import HubSpotStandIn, running_hubspot


@pytest.fixture
def other_portal() -> Iterator[HubSpotStandIn]:
    """A second portal (another Hub ID), whose token the store must refuse."""
    with running_hubspot(portal=Portal(portal_id=77001)) as standin:
        fill_small_portal(standin.portal)
        standin.portal.create("companies", {"name": "Globex"})
        yield standin


def _client(standin: HubSpotStandIn) -> OfficialClient:
    return OfficialClient(token=standin.token, api_url=standin.base_url, limiter=RateLimiter())


def _companies(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(Company.name)))


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from bot.cli import app

    return CliRunner().invoke(app, list(args))


def test_the_first_sync_records_the_portal_and_status_shows_it(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    sync_and_apply(sqlite_engine, api)

    with Session(sqlite_engine) as session:
        assert status(session, datetime.now(UTC)).portal_id == hubspot.portal.portal_id


def test_a_sync_with_another_portals_token_is_refused_and_writes_nothing(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
) -> None:
    sync_and_apply(sqlite_engine, api)
    before = _companies(sqlite_engine)

    with pytest.raises(OtherPortal) as refused:
        sync_and_apply(sqlite_engine, _client(other_portal))

    message = str(refused.value)
    assert str(hubspot.portal.portal_id) in message and "77001" in message
    assert "database of its own" in message
    assert _companies(sqlite_engine) == before == ["Acme"]
    # Not one record of the other portal was even asked for.
    assert other_portal.count("objects.list") == other_portal.count("objects.search") == 0


def test_the_cli_refuses_another_portal_and_status_names_the_recorded_one(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    _use_portal(monkeypatch, hubspot)
    assert _cli("hubspot", "sync").exit_code == 0

    _use_portal(monkeypatch, other_portal)
    refused = _cli("hubspot", "sync")
    shown = _cli("hubspot", "status")

    assert refused.exit_code == 2
    said = " ".join(refused.output.split())
    assert f"holds HubSpot portal {hubspot.portal.portal_id}" in said
    assert "belongs to portal 77001" in said
    assert "Traceback" not in refused.output
    assert f"portal: {hubspot.portal.portal_id}" in shown.output
    assert _companies(sqlite_engine) == ["Acme"]


def test_the_worker_does_not_start_against_another_portal(
    sqlite_engine: Engine,
    api: OfficialClient,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
) -> None:
    sync_and_apply(sqlite_engine, api)
    settings = load_settings(
        hubspot_token=other_portal.token, hubspot_api_url=other_portal.base_url
    )

    with pytest.raises(OtherPortal, match="77001"):
        start_hubspot(settings, sqlite_engine, services=None, slack=None)  # type: ignore[arg-type]


def test_without_the_scope_for_account_details_the_sync_goes_on_unchecked(
    sqlite_engine: Engine,
    api: OfficialClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hubspot.revoke_scope("oauth")

    with caplog.at_level(logging.WARNING):
        applied = sync_and_apply(sqlite_engine, api)

    assert applied.result is not None and applied.result.stopped is None
    assert _companies(sqlite_engine) == ["Acme"]
    assert "not checked against the portal" in caplog.text
    with Session(sqlite_engine) as session:
        assert status(session, datetime.now(UTC)).portal_id is None


# The write-back writes only to the store's portal (probe 2, F1) ----------------------------

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


def _writer(standin: HubSpotStandIn) -> WritingClient:
    """The write-back's client; its retries do not wait (the stand-in's 503s come at once)."""
    limiter = RateLimiter(sleep=lambda _seconds: None)
    client = WritingClient(token=standin.token, api_url=standin.base_url, limiter=limiter)
    client.search_settle_seconds = 0
    return client


def _task_status(standin: HubSpotStandIn, task_id: str) -> str | None:
    return standin.portal.get("tasks", task_id).properties.get("hs_task_status")


def _pending(store: Store) -> int:
    with Session(store.engine) as session:
        return len(
            session.scalars(
                select(OutboxWrite.id).where(OutboxWrite.state == OutboxState.PENDING)
            ).all()
        )


def _writes(standin: HubSpotStandIn) -> int:
    return sum(standin.count(e) for e in ("objects.batch_update", "objects.update"))


def test_a_click_waits_until_the_portal_is_confirmed_and_never_lands_in_another(
    store: Store,
    writer: WritingClient,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check_portal(store.engine, writer, now=NOW)  # the store holds portal A
    ensure_properties(_writer(other_portal))
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    clock = [NOW]
    other = OutboxSender(store.engine, _writer(other_portal), holder="r", clock=lambda: clock[0])

    # Portal B's token while its account details fail beyond the client's retries.
    other_portal.fail_next(8, status=503, endpoint="account.details")
    waiting = other.deliver()
    # The check works again: it is portal B's token, so the write-back refuses.
    clock[0] = NOW + timedelta(minutes=1)
    with caplog.at_level(logging.ERROR):
        refused = other.deliver()
    clock[0] = NOW + timedelta(minutes=5)
    still = other.deliver()

    assert waiting.handled == refused.handled == still.handled == 0
    assert _writes(other_portal) == 0
    assert _task_status(other_portal, small_portal.task) != "COMPLETED"
    assert _pending(store) == 1
    assert "belongs to portal 77001" in caplog.text
    # Portal A's own token delivers the waiting click.
    delivered = OutboxSender(store.engine, writer, holder="r2", clock=lambda: NOW).deliver()
    assert delivered.sent == 1
    assert _task_status(hubspot, small_portal.task) == "COMPLETED"
    assert _pending(store) == 0


def test_a_click_waits_while_the_portal_is_unreachable_then_goes_to_its_own_portal(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    check_portal(store.engine, writer, now=NOW)
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    clock = [NOW]
    sender = OutboxSender(store.engine, _writer(hubspot), holder="r", clock=lambda: clock[0])

    hubspot.fail_next(8, status=503, endpoint="account.details")
    waiting = sender.deliver()
    assert waiting.handled == 0 and _pending(store) == 1
    assert _task_status(hubspot, small_portal.task) != "COMPLETED"

    clock[0] = NOW + timedelta(minutes=1)
    assert sender.deliver().sent == 1
    assert _task_status(hubspot, small_portal.task) == "COMPLETED"


def test_without_the_scope_a_recorded_portal_cannot_be_confirmed_so_nothing_is_written(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    check_portal(store.engine, writer, now=NOW)
    hubspot.revoke_scope("oauth")
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))
    sender = OutboxSender(store.engine, writer, holder="r", clock=lambda: NOW)

    assert sender.deliver().handled == 0
    assert _pending(store) == 1
    assert sender.portal is not None and sender.portal.reason is not None
    assert "cannot be confirmed" in sender.portal.reason and "oauth" in sender.portal.reason


def test_without_the_scope_and_no_portal_recorded_writes_go_unchecked_as_documented(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    with Session(store.engine) as session:  # a store synced unchecked: no portal
        session.execute(delete(SyncPortal))
        session.commit()
    hubspot.revoke_scope("oauth")
    store.act(lambda s, a: complete_task(s, a, store.task, now=NOW))

    assert OutboxSender(store.engine, writer, holder="r", clock=lambda: NOW).deliver().sent == 1
    assert _task_status(hubspot, small_portal.task) == "COMPLETED"


def test_status_says_the_write_back_refuses_another_portals_token(
    store: Store,
    writer: WritingClient,
    other_portal: HubSpotStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_portal(store.engine, writer, now=NOW)
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string())
    _use_portal(monkeypatch, other_portal)

    shown = " ".join(_cli("hubspot", "status").output.split())

    assert "write-back: off, refused" in shown
    assert "belongs to portal 77001" in shown


# A store synced unchecked is not taken over by the next portal (probe 2, F2) ---------------


def test_a_store_synced_unchecked_refuses_to_adopt_a_portal_without_the_flag(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    _use_portal(monkeypatch, hubspot)
    hubspot.revoke_scope("oauth")
    assert _cli("hubspot", "sync").exit_code == 0  # unchecked: no portal recorded

    _use_portal(monkeypatch, other_portal)
    refused = _cli("hubspot", "sync")
    shown = _cli("hubspot", "status")

    assert refused.exit_code == 2
    said = " ".join(refused.output.split())
    assert "recorded no portal" in said and "belongs to portal 77001" in said
    assert "--adopt-portal" in said and "Traceback" not in refused.output
    assert _companies(sqlite_engine) == ["Acme"]
    assert other_portal.count("objects.list") == other_portal.count("objects.search") == 0
    assert "portal: not recorded yet" in shown.output
    assert "write-back: off, waiting" in " ".join(shown.output.split())


def test_adopt_portal_records_the_portal_of_a_store_synced_unchecked_once(
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    other_portal: HubSpotStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As after an upgrade from a salesbot that recorded no portal."""
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    _use_portal(monkeypatch, hubspot)
    hubspot.revoke_scope("oauth")
    assert _cli("hubspot", "sync").exit_code == 0
    hubspot.scopes.add("oauth")

    assert _cli("hubspot", "sync").exit_code == 2
    assert _cli("hubspot", "sync", "--adopt-portal").exit_code == 0
    assert _cli("hubspot", "sync").exit_code == 0

    with Session(sqlite_engine) as session:
        assert status(session, datetime.now(UTC)).portal_id == hubspot.portal.portal_id
    _use_portal(monkeypatch, other_portal)
    assert _cli("hubspot", "sync", "--adopt-portal").exit_code == 2  # never re-points
    assert _companies(sqlite_engine) == ["Acme"]


def _use_portal(monkeypatch: pytest.MonkeyPatch, portal: HubSpotStandIn) -> None:
    """The CLI's settings point at ``portal`` (its token and address)."""
    monkeypatch.setenv("SALESBOT_HUBSPOT_TOKEN", portal.token)
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", portal.base_url)
