"""``salesbot serve``: run the Slack app in Socket Mode or HTTP mode."""

from __future__ import annotations

import logging

import typer

from bot.cli.common import fail, settings_or_exit, store_or_exit


def serve(
    mode: str = typer.Option(
        None, "--mode", help="socket or http (default: SALESBOT_SLACK_MODE, else socket)."
    ),
    with_digests: bool = typer.Option(
        True,
        "--digests/--no-digests",
        help="Run the daily digest scheduler (and its housekeeping jobs) in this process.",
    ),
) -> None:
    """Run the Slack app until interrupted (Ctrl-C)."""
    # Slack, the web server and the scheduler load here: no other command needs them.
    from bot.app import ConfigurationError, create_app
    from bot.hubspot import start_hubspot
    from bot.jobs import start_background_jobs
    from bot.server import serve_http, serve_socket
    from handlers.slack.services import Services

    settings = settings_or_exit(**({"slack_mode": mode} if mode else {}))
    logging.getLogger().setLevel(settings.log_level)
    store = store_or_exit(settings)
    services = Services(sessions=store.sessions, settings=settings)
    jobs = hubspot = None
    try:
        app = create_app(services)
        jobs = start_background_jobs(services, app.client) if with_digests else None
        hubspot, routes = start_hubspot(settings, store.engine, services, app.client)
        if settings.slack_mode == "http":
            serve_http(app, services, routes)
        else:
            serve_socket(app, services)
    except ConfigurationError as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass
    finally:
        if jobs is not None:
            jobs.shutdown()
        if hubspot is not None:
            hubspot.stop()


def register(app: typer.Typer) -> None:
    """Add ``salesbot serve`` to the CLI."""
    app.command("serve")(serve)
