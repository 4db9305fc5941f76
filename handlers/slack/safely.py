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

from handlers.i18n import N_, _
from handlers.render.kit import fallback_text
from storage.health import describe, is_outage

logger = logging.getLogger(__name__)

LISTENER_ERRORS = Counter(
    "salesbot_listener_errors_total",
    "Listener failures, before the ack (stage=ack) or in the work after it (stage=work).",
    ["stage"],
)

SORRY_TEXT = N_(
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell your salesbot admin."
)


def _as_is(work: Callable[[], None]) -> None:
    work()


def run_safely(
    name: str,
    work: Callable[[], None],
    *,
    client: WebClient,
    body: dict[str, Any],
    speaking: Callable[[Callable[[], None]], None] = _as_is,
) -> None:
    """Run ``work``; on any exception log it with its trace and apologise to the user.

    Args:
        name: The listener's name, for the log.
        work: The work after the ack.
        client: The Web API client (the apology goes to the user's DM without a response_url).
        body: The request's payload (its ``response_url`` and user say where to apologise).
        speaking: Runs its argument in the user's language (the work, then the apology).
    """
    try:
        speaking(work)
    except Exception as error:
        LISTENER_ERRORS.labels(stage="work").inc()
        if is_outage(error):
            # The outage is logged once when it starts; each request gets one line.
            logger.warning("%s failed: database unavailable (%s)", name, describe(error))
        else:
            logger.exception("failed after ack in %s", name)
        _apologise(client, body, speaking)


def _apologise(
    client: WebClient, body: dict[str, Any], speaking: Callable[[Callable[[], None]], None]
) -> None:
    said: list[bool] = []

    def sorry() -> None:
        _say_sorry(client, body)
        said.append(True)

    try:
        speaking(sorry)
    except Exception:
        if said:
            return
        try:  # their language could not be found: the source language then
            sorry()
        except Exception:
            logger.exception("could not tell the user about the failure")


def _say_sorry(client: WebClient, body: dict[str, Any]) -> None:
    response_url = body.get("response_url")
    if response_url:
        Respond(response_url=response_url)(
            text=fallback_text(_(SORRY_TEXT)), response_type="ephemeral", replace_original=False
        )
        return
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    if user_id:
        # The App Home has no response_url: the app's DM is the one place to say it.
        client.chat_postMessage(channel=user_id, text=fallback_text(_(SORRY_TEXT)))
