"""Staying inside a portal's API limits: a rolling-window limiter sized from HubSpot's headers.

HubSpot counts requests per portal in a rolling 10-second window (190 for a private app on
Professional and Enterprise), per day, and, for search, per second. Every response carries
``X-HubSpot-RateLimit-*`` headers; the limiter starts small and takes its size from them,
less a margin. Waiting is always a sleep until the oldest request leaves the window, never
a loop that polls.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass

# Before the first response says otherwise: HubSpot's smallest documented burst limit.
_START_MAX = 100
_START_INTERVAL = 10.0
# Search's own limit (the search guide says 5 per second; an older changelog 4).
SEARCH_PER_SECOND = 4
# Keep this share of every window unused, at least one request: other integrations of the
# portal and clock differences between us and HubSpot.
_MARGIN = 0.05
# Stop the day's work while this many daily requests remain (for people's own use).
_DAILY_RESERVE_SHARE = 0.01


class BudgetSpent(Exception):
    """The portal's daily API budget is (nearly) used up: stop, resume tomorrow."""


class Interrupted(Exception):
    """The process is stopping (Ctrl-C, SIGTERM): a wait for the limit or a retry ended."""


@dataclass
class Usage:
    """What the headers said last, and how many requests this process made."""

    requests: int = 0
    daily_limit: int | None = None
    daily_remaining: int | None = None
    interval_max: int = _START_MAX
    interval_seconds: float = _START_INTERVAL


@dataclass(frozen=True)
class Slots:
    """A request's places in the windows (``Window.acquire``'s answers)."""

    burst: float
    search: float | None = None


class Window:
    """At most ``size`` acquisitions in any rolling ``seconds``; thread-safe."""

    def __init__(
        self,
        size: int,
        seconds: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.size = size
        self.seconds = seconds
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for room; the answer is the slot's time, for ``release``."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.seconds:
                    self._starts.popleft()
                if len(self._starts) < self.size:
                    self._starts.append(now)
                    return now
                wait = self._starts[0] + self.seconds - now
            self._sleep(max(wait, 0.001))

    def release(self, slot: float) -> None:
        """The request of ``slot`` is answered: it now counts from this moment.

        HubSpot counts a request when it arrives, somewhere between our send and its
        answer. With several requests in flight (the sync's fetchers), counting from the
        send lets a new request into the window before HubSpot's copy of an old one left
        it, and a few such overlaps exceed the margin (429s). Counted from the answer, a
        slot is held a round trip longer, never too short. Every entry is at most now,
        so appending keeps the times in order.
        """
        with self._lock:
            with suppress(ValueError):  # already left the window (a slow answer)
                self._starts.remove(slot)
            self._starts.append(self._clock())

    def resize(self, size: int, seconds: float) -> None:
        with self._lock:
            self.size, self.seconds = max(1, size), seconds


class RateLimiter:
    """One per portal: every request to it goes through ``before_request`` and ``observe``."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        search_per_second: int = SEARCH_PER_SECOND,
    ) -> None:
        self.usage = Usage()
        self._interrupted = threading.Event()
        self._given_sleep = sleep
        # Every wait (for room in a window, before a retry) goes through ``self.sleep``.
        self.sleep = self._sleep
        self._burst = Window(_allowed(_START_MAX), _START_INTERVAL, clock=clock, sleep=self._sleep)
        self._search = Window(search_per_second, 1.0, clock=clock, sleep=self._sleep)
        self._lock = threading.Lock()

    def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when ``interrupt`` is called: then raise ``Interrupted``."""
        if self._given_sleep is None:
            if self._interrupted.wait(seconds):
                raise Interrupted("interrupted")
            return
        if not self._interrupted.is_set():
            self._given_sleep(seconds)
        if self._interrupted.is_set():
            raise Interrupted("interrupted")

    def interrupt(self) -> None:
        """The process is stopping: every wait of this limiter, in any thread, ends now
        with ``Interrupted`` (a sync's fetchers waiting out 429s stop at once), and so does
        every later one."""
        self._interrupted.set()

    def before_request(self, *, search: bool = False) -> Slots:
        """Wait for room in the window(s); raise ``BudgetSpent`` when the day is used up.

        Hand the answer to ``after_request`` once the request is answered (or failed).
        """
        usage = self.usage
        if usage.daily_limit and usage.daily_remaining is not None:
            reserve = max(1, int(usage.daily_limit * _DAILY_RESERVE_SHARE))
            if usage.daily_remaining <= reserve:
                raise BudgetSpent(
                    f"{usage.daily_remaining:,} of {usage.daily_limit:,} daily requests left"
                )
        searched = self._search.acquire() if search else None
        slots = Slots(self._burst.acquire(), searched)
        with self._lock:
            usage.requests += 1
            if usage.daily_remaining is not None:
                usage.daily_remaining -= 1
        return slots

    def after_request(self, slots: Slots) -> None:
        """The request is over: its window slots count from now (see ``Window.release``)."""
        self._burst.release(slots.burst)
        if slots.search is not None:
            self._search.release(slots.search)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Size the limiter from a response's ``X-HubSpot-RateLimit-*`` headers."""
        lower = {k.lower(): v for k, v in headers.items()}
        interval_max = _int(lower.get("x-hubspot-ratelimit-max"))
        interval_ms = _int(lower.get("x-hubspot-ratelimit-interval-milliseconds"))
        daily = _int(lower.get("x-hubspot-ratelimit-daily"))
        daily_remaining = _int(lower.get("x-hubspot-ratelimit-daily-remaining"))
        with self._lock:
            usage = self.usage
            if interval_max and interval_ms:
                seconds = interval_ms / 1000
                if (interval_max, seconds) != (usage.interval_max, usage.interval_seconds):
                    usage.interval_max, usage.interval_seconds = interval_max, seconds
                    self._burst.resize(_allowed(interval_max), seconds)
            if daily is not None:
                usage.daily_limit = daily
            if daily_remaining is not None:
                usage.daily_remaining = daily_remaining

    def daily_spent(self) -> None:
        """HubSpot answered 429 with the DAILY policy: nothing more today."""
        with self._lock:
            self.usage.daily_remaining = 0
            if not self.usage.daily_limit:
                self.usage.daily_limit = 1


def _allowed(interval_max: int) -> int:
    return max(1, interval_max - max(1, round(interval_max * _MARGIN)))


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(portal: str) -> RateLimiter:
    """The process's one limiter for ``portal`` (a key derived from the token and URL)."""
    with _limiters_lock:
        limiter = _limiters.get(portal)
        if limiter is None:
            limiter = _limiters[portal] = RateLimiter()
        return limiter
