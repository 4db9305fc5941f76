"""Running the work after an ack so that a failure is logged and told plainly.

``@app.error`` never sees work that runs after the ack: ``run_safely`` logs the full trace
and tells the user what happened, never the trace. A database outage is one warning line
per request instead: the outage itself is logged once (``storage.health``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter
from slack_bolt import Respond
from slack_sdk import WebClient

from handlers.render.kit import fallback_text
from storage.health import describe, is_outage

logger = logging.getLogger(__name__)

LISTENER_ERRORS = Counter(
    "salesbot_listener_errors_total",
    "Listener failures, before the ack (stage=ack) or in the work after it (stage=work).",
    ["stage"],
)

SORRY_TEXT = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell your salesbot admin."
)


def run_safely(
    name: str, work: Callable[[], None], *, client: WebClient, body: dict[str, Any]
) -> None:
    """Run ``work``; on any exception log it with its trace and apologise to the user.

    Args:
        name: The listener's name, for the log.
        work: The work after the ack.
        client: The Web API client (the apology goes to the user's DM without a response_url).
        body: The request's payload (its ``response_url`` and user say where to apologise).
    """
    try:
        work()
    except Exception as error:
        LISTENER_ERRORS.labels(stage="work").inc()
        if is_outage(error):
            # The outage is logged once when it starts; each request gets one line.
            logger.warning("%s failed: database unavailable (%s)", name, describe(error))
        else:
            logger.exception("failed after ack in %s", name)
        _apologise(client, body)


def _apologise(client: WebClient, body: dict[str, Any]) -> None:
    try:
        response_url = body.get("response_url")
        if response_url:
            Respond(response_url=response_url)(
                text=fallback_text(SORRY_TEXT), response_type="ephemeral", replace_original=False
            )
            return
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        if user_id:
            # The App Home has no response_url: the app's DM is the one place to say it.
            client.chat_postMessage(channel=user_id, text=fallback_text(SORRY_TEXT))
    except Exception:
        logger.exception("could not tell the user about the failure")
