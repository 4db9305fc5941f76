"""What every listener needs, built once by ``bot`` and handed to each ``register``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar
from weakref import WeakKeyDictionary

from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker


def utc_now() -> datetime:
    return datetime.now(UTC)


class AppSettings(Protocol):
    """The configuration the app reads through ``Services`` (``bot.settings.Settings`` has it).

    A protocol, so that handlers depend on what they read and not on ``bot``, which wires
    them (data flows storage <- rules <- handlers <- bot).
    """

    @property
    def slack_bot_token(self) -> SecretStr | None: ...
    @property
    def slack_signing_secret(self) -> SecretStr | None: ...
    @property
    def slack_app_token(self) -> SecretStr | None: ...
    @property
    def slack_api_url(self) -> str: ...
    @property
    def slack_mode(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def worker_threads(self) -> int: ...
    @property
    def http_threads(self) -> int: ...
    @property
    def render_processes(self) -> int: ...
    @property
    def openai_api_key(self) -> SecretStr | None: ...
    @property
    def openai_base_url(self) -> str | None: ...
    @property
    def llm_model(self) -> str: ...
    @property
    def llm_timeout_seconds(self) -> float: ...
    @property
    def default_timezone(self) -> str: ...
    @property
    def default_language(self) -> str: ...


@dataclass(frozen=True)
class Services:
    """The store, the settings and the clock (tests pin the clock)."""

    sessions: sessionmaker[Session]
    settings: AppSettings
    clock: Callable[[], datetime] = utc_now


T = TypeVar("T")


class PerStore(Generic[T]):
    """One ``T`` for each app's store, kept while the store lives (thread-safe).

    Caches and ticket books belong to one app; tests run several apps, each on its own
    database, in one process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: WeakKeyDictionary[sessionmaker[Session], T] = WeakKeyDictionary()

    def get(self, services: Services) -> T | None:
        with self._lock:
            return self._items.get(services.sessions)

    def put(self, services: Services, item: T) -> None:
        with self._lock:
            self._items[services.sessions] = item

    def get_or_make(self, services: Services, make: Callable[[], T]) -> T:
        with self._lock:
            item = self._items.get(services.sessions)
            if item is None:
                item = self._items[services.sessions] = make()
            return item
