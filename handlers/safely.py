"""Running the work after an ack so that a failure is logged and told plainly.

Bolt only logs a one-line error for a lazy listener that raises (``@app.error`` never sees
it): ``after_ack`` logs the full trace and tells the user what happened, never the trace.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter
from slack_sdk import WebClient

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


def after_ack(func: Callable[..., None]) -> Callable[..., None]:
    """Wrap a lazy listener: log any exception with its trace and apologise to the user.

    Bolt injects arguments by the wrapped function's parameter names (it unwraps), so the
    wrapper sees exactly what ``func`` asked for.
    """

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as error:
            LISTENER_ERRORS.labels(stage="work").inc()
            if is_outage(error):
                # The outage is logged once when it starts; each request gets one line.
                logger.warning(
                    "%s failed: database unavailable (%s)", func.__name__, describe(error)
                )
            else:
                logger.exception("failed after ack in %s", func.__name__)
            _apologise(kwargs)

    return wrapper


def _apologise(kwargs: dict[str, Any]) -> None:
    respond = kwargs.get("respond")
    body = kwargs.get("body") or {}
    try:
        if respond is not None and body.get("response_url"):
            respond(text=SORRY_TEXT, response_type="ephemeral", replace_original=False)
            return
        client = kwargs.get("client")
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        if isinstance(client, WebClient) and user_id:
            # The App Home has no response_url: the app's DM is the one place to say it.
            client.chat_postMessage(channel=user_id, text=SORRY_TEXT)
    except Exception:
        logger.exception("could not tell the user about the failure")
