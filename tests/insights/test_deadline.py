"""Deadlines are deadlines: a model that drips its answer cannot hold a request past them."""

from __future__ import annotations

import pytest

from insights.llm import InsightUnavailable, InsightWriter, LLMConfig
from insights.prompt import Prompt
from tests.support.dripping_model import dripping_model
from tests.support.llm import MODEL

PROMPT = Prompt(
    messages=[{"role": "user", "content": "Write the Deal Insights."}],
    estimated_tokens=10,
    trimmed_bodies=0,
    omitted_bodies=0,
)


def _writer(base_url: str, *, timeout: float, total: float, retries: int = 0) -> InsightWriter:
    return InsightWriter(
        LLMConfig(
            api_key="k",
            model=MODEL,
            base_url=base_url,
            timeout_seconds=timeout,
            max_retries=retries,
            answer_attempts=1,
            total_seconds=total,
        )
    )


def test_a_dripping_reply_is_dropped_at_the_overall_deadline() -> None:
    with dripping_model(seconds_per_byte=0.5) as model:
        # Each byte comes well inside the 30 s read timeout: only the deadline can stop it.
        writer = _writer(model.base_url, timeout=30, total=1.0)
        with pytest.raises(InsightUnavailable, match="did not answer within 1 s"):
            writer.write(PROMPT)
        # The model thread let go of the connection too: it is not still reading drips.
        assert model.hung_up.wait(timeout=5)


def test_the_request_timeout_covers_the_whole_request_not_each_read() -> None:
    with dripping_model(seconds_per_byte=0.5) as model:
        writer = _writer(model.base_url, timeout=1.0, total=30, retries=1)
        with pytest.raises(InsightUnavailable, match="timed out"):
            writer.write(PROMPT)
        # The first request timed out as a whole, was retried once, and that one too.
        assert model.requests == 2
        assert model.hung_up.wait(timeout=5)
