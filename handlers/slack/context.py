"""Who is acting, and the app's services, put into Bolt's ``context`` once per request.

``install_context`` adds one global middleware (as bolt-python's own middleware fills
``context.user_id`` or ``context.client``): every listener then reads ``acting(context)``
instead of looking the store and the user up itself. The CRM user is looked up lazily, at
most once per request, and never before the ack: an ack must not wait on the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from handlers.slack.identity import Asker, who_is_asking
from handlers.slack.services import Services

_ACTING = "salesbot_acting"


class Acting:
    """The Slack user behind one request, the app's services, and (on demand) their CRM user."""

    def __init__(self, services: Services, client: WebClient, slack_user_id: str) -> None:
        self.services = services
        self.client = client
        self.slack_user_id = slack_user_id
        self._lock = threading.Lock()
        self._looked_up = False
        self._asker: Asker | None = None

    def asker(self) -> Asker | None:
        """The active CRM user behind the request's Slack user, or None (looked up once)."""
        with self._lock:
            if not self._looked_up:
                self._asker = who_is_asking(self.services, self.client, self.slack_user_id)
                self._looked_up = True
            return self._asker

    def __deepcopy__(self, memo: dict[int, Any]) -> Acting:
        # Bolt deep-copies the context for lazy listeners: they share this request's lookup
        # (and the store, which cannot be copied).
        return self


def install_context(app: App, services: Services) -> None:
    """Put ``Acting`` for the request's user into every request's context."""

    def put_acting_in_context(
        context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        context[_ACTING] = Acting(services, context.client or app.client, context.user_id or "")
        return next()

    app.use(put_acting_in_context)


def acting(context: BoltContext) -> Acting:
    """The request's ``Acting`` (set by ``install_context``)."""
    found = context.get(_ACTING)
    if not isinstance(found, Acting):
        raise RuntimeError("install_context(app, services) was not called for this app")
    return found
