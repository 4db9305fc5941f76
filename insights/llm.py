"""The one client of the chat model: any OpenAI-compatible endpoint, bounded in time.

Transport failures (timeouts, connection errors, 429, 5xx) are retried by the openai client
itself (``max_retries``, honouring ``retry-after``); an answer that fails validation is asked
for again with tenacity. The caller waits at most ``total_seconds`` whatever happens, then
gets ``InsightUnavailable`` and shows the CRM-only view.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import openai
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_none,
)

from insights.answer import InsightDraft
from insights.prompt import ANSWER_TOKEN_LIMIT, Prompt

logger = logging.getLogger(__name__)

AnswerT = TypeVar("AnswerT", bound=BaseModel)


@dataclass(frozen=True)
class LLMConfig:
    """How to reach the model.

    Attributes:
        api_key: The endpoint's key.
        model: The chat model name (or Azure deployment name).
        base_url: None for OpenAI; otherwise the endpoint's ``/v1`` URL.
        timeout_seconds: Per HTTP request.
        max_retries: Transport retries by the openai client (429, 5xx, timeouts).
        answer_attempts: Requests in all when answers fail validation (tenacity).
        total_seconds: The most the caller ever waits; None means ``timeout_seconds * 2 + 5``.
    """

    api_key: str
    model: str
    base_url: str | None = None
    timeout_seconds: float = 20.0
    max_retries: int = 2
    answer_attempts: int = 2
    total_seconds: float | None = None

    @property
    def deadline_seconds(self) -> float:
        return self.total_seconds or self.timeout_seconds * 2 + 5


def writer_for(
    api_key: str | None,
    *,
    model: str,
    base_url: str | None = None,
    timeout_seconds: float = 20.0,
) -> InsightWriter | None:
    """The writer for a configured endpoint, or None without a key (CRM-only view)."""
    if not api_key:
        return None
    return InsightWriter(
        LLMConfig(api_key=api_key, model=model, base_url=base_url, timeout_seconds=timeout_seconds)
    )


class InsightUnavailable(Exception):
    """The model gave no usable answer in time; ``reason`` is safe to show to a user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _InvalidAnswer(Exception):
    pass


# Model calls never run on Bolt's listener pool; this small pool also lets the caller stop
# waiting at the deadline while a slow request finishes in the background.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="insights-llm")


MODEL_CALLS = Counter(
    "salesbot_model_calls_total",
    "Questions to the model by outcome (answered, unavailable, timeout).",
    ["outcome"],
)
MODEL_SECONDS = Histogram(
    "salesbot_model_seconds",
    "Time to the model's answer, retries included.",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60),
)
MODEL_TOKENS = Counter("salesbot_model_tokens_total", "Tokens used, by kind.", ["kind"])


class InsightWriter:
    """Writes an ``InsightDraft`` from a ``Prompt`` with the configured model."""

    def __init__(self, config: LLMConfig, *, http_client: httpx.Client | None = None) -> None:
        self.config = config
        self._client = openai.OpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_seconds,
            max_retries=config.max_retries,
            http_client=http_client,
        )

    @property
    def model(self) -> str:
        return self.config.model

    def write(self, prompt: Prompt) -> InsightDraft:
        """Ask the model for Deal Insights; the validated answer or ``InsightUnavailable``."""
        return self.ask(prompt, InsightDraft)

    def ask(self, prompt: Prompt, answer_type: type[AnswerT]) -> AnswerT:
        """Ask the model for an answer of ``answer_type`` (a pydantic model).

        Raises:
            InsightUnavailable: No valid answer within the deadline and retry budget.
        """
        started = time.perf_counter()
        future = _POOL.submit(self._write_with_retries, prompt, answer_type)
        try:
            answer = future.result(timeout=self.config.deadline_seconds)
        except FutureTimeout:
            future.cancel()
            MODEL_CALLS.labels(outcome="timeout").inc()
            logger.warning("model %s gave no answer within %.0f s", self.model, self.deadline)
            raise InsightUnavailable(
                f"the AI model did not answer within {self.deadline:.0f} s"
            ) from None
        except InsightUnavailable:
            MODEL_CALLS.labels(outcome="unavailable").inc()
            raise
        finally:
            MODEL_SECONDS.observe(time.perf_counter() - started)
        MODEL_CALLS.labels(outcome="answered").inc()
        return answer

    @property
    def deadline(self) -> float:
        return self.config.deadline_seconds

    def _write_with_retries(self, prompt: Prompt, answer_type: type[AnswerT]) -> AnswerT:
        retrying = Retrying(
            stop=stop_after_attempt(max(self.config.answer_attempts, 1)),
            retry=retry_if_exception_type(_InvalidAnswer),
            wait=wait_none(),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._ask(prompt, answer_type)
        except RetryError:
            raise InsightUnavailable("the AI model's answers were not valid") from None
        raise InsightUnavailable("the AI model was not asked")  # pragma: no cover

    def _ask(self, prompt: Prompt, answer_type: type[AnswerT]) -> AnswerT:
        messages: Any = prompt.messages
        try:
            completion = self._client.chat.completions.parse(
                model=self.model,
                messages=messages,
                response_format=answer_type,
                temperature=0,
                max_completion_tokens=ANSWER_TOKEN_LIMIT,
            )
        except (ValidationError, ValueError, openai.LengthFinishReasonError) as error:
            # Not JSON, not the schema, or cut off: ask again (bounded).
            logger.warning("invalid answer from %s: %s", self.model, _short(error))
            raise _InvalidAnswer(str(error)) from error
        except openai.ContentFilterFinishReasonError:
            raise InsightUnavailable("the AI model declined to answer") from None
        except openai.APITimeoutError:
            logger.warning("model %s timed out (after the client's retries)", self.model)
            raise InsightUnavailable("the AI model timed out") from None
        except openai.APIConnectionError as error:
            logger.warning("cannot reach model %s: %s", self.model, _short(error))
            raise InsightUnavailable("the AI model could not be reached") from None
        except openai.APIStatusError as error:
            logger.warning("model %s answered HTTP %s", self.model, error.status_code)
            raise InsightUnavailable(
                f"the AI model answered with an error (HTTP {error.status_code})"
            ) from None
        if completion.usage is not None:
            MODEL_TOKENS.labels(kind="prompt").inc(completion.usage.prompt_tokens)
            MODEL_TOKENS.labels(kind="completion").inc(completion.usage.completion_tokens)
        message = completion.choices[0].message if completion.choices else None
        if message is None or message.parsed is None:
            refusal = message.refusal if message is not None else None
            logger.warning("model %s gave no parsed answer (refusal: %s)", self.model, refusal)
            raise _InvalidAnswer("no parsed answer")
        return message.parsed


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return text[:200]
