"""``salesbot serve``: run the Slack app in Socket Mode or HTTP mode."""

from __future__ import annotations

import typer

from bot.app import ConfigurationError, create_app
from bot.cli import err_console, settings_or_exit, store_or_exit
from bot.digests import start_digests
from bot.lifecycle import serve_until_signalled
from bot.logs import configure_logging
from bot.server import app_token
from bot.settings import Settings, SettingsError, load_settings
from handlers.services import Services


def serve(
    mode: str = typer.Option(
        None, "--mode", help="socket or http (default: SALESBOT_SLACK_MODE, else socket)."
    ),
    with_digests: bool = typer.Option(
        True, "--digests/--no-digests", help="Run the daily digest scheduler in this process."
    ),
) -> None:
    """Run the Slack app until SIGTERM or Ctrl-C, then stop gracefully."""
    overrides = {"slack_mode": mode} if mode else {}
    settings = settings_or_exit() if not overrides else _settings_with(overrides)
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    store = store_or_exit(settings)
    services = Services(sessions=store.sessions, settings=settings)
    digests = None
    try:
        app = create_app(services)
        if settings.slack_mode == "socket":
            app_token(settings)  # a missing token is said before anything starts
        digests = start_digests(services, app.client) if with_digests else None
        serve_until_signalled(app, services, settings, digests)
    except ConfigurationError as error:
        err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
    finally:
        if digests is not None:
            digests.shutdown()


def _settings_with(overrides: dict[str, str]) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
