"""Whether the database answers: one log line when that changes, not one per failure.

During an outage every request fails the same way; a traceback for each would bury the one
line that matters. ``DatabaseHealth`` logs the change to "down" once (ERROR) and the return
once (WARNING), probes in the background while down, and runs the recovery callbacks (e.g.
publishing Home tabs that failed meanwhile) once the database is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 2.0


def is_outage(error: BaseException) -> bool:
    """True for errors that mean "the database cannot be reached", not a bug in a query."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def describe(error: BaseException) -> str:
    """The first line of the driver's message, without the SQL or its parameters."""
    original = getattr(error, "orig", None) or error
    first = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{original.__class__.__name__}: {first}"[:200]


class DatabaseHealth:
    """The database's state as this process last saw it."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._up = True
        self._probing = False
        self._recovery: list[Callable[[], object]] = []

    @property
    def up(self) -> bool:
        return self._up

    def on_recovery(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` each time the database answers again after an outage."""
        with self._lock:
            self._recovery.append(callback)

    def check(self) -> bool:
        """Ask the database now (``SELECT 1``); record and return the answer."""
        try:
            with self._sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:
            self.failed(error)
            return False
        self.answered()
        return True

    def failed(self, error: BaseException) -> None:
        """Record a failure seen anywhere; logs only when the state changes."""
        with self._lock:
            was_up, self._up = self._up, False
            start_probe = not self._probing
            self._probing = True
        if was_up:
            logger.error("database unavailable: %s", describe(error))
        if start_probe:
            threading.Thread(target=self._probe, name="db-health-probe", daemon=True).start()

    def answered(self) -> None:
        """Record a success; when it ends an outage, log once and run the callbacks."""
        with self._lock:
            was_up, self._up = self._up, True
            callbacks = list(self._recovery) if not was_up else []
        if was_up:
            return
        logger.warning("database available again")
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("recovery step after the database outage failed")

    def _probe(self) -> None:
        stop = threading.Event()
        try:
            while not stop.wait(PROBE_INTERVAL_SECONDS):
                if self._up or self.check():
                    return
        finally:
            with self._lock:
                self._probing = False


_health: WeakKeyDictionary[sessionmaker[Session], DatabaseHealth] = WeakKeyDictionary()
_health_lock = threading.Lock()


def database_health(sessions: sessionmaker[Session]) -> DatabaseHealth:
    """The health tracker of this store (one per session factory in a process)."""
    with _health_lock:
        health = _health.get(sessions)
        if health is None:
            health = _health[sessions] = DatabaseHealth(sessions)
            engine = sessions.kw.get("bind")
            if isinstance(engine, Engine):
                _watch(engine, health)
        return health


def _watch(engine: Engine, health: DatabaseHealth) -> None:
    """Every outage error on ``engine``, wherever it happens, marks the database down."""

    def on_error(context: ExceptionContext) -> None:
        wrapped = context.sqlalchemy_exception
        if context.is_disconnect or (wrapped is not None and is_outage(wrapped)):
            health.failed(wrapped or context.original_exception)

    event.listen(engine, "handle_error", on_error)
