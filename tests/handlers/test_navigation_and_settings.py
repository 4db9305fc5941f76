"""Home navigation, /sales views, the settings modal and "as @user", through HTTP."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy.orm import Session

from handlers.render.navigation import View, ViewState
from handlers.slack import ids
from rules.digests.nudges import load_nudge_prefs
from storage.models import Role, UserPreferences
from tests.builders import CRM
from tests.support.app import RunningApp


def _texts(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


def test_navigation_on_the_home_tab_republishes_the_chosen_view(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.block_action(
        user_id="UDANA",
        action_id=f"{ids.HOME_NAV}:deals",
        value=ViewState(view=View.DEALS).encode(),
    )
    view = running_app.published_home("UDANA")
    assert view["blocks"][0]["text"]["text"] == "Deals"
    assert ViewState.decode(view["private_metadata"]).view is View.DEALS


def test_navigation_on_a_message_replaces_that_message(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.block_action(
        user_id="UDANA",
        action_id=f"{ids.HOME_NAV}:leads",
        value=ViewState(view=View.LEADS).encode(),
        in_home=False,
    )
    (answer,) = running_app.responses()
    assert answer["replace_original"] in (True, "true")
    assert answer["blocks"][0]["text"]["text"] == "Leads"
    assert running_app.slack.calls_to("views.publish") == []


def test_sales_views_answer_ephemerally(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    for word, title in [("", "Overview"), ("tasks", "Tasks"), ("schedule week", "Schedule")]:
        running_app.slack.clear()
        running_app.slash(word, user_id="UDANA")
        (answer,) = running_app.responses()
        assert answer["response_type"] == "ephemeral"
        assert answer["blocks"][0]["text"]["text"] == title


def test_unknown_input_gets_help(running_app: RunningApp, crm: CRM, session: Session) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slash("make me a sandwich", user_id="UDANA")
    (answer,) = running_app.responses()
    assert "I don't know “make me a sandwich”" in answer["text"]
    assert "/sales tasks" in answer["text"]


def test_as_user_is_refused_politely_to_non_admins(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    crm.user(slack_user_id="UEVE")
    session.commit()
    running_app.slash("as <@UEVE|eve> tasks", user_id="UDANA")
    (answer,) = running_app.responses()
    assert "only super admins" in answer["text"]
    assert "blocks" not in answer


def test_a_super_admin_sees_another_users_workspace(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UBOSS", role=Role.SUPER_ADMIN)
    crm.user(name="Eve", slack_user_id="UEVE")
    session.commit()
    running_app.slash("as <@UEVE|eve> tasks", user_id="UBOSS")
    (answer,) = running_app.responses()
    assert answer["blocks"][0]["text"]["text"] == "Tasks: Eve"
    assert "viewing *Eve*'s workspace" in _texts(answer["blocks"])


def test_a_manager_may_look_at_their_own_teams_reps_only(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    east, west = crm.team(name="East"), crm.team(name="West")
    crm.user(slack_user_id="UMGR", role=Role.MANAGER, team_id=east.id)
    crm.user(name="Eve", slack_user_id="UEVE", team_id=east.id)
    crm.user(name="Wes", slack_user_id="UWES", team_id=west.id)
    session.commit()
    running_app.slash("as <@UEVE|eve>", user_id="UMGR")
    running_app.slash("as <@UWES|wes>", user_id="UMGR")
    mine, other = running_app.responses()
    assert mine["blocks"][0]["text"]["text"] == "Overview: Eve"
    assert "only super admins" in other["text"] and "blocks" not in other


def test_a_forged_subject_in_a_button_is_not_honoured(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(name="Dana", slack_user_id="UDANA")
    eve = crm.user(name="Eve", slack_user_id="UEVE")
    session.commit()
    forged = ViewState(view=View.TASKS, subject_id=eve.id).encode()
    running_app.block_action(user_id="UDANA", action_id=f"{ids.HOME_NAV}:tasks", value=forged)
    view = running_app.published_home("UDANA")
    assert "Eve" not in _texts(view["blocks"])
    assert ViewState.decode(view["private_metadata"]).subject_id is None


def _settings_values(**over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "digest_time": {"value": {"type": "timepicker", "selected_time": "07:30"}},
        "digest_weekdays": {
            "value": {"type": "checkboxes", "selected_options": [{"value": "1"}, {"value": "3"}]}
        },
        "timezone_override": {"value": {"type": "plain_text_input", "value": "Europe/Berlin"}},
        "follow_up_prompt": {"value": {"type": "checkboxes", "selected_options": []}},
        "empty_digest": {"value": {"type": "radio_buttons", "selected_option": {"value": "skip"}}},
    }
    values.update(over)
    return values


def test_settings_opens_a_modal_with_the_current_preferences(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slash("settings", user_id="UDANA")
    (opened,) = running_app.slack.calls_to("views.open")
    view = opened.json_param("view")
    assert view["callback_id"] == ids.VIEW_SETTINGS
    digest = next(b for b in view["blocks"] if b.get("block_id") == "digest_time")
    assert digest["element"]["initial_time"] == "08:00"


def test_saving_settings_stores_them(running_app: RunningApp, crm: CRM, session: Session) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    answer = running_app.view_submission(
        user_id="UDANA", callback_id=ids.VIEW_SETTINGS, values=_settings_values()
    )
    assert answer.status == 200 and answer.body in ("", "{}")
    session.expire_all()
    saved = session.get(UserPreferences, dana.id)
    assert saved is not None
    assert saved.digest_time == time(7, 30)
    assert saved.digest_weekdays == [1, 3]
    assert saved.timezone_override == "Europe/Berlin"
    assert saved.follow_up_prompt is False
    assert saved.empty_digest == "skip"


def test_invalid_settings_show_errors_and_save_nothing(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    values = _settings_values(
        timezone_override={"value": {"type": "plain_text_input", "value": "Mars/Olympus"}},
        digest_weekdays={"value": {"type": "checkboxes", "selected_options": []}},
    )
    answer = running_app.view_submission(
        user_id="UDANA", callback_id=ids.VIEW_SETTINGS, values=values
    )
    errors = answer.json()["errors"]
    assert "Mars/Olympus" in errors["timezone_override"]
    assert "at least one day" in errors["digest_weekdays"]
    session.expire_all()
    assert session.get(UserPreferences, dana.id) is None


def test_a_garbled_settings_submission_is_refused(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    values = _settings_values(digest_time={"value": {"selected_time": "25:99"}})
    answer = running_app.view_submission(
        user_id="UDANA", callback_id=ids.VIEW_SETTINGS, values=values
    )
    assert answer.json()["response_action"] == "errors"
    session.expire_all()
    assert session.get(UserPreferences, dana.id) is None


def test_muting_guided_action_types_in_settings(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slash("settings", user_id="UDANA")
    view = running_app.slack.calls_to("views.open")[0].json_param("view")
    muted = next(b for b in view["blocks"] if b.get("block_id") == "muted_action_types")
    assert len(muted["element"]["options"]) == 19
    chosen = {
        "value": {
            "type": "multi_static_select",
            "selected_options": [{"value": "email_replies"}, {"value": "log_call_outcome"}],
        }
    }
    running_app.view_submission(
        user_id="UDANA",
        callback_id=ids.VIEW_SETTINGS,
        values=_settings_values(muted_action_types=chosen),
    )
    session.expire_all()
    saved = session.get(UserPreferences, dana.id)
    assert saved is not None and saved.muted_action_types == ["email_replies", "log_call_outcome"]
    forged = {"value": {"type": "multi_static_select", "selected_options": [{"value": "nope"}]}}
    answer = running_app.view_submission(
        user_id="UDANA",
        callback_id=ids.VIEW_SETTINGS,
        values=_settings_values(muted_action_types=forged),
    )
    assert "nope" in answer.json()["errors"]["muted_action_types"]
    session.expire_all()
    assert session.get_one(UserPreferences, dana.id).muted_action_types == [
        "email_replies",
        "log_call_outcome",
    ]


def test_choosing_nudges_in_settings(running_app: RunningApp, crm: CRM, session: Session) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slash("settings", user_id="UDANA")
    (opened,) = running_app.slack.calls_to("views.open")
    blocks = {b.get("block_id"): b for b in opened.json_param("view")["blocks"]}
    assert "initial_options" not in blocks["nudge_kinds"]["element"]  # opt-in: none ticked
    assert blocks["nudge_max_per_day"]["element"]["initial_option"]["value"] == "5"

    def picked(*values: str) -> dict[str, Any]:
        return {"value": {"selected_options": [{"value": v} for v in values]}}

    values = _settings_values(
        nudge_kinds=picked("buyer_replied", "meeting_soon"),
        nudge_quiet_start={"value": {"selected_time": "20:00"}},
        nudge_quiet_end={"value": {"selected_time": "07:30"}},
        nudge_weekends=picked(),
        nudge_max_per_day={"value": {"selected_option": {"value": "3"}}},
    )
    answer = running_app.view_submission(
        user_id="UDANA", callback_id=ids.VIEW_SETTINGS, values=values
    )
    assert answer.status == 200 and answer.body in ("", "{}")
    session.expire_all()
    saved = load_nudge_prefs(session, user_id=dana.id)
    assert saved.kinds == ("buyer_replied", "meeting_soon")
    assert (saved.quiet_start, saved.quiet_end) == (time(20, 0), time(7, 30))
    assert saved.weekends is False and saved.max_per_day == 3
