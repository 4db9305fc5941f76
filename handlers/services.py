"""What every listener needs, built once by ``bot`` and handed to each ``register``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """The store, the settings and the clock (tests pin the clock)."""

    sessions: sessionmaker[Session]
    settings: Settings
    clock: Callable[[], datetime] = utc_now
