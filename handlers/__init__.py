"""Slack surfaces: each module's ``register(app, services)`` wires its listeners.

``SURFACES`` lists them; append yours (one line) to have ``register_all`` wire it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from handlers import (
    commands,
    deals,
    events,
    guided_actions,
    home,
    insights,
    outcomes,
    settings,
    tasks,
)

if TYPE_CHECKING:
    from slack_bolt import App

    from handlers.services import Services

Register = Callable[["App", "Services"], None]

SURFACES: list[Register] = [
    home.register,
    commands.register,
    events.register,
    settings.register,
    insights.register,
    tasks.register,
    outcomes.register,
    deals.register,
    guided_actions.register,
]


def register_all(app: App, services: Services) -> None:
    """Register every surface in ``SURFACES`` on ``app``."""
    for register in SURFACES:
        register(app, services)
