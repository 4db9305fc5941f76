"""Settings from the environment (and an optional ``.env``), validated at start.

Every field here is listed in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Storage.
    data_dir: Path = Field(DEFAULT_DATA_DIR, validation_alias="SALESBOT_DATA_DIR")
    # repr=False: a PostgreSQL URL carries its password.
    database_url: str | None = Field(None, validation_alias="DATABASE_URL", repr=False)

    # Slack.
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_mode: str = Field("socket", validation_alias="SALESBOT_SLACK_MODE")
    host: str = Field("127.0.0.1", validation_alias="SALESBOT_HOST")
    port: int = Field(3000, ge=1, le=65535, validation_alias="SALESBOT_PORT")
    # Threads for the work after an ack (lazy listeners), and for HTTP requests (waitress).
    worker_threads: int = Field(16, ge=1, le=256, validation_alias="SALESBOT_WORKER_THREADS")
    http_threads: int = Field(16, ge=1, le=256, validation_alias="SALESBOT_HTTP_THREADS")
    # Processes that render workspace views (0: render in the worker threads). Rendering is
    # CPU work; in its own processes it cannot slow the acknowledgements down (the GIL).
    render_processes: int = Field(0, ge=0, le=32, validation_alias="SALESBOT_RENDER_PROCESSES")

    # LLM (any OpenAI-compatible endpoint). No key: Deal Insights show the CRM-only view.
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SALESBOT_LLM_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("SALESBOT_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_model: str = Field("gpt-4o-mini", validation_alias="SALESBOT_LLM_MODEL")
    llm_timeout_seconds: float = Field(20.0, gt=0, le=120, validation_alias="SALESBOT_LLM_TIMEOUT")

    # HubSpot (docs/hubspot.md). No token: no sync, the store is filled by snapshots.
    hubspot_token: SecretStr | None = Field(None, validation_alias="SALESBOT_HUBSPOT_TOKEN")
    hubspot_api_url: str = Field(
        "https://api.hubapi.com", validation_alias="SALESBOT_HUBSPOT_API_URL"
    )
    # The app's client secret: HubSpot signs webhook requests with it (v3 signature).
    hubspot_webhook_secret: SecretStr | None = Field(
        None, validation_alias="SALESBOT_HUBSPOT_WEBHOOK_SECRET"
    )
    hubspot_sync_minutes: int = Field(
        5, ge=1, le=1440, validation_alias="SALESBOT_HUBSPOT_SYNC_MINUTES"
    )
    # Write the acting Slack user's name into salesbot_acted_by with each change
    # (docs/hubspot.md, "Who HubSpot shows as the author").
    hubspot_author_property: bool = Field(True, validation_alias="SALESBOT_HUBSPOT_AUTHOR_PROPERTY")
    # Association changes move no modified date: re-read the current records' links this
    # often (0: never; webhooks bring them anyway).
    hubspot_association_sweep_minutes: int = Field(
        60, ge=0, le=1440, validation_alias="SALESBOT_HUBSPOT_ASSOCIATION_SWEEP_MINUTES"
    )

    # Defaults for users without their own preference.
    default_timezone: str = Field("UTC", validation_alias="SALESBOT_DEFAULT_TIMEZONE")
    # For team channels, and users whose Slack locale is a language we don't speak.
    default_language: str = Field("en", validation_alias="SALESBOT_DEFAULT_LANGUAGE")
    log_level: str = Field("INFO", validation_alias="SALESBOT_LOG_LEVEL")
    # text (default) or json: one JSON object per line, for a log collector.
    log_format: str = Field("text", validation_alias="SALESBOT_LOG_FORMAT")

    # Operations. Socket Mode serves /health and /metrics on this port (0: not at all;
    # default: SALESBOT_PORT); HTTP mode serves them beside /slack/events.
    ops_port: int | None = Field(None, ge=0, le=65535, validation_alias="SALESBOT_OPS_PORT")
    # On SIGTERM or SIGINT: how long work in flight may take to finish before exiting.
    shutdown_seconds: float = Field(
        20.0, ge=0, le=600, validation_alias="SALESBOT_SHUTDOWN_SECONDS"
    )

    @field_validator("slack_api_url", "hubspot_api_url")
    @classmethod
    def _token_safe_url(cls, value: str) -> str:
        """HTTPS, or plain HTTP to this machine only (the offline stand-ins).

        Both APIs get a bearer token with every request: over plain HTTP to another host,
        anyone on the way could read it.
        """
        host = _url_host(value)
        if urlsplit(value).scheme == "http" and _is_loopback(host):
            return value
        if urlsplit(value).scheme != "https":
            raise ValueError(
                f"{value!r} must start with https:// (plain http:// only to 127.0.0.1 or localhost)"
            )
        return value

    @field_validator("openai_base_url")
    @classmethod
    def _model_url(cls, value: str | None) -> str | None:
        # Plain HTTP stays allowed: self-hosted models often answer on a private network.
        if value is not None:
            _url_host(value)
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from handlers.i18n import languages  # the catalogues on disk, loaded when validating

        if value not in languages():
            raise ValueError(f"no catalogue for {value!r}; languages: {', '.join(languages())}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @field_validator("slack_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        value = value.lower()
        if value not in {"socket", "http"}:
            raise ValueError("must be 'socket' or 'http'")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        value = value.lower()
        if value not in {"text", "json"}:
            raise ValueError("must be 'text' or 'json'")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def effective_database_url(self) -> str:
        """``DATABASE_URL``, or the embedded SQLite file under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'salesbot.sqlite3').resolve()}"

    @property
    def effective_ops_port(self) -> int:
        """Socket Mode's port for /health and /metrics (0: none)."""
        return self.port if self.ops_port is None else self.ops_port

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None or self.database_url.startswith("sqlite")


def _url_host(value: str) -> str:
    """The host of an http(s) URL; ValueError (one readable line) for anything else."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as error:
        raise ValueError(f"{value!r} is not a URL: {error}") from error
    if parts.scheme not in {"http", "https"} or not host:
        raise ValueError(f"{value!r} is not an http(s) URL with a host, like https://example.com")
    return host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    """Settings that failed validation, with one readable line per problem."""


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise SettingsError with readable lines on failure."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "settings"
            lines.append(f"{name}: {problem['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
