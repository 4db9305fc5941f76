"""The settings modal: opened by ``/sales settings``, saved on submit after validation."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import ids
from handlers.identity import Asker, who_is_asking
from handlers.render.settings import (
    BLOCK_FOR_FIELD,
    UnreadableSubmission,
    read_submission,
    settings_modal,
)
from handlers.services import Services
from rules.preferences import load_preferences, preference_problems, save_preferences
from storage.db import unit_of_work
from storage.models import User

logger = logging.getLogger(__name__)


def muteable_action_types() -> list[tuple[str, str]]:
    """(value, label) of the guided-action types a user may mute."""
    return []


def open_settings(services: Services, client: WebClient, *, asker: Asker, trigger_id: str) -> None:
    """Open the settings modal filled with the asker's current preferences."""
    with unit_of_work(services.sessions) as session:
        prefs = load_preferences(session, user_id=asker.user_id)
        user = session.get(User, asker.user_id)
        zone_hint = user.timezone if user is not None else services.settings.default_timezone
    view = settings_modal(prefs, action_types=muteable_action_types(), zone_hint=zone_hint)
    client.views_open(trigger_id=trigger_id, view=view)


def register(app: App, services: Services) -> None:
    """Saving the settings modal."""

    @app.view(ids.VIEW_SETTINGS)
    def save_settings(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        # Validation answers in the ack itself (errors show under the fields), so the
        # save happens here too: a DB write takes milliseconds.
        slack_user_id = (body.get("user") or {}).get("id", "")
        values = ((body.get("view") or {}).get("state") or {}).get("values")
        try:
            prefs = read_submission(values)
        except UnreadableSubmission as error:
            logger.warning("refused a settings submission from %s: %s", slack_user_id, error)
            ack(
                response_action="errors",
                errors={"digest_time": "Something in this form was garbled. Please reopen it."},
            )
            return
        known = {value for value, _label in muteable_action_types()}
        problems = preference_problems(prefs, known_action_types=known)
        if problems:
            ack(
                response_action="errors",
                errors={BLOCK_FOR_FIELD[name]: text for name, text in problems.items()},
            )
            return
        asker = who_is_asking(services, client, slack_user_id)
        if asker is None:
            ack(
                response_action="errors",
                errors={"digest_time": "Your Slack account is not linked to a CRM user."},
            )
            return
        with unit_of_work(services.sessions) as session:
            save_preferences(session, user_id=asker.user_id, prefs=prefs, now=services.clock())
        ack()
