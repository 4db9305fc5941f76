"""One background thread that works when woken, or after a pause: the base of the HubSpot
sync worker and the write-back's outbox worker.

Each round runs ``step`` (an exception is logged and the next round comes as usual: a
background thread must outlive a failed round), then waits ``pause()`` seconds or until
``wake``. A wake that comes while a round runs is kept: the next round starts at once.
``stop`` ends the loop and waits for the round in progress to finish.
"""

from __future__ import annotations

import logging
import threading
from typing import Self

logger = logging.getLogger(__name__)

# How long ``stop`` waits for a round in progress; a daemon thread that outlasts it dies
# with the process.
STOP_TIMEOUT_SECONDS = 30.0


class BackgroundWorker:
    """Runs ``step`` in a daemon thread, round after round, until ``stop``.

    Subclasses give ``thread_name``, ``failure_message`` and ``step``, and may override
    ``pause`` (the wait between rounds; 5 s by default).
    """

    thread_name = "worker"
    failure_message = "background round failed; the next one runs as usual"
    idle_seconds = 5.0

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        """One round of work."""
        raise NotImplementedError

    def pause(self) -> float:
        """Seconds to wait after a round unless woken."""
        return self.idle_seconds

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wake(self) -> None:
        """Start the next round now (or as soon as the current one ends)."""
        self._wake.set()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the loop; waits for the round in progress (at most 30 s)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Cleared before the round: a wake during it is not lost.
            self._wake.clear()
            try:
                self.step()
            except Exception:
                logger.exception("%s: %s", self.thread_name, self.failure_message)
            if self._stop.is_set():
                return
            self._wake.wait(timeout=max(0.0, self.pause()))
