"""``salesbot serve``: run the Slack app in Socket Mode or HTTP mode."""

from __future__ import annotations

import logging

import typer

from bot.app import ConfigurationError, create_app
from bot.cli import err_console, settings_or_exit, store_or_exit
from bot.digests import start_digests
from bot.server import serve_http, serve_socket
from bot.settings import Settings, SettingsError, load_settings
from handlers.slack.services import Services


def serve(
    mode: str = typer.Option(
        None, "--mode", help="socket or http (default: SALESBOT_SLACK_MODE, else socket)."
    ),
    with_digests: bool = typer.Option(
        True, "--digests/--no-digests", help="Run the daily digest scheduler in this process."
    ),
) -> None:
    """Run the Slack app until interrupted (Ctrl-C)."""
    overrides = {"slack_mode": mode} if mode else {}
    settings = settings_or_exit() if not overrides else _settings_with(overrides)
    logging.getLogger().setLevel(settings.log_level)
    store = store_or_exit(settings)
    services = Services(sessions=store.sessions, settings=settings)
    digests = None
    try:
        app = create_app(services)
        digests = start_digests(services, app.client) if with_digests else None
        if settings.slack_mode == "http":
            serve_http(app, services)
        else:
            serve_socket(app, services)
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
