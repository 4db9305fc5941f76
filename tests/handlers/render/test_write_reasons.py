"""A write-back reason in Slack: salesbot's own words keep their markup, CRM values do not."""

from __future__ import annotations

from handlers.i18n import use_language
from handlers.render.crm_writes import reason_text
from handlers.render.kit import mrkdwn_text
from rules.crm_writes.wording import reason_phrase
from storage.models import WriteReason


def _shown(code: WriteReason, values: dict[str, object], language: str = "en") -> str:
    with use_language(language):
        return mrkdwn_text(reason_text(reason_phrase(code, values, None, crm="HubSpot")), 3000)


def test_the_setup_command_is_shown_as_code_in_every_language() -> None:
    for language in ("en", "de"):
        shown = _shown(WriteReason.MISSING_PROPERTY, {"property": "salesbot_id"}, language)
        assert "`salesbot hubspot setup`" in shown, shown
        assert "\u02cb" not in shown  # no look-alike backticks to copy


def test_hubspots_words_in_a_reason_cannot_format_or_ping() -> None:
    shown = _shown(WriteReason.REFUSED_VALUES, {"detail": "*stage* `x` <!channel> & more"})
    assert "\u2217stage\u2217 \u02cbx\u02cb &lt;!channel&gt; &amp; more" in shown
