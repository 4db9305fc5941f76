"""Sending due digests to Slack: claim, compose, send, record, for many recipients at once.

Each digest goes through the same steps in a worker thread with its own session:

1. **claim** it in the database and commit (``storage.deliveries.claim``); a digest that
   another replica or an earlier run has, or had, is left alone;
2. **compose** it (a ``Composer`` turns the claim into a message, or into nothing);
3. **send** it, paced to Slack's limits; 429 waits for ``Retry-After``; transient
   failures (5xx, connection errors) are retried with bounded backoff (tenacity);
4. **record** the outcome: sent with channel and ts, skipped, or failed with the reason
   (permanent for a user or channel that is gone, so it is never retried).

One recipient's failure never holds up the others.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from rules.digests.schedule import DueDigest
from storage import send_budget
from storage.deliveries import (
    MAX_ATTEMPTS,
    Claim,
    claim,
    mark_failed,
    mark_given_up,
    mark_sent,
    mark_skipped,
    retry_delay,
)

logger = logging.getLogger(__name__)

# Errors that will not go away by retrying for this recipient: record and move on.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "messages_tab_disabled",
        "restricted_action",
    }
)
# Slack's own "try again later" answers (besides HTTP 5xx).
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# chat.postMessage: about one message per second per channel (Slack's docs).
PER_CHANNEL_INTERVAL = 1.0
# Our own pace for the whole workspace, below Slack's undisclosed workspace limit for
# chat.postMessage; the bench shows delivery tracks whatever pace is configured.
DEFAULT_RATE_PER_SECOND = 3.0
# Pace this fraction of a known limit: at exactly the limit, network jitter drains the
# server's burst allowance until a 429 (and a whole second of Retry-After) follows.
PACE_HEADROOM = 0.97


@dataclass(frozen=True)
class Message:
    """A composed digest, ready for chat.postMessage."""

    channel: str
    text: str  # the notification and accessibility fallback
    blocks: list[dict[str, Any]]
    # Slack message metadata: lets a button's listener recognise a digest it updates.
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class Nothing:
    """Nothing to send, on purpose (an empty digest the recipient opted out of)."""

    reason: str


@dataclass(frozen=True)
class Undeliverable:
    """The recipient cannot receive it (no Slack id, deactivated): a permanent failure."""

    reason: str


Outgoing = Message | Nothing | Undeliverable


class Composer(Protocol):
    """Turns a due digest into what to send; reads the store, never writes to it."""

    def __call__(self, session: Session, due: DueDigest, now: datetime) -> Outgoing: ...


class Pace(Protocol):
    """Spaces the sends of one workspace; ``hold`` pauses every sender (a 429)."""

    interval: float

    def wait(self, channel: str) -> None: ...

    def hold(self, seconds: float) -> None: ...


class Pacer:
    """Spaces sends to a workspace-wide rate and one per channel per ``channel_interval``.

    Pacing to the known limit keeps 429s rare: Slack's ``Retry-After`` is whole seconds,
    so every 429 costs at least a second. ``hold`` stops every sender after a 429: those
    already waiting for a slot too, which wait again once it has passed. This pace is one
    process's; ``SharedPacer`` shares it between replicas.
    """

    def __init__(
        self,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        *,
        channel_interval: float = PER_CHANNEL_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self.channel_interval = channel_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._held_until = 0.0
        self._channels = _ChannelSpacing(channel_interval)

    def wait(self, channel: str) -> None:
        """Block until a send to ``channel`` fits both limits and no hold, and book it."""
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_slot, self._held_until)
                self._next_slot = start + self.interval
            start = self._channels.book(channel, start)
            if start > now:
                self._sleep(start - now)
            with self._lock:
                if self._held_until <= start:
                    return
            # A 429 came while this send waited for its slot: wait out its Retry-After too.

    def hold(self, seconds: float) -> None:
        """Hold every send, waiting or not, for ``seconds`` (Slack said Retry-After)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)


class SharedPacer:
    """The pace of one workspace shared through the database by every replica.

    Each send books its slot in ``slack_send_budgets`` (``storage.send_budget``), so two
    replicas post at the configured rate together, not each; a 429 seen by any sender
    holds them all (a sender waiting for its slot looks again before it sends). Spacing
    per channel stays per process: one recipient's digest is claimed by one replica.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        *,
        name: str = "chat.postMessage",
        channel_interval: float = PER_CHANNEL_INTERVAL,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self._sessions = sessions
        self._name = name
        self._clock = clock
        self._sleep = sleep
        self._channels = _ChannelSpacing(channel_interval)

    def wait(self, channel: str) -> None:
        while True:
            with self._sessions() as session:
                start = send_budget.book_slot(
                    session, name=self._name, interval=self.interval, now=self._clock()
                )
                session.commit()
            start = self._channels.book(channel, start)
            delay = start - self._clock()
            if delay > 0:
                self._sleep(delay)
            with self._sessions() as session:
                if send_budget.held_until(session, name=self._name) <= start:
                    return

    def hold(self, seconds: float) -> None:
        with self._sessions() as session:
            send_budget.hold(session, name=self._name, until=self._clock() + seconds)
            session.commit()


class _ChannelSpacing:
    """One send per channel per ``interval`` (Slack's per-channel limit), in this process."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def book(self, channel: str, earliest: float) -> float:
        with self._lock:
            start = max(earliest, self._next.get(channel, 0.0))
            self._next[channel] = start + self._interval
        return start


class TransientSlackError(Exception):
    """A failure worth retrying: HTTP 5xx, a connection error, or a 429 after waiting."""


class PermanentSlackError(Exception):
    """Slack refused for a reason that retrying will not fix."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str


@dataclass
class SendPolicy:
    """How hard to try one message: attempts and backoff for transient failures."""

    attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 8.0


def post_message(
    client: WebClient, message: Message, *, pacer: Pace, policy: SendPolicy | None = None
) -> Sent:
    """Send one message, paced; retry transient failures; raise PermanentSlackError on refusal.

    Raises:
        PermanentSlackError: Slack answered ``ok: false`` with an error that retrying will
            not fix (``permanent`` tells whether it is about the recipient for good).
        TransientSlackError: still failing after the bounded retries.
    """
    policy = policy or SendPolicy()

    def attempt() -> Sent:
        pacer.wait(message.channel)
        try:
            response = client.chat_postMessage(
                channel=message.channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=message.metadata,
            )
        except SlackApiError as error:
            raise _classify(error, pacer) from error
        except (URLError, ConnectionError, TimeoutError, OSError) as error:
            raise TransientSlackError(f"connection: {error}") from error
        return Sent(channel=str(response["channel"]), ts=str(response["ts"]))

    retrying = Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, TransientSlackError)),
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait),
        before_sleep=_log_retry,
        reraise=True,
    )
    return retrying(attempt)


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    logger.warning("digest send failed (%s); retry %d", error, state.attempt_number)


def _classify(error: SlackApiError, pacer: Pace) -> Exception:
    response = error.response
    status = getattr(response, "status_code", 200)
    code = str(response.get("error", "")) if response is not None else ""
    if status == 429:
        retry_after = _retry_after(response)
        pacer.hold(retry_after)
        return TransientSlackError(f"ratelimited (Retry-After {retry_after:g}s)")
    if status >= 500 or code in TRANSIENT_ERRORS:
        return TransientSlackError(f"HTTP {status} {code}".strip())
    return PermanentSlackError(code or f"HTTP {status}", permanent=code in PERMANENT_ERRORS)


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


@dataclass
class DeliveryReport:
    """What a fan-out did, digest by digest (the counts are what the logs and CLI show)."""

    sent: list[DueDigest] = field(default_factory=list)
    skipped: list[DueDigest] = field(default_factory=list)
    failed: list[tuple[DueDigest, str]] = field(default_factory=list)
    not_claimed: list[DueDigest] = field(default_factory=list)

    def merge(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.failed += other.failed
        self.not_claimed += other.not_claimed

    def summary(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.skipped)} skipped, {len(self.failed)} failed, "
            f"{len(self.not_claimed)} already taken"
        )


@dataclass
class Deliverer:
    """Fans due digests out to Slack with bounded concurrency; safe to run on every replica.

    Args:
        sessions: Session factory (each worker opens its own unit of work).
        client: A WebClient; its own rate-limit retry handler, if any, is fine alongside.
        compose: Turns a due digest into a message.
        claimer: Names this replica in the claims (host and pid is a good choice).
        clock: The time source (tests pin it).
        pacer: The pace; ``SharedPacer`` in the app and the CLI, so every replica (and a
            manual ``digest send``) shares one workspace budget.
        workers: Threads sending at once. The pacer sets the rate; a few threads only hide
            each request's round trip, so more would add nothing but contention.
        policy: Retries for transient failures.
    """

    sessions: sessionmaker[Session]
    client: WebClient
    compose: Composer
    claimer: str
    clock: Callable[[], datetime]
    pacer: Pace = field(default_factory=Pacer)
    workers: int = 0
    policy: SendPolicy = field(default_factory=SendPolicy)

    def __post_init__(self) -> None:
        if self.workers <= 0:
            self.workers = workers_for(1.0 / self.pacer.interval)
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Claim nothing more, and send nothing not yet sent (shutting down)."""
        self._stopping.set()

    def deliver(self, due: Iterable[DueDigest]) -> DeliveryReport:
        """Claim, compose, send and record every digest in ``due``; return what happened."""
        items = list(due)
        report = DeliveryReport()
        if not items:
            return report
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="digest") as pool:
            for partial in pool.map(self._deliver_guarded, items):
                report.merge(partial)
        return report

    def _deliver_guarded(self, due: DueDigest) -> DeliveryReport:
        # A database error for one digest (a dropped connection) must not stop the fan-out;
        # its claim, if taken, is re-claimed after the lease.
        try:
            return self.deliver_one(due)
        except Exception as error:
            logger.exception("%s digest for %s: internal error", due.kind, due.recipient_id)
            report = DeliveryReport()
            report.failed.append((due, f"internal: {error.__class__.__name__}"))
            return report

    def deliver_one(self, due: DueDigest) -> DeliveryReport:
        """The four steps for one digest; never raises for a Slack or composition problem."""
        report = DeliveryReport()
        if self._stopping.is_set():
            report.not_claimed.append(due)
            return report
        with self.sessions() as session:
            taken = claim(
                session,
                kind=due.kind,
                recipient_id=due.recipient_id,
                local_date=due.local_date,
                due_at=due.due_at,
                now=self.clock(),
                claimer=self.claimer,
            )
            session.commit()
            if taken is None:
                report.not_claimed.append(due)
                return report
            try:
                outgoing = self.compose(session, due, self.clock())
            except Exception as error:
                logger.exception("composing %s digest for %s failed", due.kind, due.recipient_id)
                self._try_later(session, due, taken, f"composition: {error}")
                report.failed.append((due, f"composition: {error}"))
                return report
            session.rollback()  # end the read transaction before the slow network call
            if isinstance(outgoing, Nothing):
                mark_skipped(session, taken, reason=outgoing.reason, now=self.clock())
                session.commit()
                report.skipped.append(due)
                return report
            if isinstance(outgoing, Undeliverable):
                self._finish_failed(session, taken, outgoing.reason, permanent=True)
                report.failed.append((due, outgoing.reason))
                return report
            if self._stopping.is_set():  # left claimed: the shutdown releases it
                report.not_claimed.append(due)
                return report
            try:
                sent = post_message(self.client, outgoing, pacer=self.pacer, policy=self.policy)
            except PermanentSlackError as error:
                logger.warning(
                    "%s digest for %s refused: %s", due.kind, due.recipient_id, error.error
                )
                self._finish_failed(session, taken, error.error, permanent=error.permanent)
                report.failed.append((due, error.error))
                return report
            except TransientSlackError as error:
                self._try_later(session, due, taken, str(error))
                report.failed.append((due, str(error)))
                return report
            mark_sent(session, taken, channel_id=sent.channel, message_ts=sent.ts, now=self.clock())
            session.commit()
            report.sent.append(due)
            return report

    def _try_later(self, session: Session, due: DueDigest, taken: Claim, reason: str) -> None:
        """A transient failure: tried again after a back-off, or, the last attempt spent,
        given up (ERROR, and ``digest status`` shows it missed with the reason)."""
        if taken.attempt >= MAX_ATTEMPTS:
            logger.error(
                "%s digest for %s on %s given up after %d attempts, missed: %s",
                due.kind,
                due.recipient_id,
                due.local_date,
                taken.attempt,
                reason,
            )
            session.rollback()
            mark_given_up(session, taken, reason=reason, now=self.clock())
            session.commit()
            return
        logger.warning(
            "%s digest for %s not sent (attempt %d of %d), next try in %s: %s",
            due.kind,
            due.recipient_id,
            taken.attempt,
            MAX_ATTEMPTS,
            retry_delay(taken.attempt),
            reason,
        )
        self._finish_failed(session, taken, reason, permanent=False)

    def _finish_failed(
        self, session: Session, taken: Claim, reason: str, *, permanent: bool
    ) -> None:
        session.rollback()
        mark_failed(session, taken, reason=reason, permanent=permanent, now=self.clock())
        session.commit()


def workers_for(rate_per_second: float, *, round_trip_seconds: float = 0.25) -> int:
    """Threads enough to keep ``rate_per_second`` going with requests taking a round trip.

    At most 4: composing is Python work under one GIL, so more threads compose no faster,
    and their contention delays sends unevenly, bunching them into 429s (the bench shows
    it: 8 threads drew 429s at 50/s that 4 did not).
    """
    return max(2, min(4, math.ceil(rate_per_second * round_trip_seconds) + 1))


def claimer_name() -> str:
    """How this process signs its claims: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"
