"""Slack surfaces. ``register_all`` wires the app: the request context, then each surface.

Every surface module has one ``register(app)`` that lists its action ids, callback ids and
events; ``commands.SUBCOMMANDS`` lists every ``/sales`` subcommand and
``direct_messages.DM_ANSWERERS`` every answerer of a DM. Slack plumbing (who is acting, the
listener toolkit, ids, metadata, the render pool) is in ``handlers.slack``; Block Kit in
``handlers.render``.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from handlers import (
    commands,
    crm_writes,
    deals,
    direct_messages,
    guided_actions,
    home,
    insights,
    notes,
    outcomes,
    settings,
    tasks,
)
from handlers.slack.context import install_context
from handlers.slack.services import Services

SURFACES: tuple[Callable[[App], None], ...] = (
    home.register,
    commands.register,
    direct_messages.register,
    settings.register,
    insights.register,
    tasks.register,
    outcomes.register,
    deals.register,
    notes.register,
    guided_actions.register,
    crm_writes.register,
)


def register_all(app: App, services: Services) -> None:
    """Put who is acting and ``services`` into every request's context, then register
    every surface in ``SURFACES`` on ``app``."""
    install_context(app, services)
    for register in SURFACES:
        register(app)
