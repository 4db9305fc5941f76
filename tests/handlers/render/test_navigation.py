"""Navigation values: what encode makes, decode takes back; anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.render.navigation import BadState, View, ViewState

states = st.builds(
    ViewState,
    view=st.sampled_from(View),
    page=st.integers(min_value=1, max_value=10_000),
    filter=st.from_regex(r"[a-z0-9_.+\-]{0,20}", fullmatch=True),
    subject_id=st.none() | st.integers(min_value=1, max_value=10**9),
)


@given(states)
def test_round_trip(state: ViewState) -> None:
    assert ViewState.decode(state.encode()) == state


@pytest.mark.parametrize(
    "value",
    [
        None,
        7,
        "",
        "deals",
        "deals:1:",
        "deals:0::",
        "deals:-1::",
        "moon:1::",
        "deals:1::x",
        "deals:1:DROP TABLE:",
        "deals:1::1:2",
        "deals:" + "9" * 300 + "::",
    ],
)
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(BadState):
        ViewState.decode(value)


def test_a_home_view_without_state_starts_at_the_overview() -> None:
    assert ViewState.from_view({"private_metadata": "garbage"}) == ViewState()
    assert ViewState.from_view(None) == ViewState()
