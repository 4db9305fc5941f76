"""Settings: validated at start, and secrets never shown."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_no_secret_appears_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://salesbot:db-pass-123@db/salesbot")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-456")
    monkeypatch.setenv("SALESBOT_LLM_API_KEY", "sk-secret-789")
    settings = load_settings()
    shown = f"{settings!r} {settings}"
    for secret in ("db-pass-123", "xoxb-secret-456", "sk-secret-789"):
        assert secret not in shown
    assert settings.effective_database_url.endswith("@db/salesbot")


def test_every_bad_value_is_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_PORT", "not-a-port")
    monkeypatch.setenv("SALESBOT_SLACK_MODE", "carrier-pigeon")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "SALESBOT_PORT" in message
    assert "SALESBOT_SLACK_MODE" in message
