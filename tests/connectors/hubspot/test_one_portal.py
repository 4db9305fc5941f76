"""One database, one portal (probe finding F23): a store synced from one portal refuses a
token of another, naming both portal ids and what to do; nothing of the other is written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.hubspot import start_hubspot, sync_and_apply
from bot.settings import load_settings
from connectors.hubspot import OfficialClient, RateLimiter, status
from connectors.hubspot.account import OtherPortal
from demo.hubspot_portal import Portal
from storage.models import Company
from tests.connectors.hubspot.conftest import SmallPortal, fill_small_portal
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
    monkeypatch.setenv("SALESBOT_HUBSPOT_TOKEN", hubspot.token)
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", hubspot.base_url)
    assert _cli("hubspot", "sync").exit_code == 0

    monkeypatch.setenv("SALESBOT_HUBSPOT_TOKEN", other_portal.token)
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", other_portal.base_url)
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
