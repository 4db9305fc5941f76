"""The background-worker base the HubSpot sync and the outbox worker run on."""

from __future__ import annotations

import threading

from bot.hubspot import HubSpotWorker
from bot.worker import BackgroundWorker
from bot.writeback import OutboxWorker


class _Counting(BackgroundWorker):
    """Fails its first round, then counts rounds; each round waits for the test's go."""

    thread_name = "test-worker"
    idle_seconds = 3600.0  # only a wake starts a round

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.started = threading.Semaphore(0)
        self.go = threading.Semaphore(0)
        self.done = threading.Semaphore(0)

    def step(self) -> None:
        self.started.release()
        self.go.acquire()
        self.rounds += 1
        self.done.release()
        if self.rounds == 1:
            raise RuntimeError("a round that fails")


def test_a_failed_round_does_not_end_the_thread_and_a_wake_during_a_round_is_kept() -> None:
    worker = _Counting().start()
    assert worker.started.acquire(timeout=10)
    worker.go.release()
    assert worker.done.acquire(timeout=10)  # round 1 ran and raised
    worker.wake()
    assert worker.started.acquire(timeout=10)  # round 2: the thread lived on
    worker.wake()  # while round 2 runs
    worker.go.release()
    assert worker.done.acquire(timeout=10)
    # Round 3 comes from the wake made during round 2, with no wake since.
    assert worker.started.acquire(timeout=10)
    worker.go.release()
    assert worker.done.acquire(timeout=10)
    worker.stop()
    assert worker.rounds == 3
    assert worker._thread is not None and not worker._thread.is_alive()


def test_the_hubspot_workers_share_the_base() -> None:
    assert issubclass(HubSpotWorker, BackgroundWorker)
    assert issubclass(OutboxWorker, BackgroundWorker)
