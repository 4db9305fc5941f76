"""Building the app: no network at build time, clear errors for missing credentials."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine

from bot.app import ConfigurationError, create_app, work_pool
from handlers.slack.identity import Asker, IdentityCache
from handlers.slack.services import Services
from storage.db import session_factory
from storage.models import Role
from tests.support.app import app_settings
from tests.support.slack_api import running_standin


def test_building_the_app_calls_nothing(sqlite_engine: Engine) -> None:
    with running_standin() as slack:
        services = Services(sessions=session_factory(sqlite_engine), settings=app_settings(slack))
        app = create_app(services)
        assert slack.calls == []  # no auth.test: Bolt's default would call it here
        assert app.client.base_url == slack.api_url
        assert work_pool(app)._max_workers == services.settings.worker_threads


def test_http_mode_without_a_signing_secret_is_refused(sqlite_engine: Engine) -> None:
    settings = app_settings
    with running_standin() as slack:
        services = Services(
            sessions=session_factory(sqlite_engine),
            settings=settings(slack, slack_signing_secret=None, slack_mode="http"),
        )
        with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET"):
            create_app(services)


def test_identity_cache_forgets_after_its_ttl() -> None:
    clock = [0.0]
    cache = IdentityCache(ttl=300, clock=lambda: clock[0])
    dana = Asker(user_id=1, slack_user_id="UDANA", name="Dana", role=Role.REP)
    cache.put(dana)
    clock[0] = 299.0
    assert cache.get("UDANA") == dana
    clock[0] = 300.0
    assert cache.get("UDANA") is None


def test_a_refused_app_token_is_a_clear_error_without_the_token(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.server import SocketModeService

    app_token = "xapp-1-secret-app-token-never-logged"
    with running_standin() as slack, caplog.at_level(logging.DEBUG):
        slack.fail("apps.connections.open", "invalid_auth", times=None)
        services = Services(
            sessions=session_factory(sqlite_engine),
            settings=app_settings(slack, slack_mode="socket", slack_app_token=app_token),
        )
        with pytest.raises(ConfigurationError, match="invalid_auth") as raised:
            SocketModeService(create_app(services), services).start()
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert app_token not in logged and app_token not in str(raised.value)
    (call,) = slack.calls_to("apps.connections.open", ok_only=False)
    assert call.headers["authorization"] == f"Bearer {app_token}"  # it was really used
