"""What a user reads when their ``/sales settings`` cannot be saved.

Filled in by ``rules.settings.preferences``.
"""

from __future__ import annotations

from rules.translatable import N_

TIME_WITH_ZONE = N_("Pick a time of day (your own time zone applies).")
TIME_OFF_GRID = N_("Pick a time on a 5-minute mark, e.g. 08:00 or 08:05.")
NO_WEEKDAYS = N_(
    "Pick at least one day (to stop the digest, choose “skip” for empty digests "
    "and mute the action types you don't want)."
)
BAD_WEEKDAY = N_("Days are Monday to Sunday.")
UNKNOWN_ZONE = N_(
    "“{zone}” is not a time zone I know. Use a name like "
    "Europe/Berlin or America/New_York, or leave it empty to use your Slack time zone."
)
PICK_EMPTY_DIGEST = N_("Choose whether to get an all-clear message or nothing.")
UNKNOWN_ACTION_TYPES = N_("Unknown action types: {types}.")
UNKNOWN_LANGUAGE = N_("Pick one of the languages offered.")
