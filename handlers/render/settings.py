"""The ``/sales settings`` modal, and reading its submitted state back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

from handlers.i18n import _, languages
from handlers.i18n.formats import language_name, weekday_names
from handlers.render.kit import PLACEHOLDER, Block, context, input_block, modal, option, plain
from handlers.slack import ids
from rules.digests.nudges import NudgePrefs, kinds_by_label
from rules.settings.preferences import Preferences

# The language choice that follows Slack's locale (stored as no choice).
FOLLOW_SLACK = "slack"

# block_id of each input; view_submission errors are keyed by them.
BLOCK_FOR_FIELD = {
    "digest_time": "digest_time",
    "digest_weekdays": "digest_weekdays",
    "timezone_override": "timezone_override",
    "follow_up_prompt": "follow_up_prompt",
    "empty_digest": "empty_digest",
    "muted_action_types": "muted_action_types",
    "language": "language",
    "nudge_kinds": "nudge_kinds",
    "nudge_max_per_day": "nudge_max_per_day",
}
NUDGE_LIMITS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
ACTION = "value"  # every input's action_id: the block_id says which field it is


class UnreadableSubmission(ValueError):
    """A submission whose shape this modal did not produce."""


def settings_modal(
    prefs: Preferences,
    *,
    action_types: Sequence[tuple[str, str]],
    zone_hint: str,
    nudges: NudgePrefs | None = None,
) -> dict[str, Any]:
    """The modal, filled with ``prefs``.

    Args:
        prefs: The current preferences.
        nudges: The current nudge choices (default: none, nudges are opt-in).
        action_types: (value, label) of every guided-action type that can be muted.
        zone_hint: The time zone in effect without an override, shown as a hint.
    """
    days = [option(name, str(number)) for number, name in enumerate(weekday_names(), start=1)]
    chosen_days = [d for d in days if int(d["value"]) in prefs.digest_weekdays]
    follow_up = option(_("Ask me to create a follow-up task when I complete a task"), "on")
    empty = [
        option(_("Send me a short all-clear message"), "all_clear"),
        option(_("Send nothing"), "skip"),
    ]
    spoken = [option(_("As in Slack"), FOLLOW_SLACK)] + [
        option(language_name(code), code) for code in languages()
    ]
    blocks: list[Block] = [
        input_block(
            "digest_time",
            _("Daily digest time"),
            {
                "type": "timepicker",
                "action_id": ACTION,
                "initial_time": prefs.digest_time.strftime("%H:%M"),
            },
            hint=_("In your own time zone."),
        ),
        input_block(
            "digest_weekdays",
            _("Digest days"),
            _with_initial(
                {"type": "checkboxes", "action_id": ACTION, "options": days}, chosen_days
            ),
        ),
        input_block(
            "timezone_override",
            _("Time zone override"),
            {
                "type": "plain_text_input",
                "action_id": ACTION,
                "max_length": 64,
                "placeholder": plain(_("e.g. Europe/Berlin"), PLACEHOLDER),
                **({"initial_value": prefs.timezone_override} if prefs.timezone_override else {}),
            },
            optional=True,
            hint=_("Leave empty to use {zone}.").format(zone=zone_hint),
        ),
        input_block(
            "follow_up_prompt",
            _("Follow-up prompt"),
            _with_initial(
                {"type": "checkboxes", "action_id": ACTION, "options": [follow_up]},
                [follow_up] if prefs.follow_up_prompt else [],
            ),
            optional=True,
        ),
        input_block(
            "empty_digest",
            _("When there is nothing to do"),
            {
                "type": "radio_buttons",
                "action_id": ACTION,
                "options": empty,
                "initial_option": next(
                    (o for o in empty if o["value"] == prefs.empty_digest), empty[0]
                ),
            },
        ),
        input_block(
            "language",
            _("Language"),
            {
                "type": "static_select",
                "action_id": ACTION,
                "options": spoken,
                "initial_option": next(
                    (o for o in spoken if o["value"] == prefs.language), spoken[0]
                ),
            },
            hint=_("“As in Slack” follows the language of your Slack account."),
        ),
    ]
    if action_types:
        type_options = [option(label, value) for value, label in action_types][:100]
        muted = [o for o in type_options if o["value"] in prefs.muted_action_types]
        blocks.append(
            input_block(
                "muted_action_types",
                _("Muted guided actions"),
                _with_initial(
                    {
                        "type": "multi_static_select",
                        "action_id": ACTION,
                        "placeholder": plain(_("None muted"), PLACEHOLDER),
                        "options": type_options,
                    },
                    muted,
                ),
                optional=True,
                hint=_("Muted actions stay out of your digest and Home tab."),
            )
        )
    blocks += _nudge_blocks(nudges or NudgePrefs())
    blocks.append(context(_("Changes apply from your next digest.")))
    return modal(ids.VIEW_SETTINGS, _("Your settings"), blocks, submit=_("Save"))


def _nudge_blocks(nudges: NudgePrefs) -> list[Block]:
    kinds = [option(_(label), value) for value, label in kinds_by_label()]
    weekends = option(_("Also on Saturdays and Sundays"), "on")
    limits = [option(str(n), str(n)) for n in NUDGE_LIMITS]

    def clock(block_id: str, label: str, value: time) -> Block:
        picker = {
            "type": "timepicker",
            "action_id": ACTION,
            "initial_time": value.strftime("%H:%M"),
        }
        return input_block(block_id, label, picker, hint=_("In your own time zone."))

    return [
        input_block(
            "nudge_kinds",
            _("Nudges: a direct message the moment one of these arises"),
            _with_initial(
                {"type": "checkboxes", "action_id": ACTION, "options": kinds},
                [k for k in kinds if k["value"] in nudges.kinds],
            ),
            optional=True,
            hint=_("None ticked: no nudges. Actions arising together come in one message."),
        ),
        clock("nudge_quiet_start", _("No nudges from"), nudges.quiet_start),
        clock("nudge_quiet_end", _("No nudges until"), nudges.quiet_end),
        input_block(
            "nudge_weekends",
            _("Nudges on weekends"),
            _with_initial(
                {"type": "checkboxes", "action_id": ACTION, "options": [weekends]},
                [weekends] if nudges.weekends else [],
            ),
            optional=True,
        ),
        input_block(
            "nudge_max_per_day",
            _("At most this many nudges a day"),
            {
                "type": "static_select",
                "action_id": ACTION,
                "options": limits,
                "initial_option": next(
                    (o for o in limits if o["value"] == str(nudges.max_per_day)), limits[4]
                ),
            },
        ),
    ]


def _with_initial(element: dict[str, Any], chosen: list[dict[str, Any]]) -> dict[str, Any]:
    if chosen:
        element["initial_options"] = chosen
    return element


def _digest_time(raw: object) -> time:
    """The time picker's "HH:MM"."""
    try:
        hours, minutes = str(raw).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise UnreadableSubmission("bad digest_time") from None


def read_nudge_submission(values: object) -> NudgePrefs | None:
    """Nudge choices from a submitted settings modal; None when it had no nudge fields.

    Raises:
        UnreadableSubmission: If a nudge field has a shape the modal cannot produce.
    """
    if not isinstance(values, dict) or "nudge_max_per_day" not in values:
        return None

    def element(block_id: str) -> dict[str, Any]:
        block = values.get(block_id)
        found = block.get(ACTION) if isinstance(block, dict) else None
        return found if isinstance(found, dict) else {}

    def ticked(block_id: str) -> list[str]:
        chosen = element(block_id).get("selected_options") or []
        if not isinstance(chosen, list):
            raise UnreadableSubmission(f"bad {block_id}")
        return [str(o.get("value")) for o in chosen if isinstance(o, dict)]

    def clock(block_id: str) -> time:
        hours, minutes = str(element(block_id).get("selected_time")).split(":")
        return time(int(hours), int(minutes))

    try:
        quiet = [clock("nudge_quiet_start"), clock("nudge_quiet_end")]
        limit = int(str((element("nudge_max_per_day").get("selected_option") or {}).get("value")))
    except (TypeError, ValueError):
        raise UnreadableSubmission("bad nudge fields") from None
    return NudgePrefs(
        kinds=tuple(ticked("nudge_kinds")),
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        weekends="on" in ticked("nudge_weekends"),
        max_per_day=limit,
    )


def read_submission(values: object) -> Preferences:
    """Preferences from ``view.state.values`` of a submitted settings modal.

    Raises:
        UnreadableSubmission: If a field is missing or has a shape the modal cannot produce.
    """
    if not isinstance(values, dict):
        raise UnreadableSubmission("no values")

    def field(block_id: str) -> dict[str, Any]:
        block = values.get(block_id)
        element = block.get(ACTION) if isinstance(block, dict) else None
        if not isinstance(element, dict):
            raise UnreadableSubmission(f"missing {block_id}")
        return element

    def selected(block_id: str, *, required: bool = True) -> list[str]:
        if not required and block_id not in values:
            return []  # an optional input the modal did not show
        chosen = field(block_id).get("selected_options") or []
        if not isinstance(chosen, list) or not all(isinstance(o, dict) for o in chosen):
            raise UnreadableSubmission(f"bad {block_id}")
        return [str(o.get("value")) for o in chosen]

    digest_time = _digest_time(field("digest_time").get("selected_time"))
    try:
        weekdays = tuple(sorted({int(v) for v in selected("digest_weekdays")}))
    except ValueError:
        raise UnreadableSubmission("bad digest_weekdays") from None
    zone = field("timezone_override").get("value")
    if zone is not None and not isinstance(zone, str):
        raise UnreadableSubmission("bad timezone_override")
    empty_choice = (field("empty_digest").get("selected_option") or {}).get("value")
    language = None
    if "language" in values:  # a modal opened before the language choice existed has none
        language = (field("language").get("selected_option") or {}).get("value")
    return Preferences(
        digest_time=digest_time,
        digest_weekdays=weekdays,
        timezone_override=(zone or "").strip() or None,
        follow_up_prompt="on" in selected("follow_up_prompt"),
        empty_digest=str(empty_choice or ""),
        muted_action_types=tuple(selected("muted_action_types", required=False)),
        language=None if language in (None, FOLLOW_SLACK) else str(language),
    )
