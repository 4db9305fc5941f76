"""Rate limits like a portal's: a rolling 10-second burst, a daily budget, and search's own.

From HubSpot's usage guidelines and changelog: private apps get 190 requests per rolling
10 seconds and a daily budget (650,000 on Professional), both per portal; every answer carries
``X-HubSpot-RateLimit-*`` headers; the CRM search endpoints have their own lower limit
(5 requests per second per portal in the search guide) and do not count against the burst.
A request over a limit answers 429 with a JSON body naming the policy. Refused requests do
not use up the budget (so a client that waits as told recovers).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TEN_SECONDS = 10.0


@dataclass
class LimitVerdict:
    """What the limiter said about one request: headers always, a policy when refused."""

    headers: dict[str, str]
    policy: str | None = None  # TEN_SECONDLY_ROLLING, DAILY or SECONDLY
    retry_after: float = 0.0


@dataclass
class RateLimits:
    """Portal-wide limits; change the numbers at any time (tests do)."""

    per_ten_seconds: int = 190
    daily: int = 650_000
    search_per_second: int = 5
    # The daily budget resets at midnight in the portal's time zone.
    time_zone: str = "UTC"
    enabled: bool = True
    monotonic: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    daily_used: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._day = self._today()

    def _today(self) -> object:
        return self.wall_clock().astimezone(ZoneInfo(self.time_zone)).date()

    def check(self, *, search: bool) -> LimitVerdict:
        """Count one request (unless refused) and answer the headers and any refusal."""
        with self._lock:
            now = self.monotonic()
            today = self._today()
            if today != self._day:
                self._day, self.daily_used = today, 0
            _drop_older(self._window, now - TEN_SECONDS)
            _drop_older(self._search_window, now - 1.0)
            policy, retry_after = None, 0.0
            if self.enabled:
                if self.daily_used >= self.daily:
                    policy, retry_after = "DAILY", self._seconds_to_midnight()
                elif search and len(self._search_window) >= self.search_per_second:
                    policy = "SECONDLY"
                    retry_after = max(0.0, self._search_window[0] + 1.0 - now)
                elif not search and len(self._window) >= self.per_ten_seconds:
                    policy = "TEN_SECONDLY_ROLLING"
                    retry_after = max(0.0, self._window[0] + TEN_SECONDS - now)
            if policy is None:
                self.daily_used += 1
                (self._search_window if search else self._window).append(now)
            return LimitVerdict(self._headers(), policy, retry_after)

    def peek(self) -> dict[str, str]:
        """The headers as they stand, without counting a request."""
        with self._lock:
            return self._headers()

    def _headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily - self.daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.per_ten_seconds),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.per_ten_seconds - len(self._window))),
        }

    def _seconds_to_midnight(self) -> float:
        local = self.wall_clock().astimezone(ZoneInfo(self.time_zone))
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - local).total_seconds()

    def new_day(self) -> None:
        """Start a new day now (the daily budget is whole again)."""
        with self._lock:
            self.daily_used = 0


def _drop_older(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
