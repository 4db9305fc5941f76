"""Block Kit helpers keep within Slack's limits and page instead of cutting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.render.kit import (
    BUTTON_TEXT,
    HEADER_TEXT,
    SECTION_TEXT,
    BlockLimitError,
    block_problems,
    button,
    clip,
    context,
    escape,
    fallback_text,
    header,
    link,
    mention,
    mrkdwn,
    pack_pages,
    publishable,
    section,
    sections,
)


@given(st.text(max_size=5000), st.integers(min_value=1, max_value=4000))
def test_clip_never_exceeds_the_limit_and_shows_the_cut(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    if len(text) > limit:
        assert clipped.endswith("…")
    else:
        assert clipped == text


def test_builders_clip_to_slacks_limits() -> None:
    assert len(header("h" * 500)["text"]["text"]) == HEADER_TEXT
    assert len(section("s" * 5000)["text"]["text"]) == SECTION_TEXT
    assert len(button("b" * 100, action_id="x")["text"]["text"]) == BUTTON_TEXT
    with pytest.raises(ValueError):
        button("ok", action_id="x", value="v" * 2001)


def test_long_text_becomes_several_sections_and_nothing_is_lost() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(200)]
    blocks = sections("\n".join(lines))
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks)
    joined = "\n".join(b["text"]["text"] for b in blocks)
    assert joined.split("\n") == lines


def test_links_cannot_break_out_of_mrkdwn() -> None:
    assert mrkdwn(link("https://x.example/a", "Q3 <review> | plan"))["text"] == (
        "<https://x.example/a|Q3 &lt;review&gt; ¦ plan>"
    )
    assert mrkdwn(link("javascript:alert(1)", "bad"))["text"] == "bad"
    assert mrkdwn(link(None, "no link"))["text"] == "no link"


def test_a_url_cannot_choose_the_label_or_end_the_link() -> None:
    hostile = "https://meet.example/x|Click me> <!channel"
    text = mrkdwn(link(hostile, "Join"))["text"]
    assert text == "<https://meet.example/x%7CClick%20me%3E%20%3C!channel|Join>"


@pytest.mark.parametrize(
    "data",
    ["<!channel>", "<!everyone>", "<!here>", "<@U0ADMIN>", "<#C0GENERAL>", "<http://x|label>"],
)
def test_no_control_sequence_from_data_survives_the_choke_point(data: str) -> None:
    """Even text a renderer forgot to escape: only the kit's own markup becomes markup."""
    mine = mention("U0DEMO0001")
    for shown in (mrkdwn(f"{data} and {mine}")["text"], fallback_text(f"{data} {mine}")):
        assert data not in shown and "<@U0DEMO0001>" in shown
    assert mrkdwn(mention("<!channel>"))["text"] == "&lt;!channel&gt;"


def test_text_from_the_crm_cannot_reverse_the_rest_of_a_line() -> None:
    subject = "Call \u202eevil\u202c Acme \u2066x\u2069 مرحبا"
    for shown in (
        mrkdwn(f"*{subject}* due 09:00")["text"],
        fallback_text(subject),
        header(subject)["text"]["text"],
        button(subject, action_id="task_complete", value="1")["text"]["text"],
    ):
        assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in shown)
        assert "Call evil Acme x مرحبا" in shown


def test_pages_keep_groups_together_and_count_them() -> None:
    groups = [[section(f"item {n}"), context("detail")] for n in range(25)]
    first = pack_pages(groups, budget=10, page=1)
    assert (first.number, first.count, len(first.blocks)) == (1, 5, 10)
    last = pack_pages(groups, budget=10, page=99)  # stale "next": the last page, no error
    assert (last.number, last.label) == (5, "Page 5 of 5")
    shown = [b for p in range(1, 6) for b in pack_pages(groups, budget=10, page=p).blocks]
    assert len(shown) == 50  # every item on exactly one page


def test_block_problems_finds_what_slack_would_refuse() -> None:
    too_many = [section("x")] * 51
    assert block_problems(too_many, surface="home") == []
    assert "51 blocks on a message" in block_problems(too_many, surface="message")[0]
    raw = [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]
    assert block_problems(raw, surface="message") == ["block 0 (section): section text over 3000"]
    with pytest.raises(BlockLimitError):
        publishable(raw, surface="message")


def test_data_shows_as_written_inside_the_renderers_own_formatting() -> None:
    """Probe finding F20b/c: formatting characters and ``&`` from the CRM."""
    deal = "Q4 *big* _push_ ~maybe~ `now` & Co"
    shown = mrkdwn(f"*{escape(deal)}* · _{escape('A&B')}_")["text"]
    assert shown == "*Q4 ∗big∗ ˍpushˍ ∼maybe∼ ˋnowˋ &amp; Co* · _A&amp;B_"
    # A message's fallback text: Slack wants &amp; there too, escaped or not.
    assert fallback_text("Sales & Ops <team>") == "Sales &amp; Ops &lt;team&gt;"
    assert fallback_text(escape("Sales & *Ops*")) == "Sales &amp; ∗Ops∗"
    # Inside a word Slack formats nothing: a property name stays as written.
    assert mrkdwn(escape("hs_timestamp is not a date"))["text"] == "hs_timestamp is not a date"
    # Plain text shows data as written, with no marks.
    assert header(escape("A&B *Corp*"))["text"]["text"] == "A&B *Corp*"
