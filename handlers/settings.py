"""The settings modal: opened by ``/sales settings``, saved on submit after validation."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers.i18n import _, languages
from handlers.i18n.phrases import spoken
from handlers.i18n.users import speaking_to
from handlers.render.actions import muteable_types
from handlers.render.settings import (
    BLOCK_FOR_FIELD,
    UnreadableSubmission,
    read_nudge_submission,
    read_submission,
    settings_modal,
)
from handlers.slack import ids
from handlers.slack.context import acting
from handlers.slack.identity import Asker
from handlers.slack.listeners import Form, on_submit
from handlers.slack.services import Services
from rules.digests.nudges import load_nudge_prefs, nudge_pref_problems, save_nudge_prefs
from rules.settings.preferences import load_preferences, preference_problems, save_preferences
from storage.db import unit_of_work
from storage.models import User

logger = logging.getLogger(__name__)


def muteable_action_types() -> list[tuple[str, str]]:
    """(value, label) of the guided-action types a user may mute."""
    return muteable_types()


def open_settings(services: Services, client: WebClient, *, asker: Asker, trigger_id: str) -> None:
    """Open the settings modal filled with the asker's current preferences."""
    with unit_of_work(services.sessions) as session:
        prefs = load_preferences(session, user_id=asker.user_id)
        nudges = load_nudge_prefs(session, user_id=asker.user_id)
        user = session.get(User, asker.user_id)
        zone_hint = user.timezone if user is not None else services.settings.default_timezone
        default = services.settings.default_language
        with speaking_to(session, user_id=asker.user_id, default=default):
            view = settings_modal(
                prefs, action_types=muteable_action_types(), zone_hint=zone_hint, nudges=nudges
            )
    client.views_open(trigger_id=trigger_id, view=view)


def register(app: App) -> None:
    """Saving the settings modal (``/sales settings`` opens it)."""
    app.view(ids.VIEW_SETTINGS)(on_submit(save_settings))


def save_settings(form: Form, ack: Ack, context: BoltContext) -> None:
    """Validate and save; errors answer in the ack itself, under their fields (a DB write
    takes milliseconds, so the save happens in the ack too)."""
    who = acting(context)
    try:
        prefs = read_submission(form.state.get("values"))
        nudges = read_nudge_submission(form.state.get("values"))
    except UnreadableSubmission as error:
        logger.warning("refused a settings submission from %s: %s", form.user_id, error)
        ack(
            response_action="errors",
            errors={"digest_time": _("Something in this form was garbled. Please reopen it.")},
        )
        return
    known = {value for value, _label in muteable_action_types()}
    problems = preference_problems(prefs, known_action_types=known, known_languages=languages())
    if nudges is not None:
        problems |= nudge_pref_problems(nudges)
    if problems:
        ack(
            response_action="errors",
            # The domain's sentences, in the reader's language.
            errors={BLOCK_FOR_FIELD[name]: spoken(text) for name, text in problems.items()},
        )
        return
    asker = who.asker()
    if asker is None:
        ack(
            response_action="errors",
            errors={"digest_time": _("Your Slack account is not linked to a CRM user.")},
        )
        return
    with unit_of_work(who.services.sessions) as session:
        now = who.services.clock()
        save_preferences(session, user_id=asker.user_id, prefs=prefs, now=now)
        if nudges is not None:
            save_nudge_prefs(session, user_id=asker.user_id, prefs=nudges, now=now)
    ack()
