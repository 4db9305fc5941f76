"""Slack listeners, one module per surface; ``register_all`` wires them onto an app."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from handlers.services import Services


def _modules() -> list[ModuleType]:
    # Imported here so that importing ``handlers.ids`` stays cheap and cycle-free.
    from handlers import deals, outcomes, tasks

    return [tasks, outcomes, deals]


def register_all(app: App, services: Services) -> None:
    """Call ``register(app, services)`` of every listener module."""
    for module in _modules():
        module.register(app, services)
