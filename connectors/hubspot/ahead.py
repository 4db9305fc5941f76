"""Reading ahead: several object types fetched at once, their groups written in order.

A full sync is paced by the portal's rate limit only if a request is always waiting for
the limiter: one type's list pages form a chain (each page names the next), so one chain
stalls on every answer and on every write. Here each object type has a fetcher thread;
up to ``fetchers`` run at once, started in sync order, all sharing the portal's one
limiter. A *stage* is a run of types written in one go: their groups reach the writer as
they arrive (each type's in order), and the next stage is only written once every type of
this one is finished, so records always land after the records they link to.

Memory is bounded: a stage's queue holds at most ``len(stage) + 1`` groups, and each
fetcher builds at most one more. Nothing here saves a cursor: the writer does that after
each group is committed, so groups fetched but not written are simply read again after a
crash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Generic, TypeVar

T = TypeVar("T")

# How long a stopped fetcher may take to notice (it may be waiting for the limiter).
_JOIN_SECONDS = 15.0
_POLL_SECONDS = 0.2


class Stopped(Exception):
    """The writer stopped (an error, a spent budget, a lost lease): fetchers end early."""


@dataclass(frozen=True)
class Source(Generic[T]):
    """One type's fetcher: ``fetch`` yields its items in the order they must be written."""

    key: str
    stage: int
    fetch: Callable[[], Iterator[T]]


@dataclass(frozen=True)
class _Item(Generic[T]):
    key: str
    value: T


@dataclass(frozen=True)
class _Done:
    key: str


@dataclass(frozen=True)
class _Failed:
    key: str
    error: BaseException


class FetchFailed(Exception):
    """A fetcher's error, raised in the writer's thread; ``key`` names the type."""

    def __init__(self, key: str, error: BaseException) -> None:
        super().__init__(f"{key}: {error}")
        self.key, self.error = key, error


class Ahead(Generic[T]):
    """Fetchers for ``sources`` (in sync order), read stage by stage with ``stage_items``."""

    def __init__(self, sources: Sequence[Source[T]], *, fetchers: int) -> None:
        self._sources = list(sources)
        self._fetchers = max(1, fetchers)
        stages = sorted({s.stage for s in self._sources})
        self._queues: dict[int, Queue[object]] = {
            stage: Queue(maxsize=sum(1 for s in self._sources if s.stage == stage) + 1)
            for stage in stages
        }
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._threads: list[threading.Thread] = []

    @property
    def stages(self) -> list[int]:
        return list(self._queues)

    def keys(self, stage: int) -> list[str]:
        return [s.key for s in self._sources if s.stage == stage]

    def check(self) -> None:
        """Raise ``Stopped`` once the writer has stopped (fetchers call it between requests)."""
        if self._stop.is_set():
            raise Stopped

    def start(self) -> Ahead[T]:
        for _ in range(self._fetchers):
            self._launch_next()
        return self

    def stage_items(self, stage: int) -> Iterator[tuple[str, T]]:
        """(key, item) of the stage's types as they arrive, until every one is finished.

        A fetcher's error is raised here as ``FetchFailed`` when its turn comes.
        """
        pending = set(self.keys(stage))
        queue = self._queues[stage]
        while pending:
            try:
                # Never a wait without a timeout: the kernel may hand Ctrl-C to a fetcher
                # thread, and Python runs the handler only when this (main) thread wakes.
                item = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                continue
            if isinstance(item, _Done):
                pending.discard(item.key)
            elif isinstance(item, _Failed):
                raise FetchFailed(item.key, item.error)
            elif isinstance(item, _Item):
                yield item.key, item.value

    def close(self) -> None:
        """Stop the fetchers and wait for them (each makes at most one more request)."""
        self._stop.set()
        for queue in self._queues.values():
            # Room for a fetcher blocked on a full queue to see the stop.
            while True:
                try:
                    queue.get_nowait()
                except Empty:
                    break
        for thread in list(self._threads):
            thread.join(timeout=_JOIN_SECONDS)

    def __enter__(self) -> Ahead[T]:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Fetchers -------------------------------------------------------------------------

    def _launch_next(self) -> None:
        """Start the next source in sync order, if any (a window of ``fetchers``)."""
        with self._lock:
            if self._stop.is_set() or self._next >= len(self._sources):
                return
            source = self._sources[self._next]
            self._next += 1
            thread = threading.Thread(
                target=self._run, args=(source,), name=f"hubspot-fetch-{source.key}", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def _run(self, source: Source[T]) -> None:
        queue = self._queues[source.stage]
        try:
            for item in source.fetch():
                if not self._put(queue, _Item(source.key, item)):
                    return
            self._put(queue, _Done(source.key))
        except Stopped:
            return
        except BaseException as error:  # handed to the writer, which raises it in turn
            self._put(queue, _Failed(source.key, error))
        finally:
            self._launch_next()

    def _put(self, queue: Queue[object], item: object) -> bool:
        while not self._stop.is_set():
            try:
                queue.put(item, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False
