"""Who is asking: the CRM user behind a Slack user id.

Looked up by ``users.slack_user_id`` first; failing that, by the email Slack's
``users.info`` gives (needs the ``users:read.email`` scope), matched case-insensitively
with ``users.email``, and then remembered on the user. The same ``users.info`` answer
(asked with ``include_locale``) gives the user's Slack locale, which picks their language;
a user linked before salesbot knew locales is asked once, on their next request. Answers
are cached in memory for a short while so a burst of clicks costs one query, not one per
click.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from handlers.i18n import _
from handlers.slack.services import PerStore, Services
from storage.db import unit_of_work
from storage.models import Role, User
from storage.people import (
    link_slack_user,
    remember_slack_locale,
    user_by_email,
    user_by_slack_id,
)

logger = logging.getLogger(__name__)

CACHE_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class Asker:
    """The CRM user behind a Slack request (ids only: load the row in your own session)."""

    user_id: int
    slack_user_id: str
    name: str
    role: Role


class IdentityCache:
    """Slack user id -> Asker, each entry kept for ``ttl`` seconds (thread-safe)."""

    def __init__(
        self, ttl: float = CACHE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Asker, float]] = {}

    def get(self, slack_user_id: str) -> Asker | None:
        with self._lock:
            entry = self._entries.get(slack_user_id)
            if entry is None:
                return None
            asker, expires = entry
            if self._clock() >= expires:
                del self._entries[slack_user_id]
                return None
            return asker

    def put(self, asker: Asker) -> None:
        with self._lock:
            self._entries[asker.slack_user_id] = (asker, self._clock() + self._ttl)

    def forget(self, slack_user_id: str | None = None) -> None:
        """Drop one entry, or all of them."""
        with self._lock:
            if slack_user_id is None:
                self._entries.clear()
            else:
                self._entries.pop(slack_user_id, None)


_caches: PerStore[IdentityCache] = PerStore()


def identity_cache(services: Services) -> IdentityCache:
    """The cache that ``who_is_asking`` uses for this store."""
    return _caches.get_or_make(services, IdentityCache)


def who_is_asking(services: Services, client: WebClient, slack_user_id: str) -> Asker | None:
    """The active CRM user behind ``slack_user_id``, or None when there is none.

    Args:
        services: The app's services (store and clock).
        client: A Web API client, used for ``users.info`` when the id is not linked yet.
        slack_user_id: The ``user.id`` of the Slack request (never a payload value).

    Returns:
        The asker, or None if the Slack user maps to no active CRM user.
    """
    if not slack_user_id:
        return None
    cache = identity_cache(services)
    cached = cache.get(slack_user_id)
    if cached is not None:
        return cached
    with unit_of_work(services.sessions) as session:
        user = user_by_slack_id(session, slack_user_id)
        if user is not None and user.is_active and user.slack_locale is None:
            asked = _slack_profile(client, slack_user_id)
            if asked.answered:  # Slack down or rate limited: ask again next time
                remember_slack_locale(session, user, asked.locale)
        if user is None:
            profile = _slack_profile(client, slack_user_id)
            email = profile.email
            user = user_by_email(session, email) if email else None
            if user is not None and user.is_active:
                # A previous link stays authoritative: never steal a user linked elsewhere.
                if user.slack_user_id not in (None, slack_user_id):
                    logger.warning(
                        "Slack user %s has the email of CRM user %s, who is linked to another "
                        "Slack user; not linking",
                        slack_user_id,
                        user.id,
                    )
                    return None
                link_slack_user(session, user, slack_user_id)
                remember_slack_locale(session, user, profile.locale)  # found: Slack answered
        if user is None or not user.is_active:
            return None
        asker = _asker(user, slack_user_id)
    cache.put(asker)
    return asker


def _asker(user: User, slack_user_id: str) -> Asker:
    return Asker(user_id=user.id, slack_user_id=slack_user_id, name=user.name, role=user.role)


@dataclass(frozen=True)
class _SlackProfile:
    """What ``users.info`` said; ``answered`` is False when Slack could not be asked."""

    answered: bool
    email: str | None = None
    locale: str | None = None


def _slack_profile(client: WebClient, slack_user_id: str) -> _SlackProfile:
    try:
        response = client.users_info(user=slack_user_id, include_locale=True)
    except SlackApiError as error:
        logger.warning(
            "users.info failed for %s: %s", slack_user_id, error.response.get("error", "?")
        )
        return _SlackProfile(answered=False)
    except SlackClientError as error:
        logger.warning("users.info failed for %s: %s", slack_user_id, type(error).__name__)
        return _SlackProfile(answered=False)
    user: Any = response.get("user") or {}
    if user.get("deleted") or user.get("is_bot"):
        return _SlackProfile(answered=True)
    email = (user.get("profile") or {}).get("email")
    locale = user.get("locale")
    return _SlackProfile(
        answered=True, email=str(email) if email else None, locale=str(locale) if locale else None
    )


def unmapped_text(slack_user_id: str) -> str:
    """What an unmapped Slack user reads: what happened and what to ask their admin."""
    return _(
        "I couldn't find your CRM account, so I can't show your sales workspace yet.\n"
        "Please ask your salesbot admin to link you, for example:\n"
        "`salesbot users map --slack {slack_id} --email you@yourcompany.com`\n"
        "(This happens when your Slack email differs from your CRM email, or your CRM user "
        "is deactivated.)"
    ).format(slack_id=slack_user_id)
