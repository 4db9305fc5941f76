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


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SALESBOT_HUBSPOT_API_URL", "api.hubapi.com"),
        ("SALESBOT_HUBSPOT_API_URL", "http://api.hubapi.com"),
        ("SLACK_API_URL", "http://slack.com/api/"),
        ("SLACK_API_URL", "ftp://127.0.0.1/api/"),
    ],
)
def test_a_token_is_never_sent_over_plain_http_to_another_host(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "https://" in str(raised.value)
    assert variable in str(raised.value)


def test_plain_http_is_fine_to_this_machine_and_for_a_self_hosted_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESBOT_HUBSPOT_API_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("SLACK_API_URL", "http://localhost:9000/api/")
    monkeypatch.setenv("SALESBOT_LLM_BASE_URL", "http://models.internal:11434/v1")
    settings = load_settings()
    assert settings.hubspot_api_url == "http://127.0.0.1:8765"
    assert settings.openai_base_url == "http://models.internal:11434/v1"


def test_a_model_url_without_a_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_LLM_BASE_URL", "models.internal:11434/v1")
    with pytest.raises(SettingsError, match="not an http"):
        load_settings()
