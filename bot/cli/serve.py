"""``salesbot serve``: run the Slack app in Socket Mode or HTTP mode."""

from __future__ import annotations

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
    """Run the Slack app until SIGTERM or Ctrl-C, then stop gracefully."""
    # Slack, the web server and the scheduler load here: no other command needs them.
    from bot.app import ConfigurationError, create_app
    from bot.hubspot import start_hubspot
    from bot.jobs import start_background_jobs
    from bot.lifecycle import serve_until_signalled
    from bot.logs import configure_logging
    from bot.server import app_token
    from connectors.hubspot.account import OtherPortal
    from handlers.slack.services import Services

    settings = settings_or_exit(**({"slack_mode": mode} if mode else {}))
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    store = store_or_exit(settings)
    services = Services(sessions=store.sessions, settings=settings)
    jobs = hubspot = None
    try:
        app = create_app(services)
        if settings.slack_mode == "socket":
            app_token(settings)  # a missing token is said before anything starts
        jobs = start_background_jobs(services, app.client) if with_digests else None
        hubspot, routes = start_hubspot(settings, store.engine, services, app.client)
        serve_until_signalled(app, services, settings, jobs, hubspot=hubspot, routes=routes)
    except (ConfigurationError, OtherPortal) as error:
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
