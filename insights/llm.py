"""The one client of the chat model: any OpenAI-compatible endpoint, bounded in time.

Transport failures (timeouts, connection errors, 408, 409, 429, 5xx; ``max_retries``,
honouring ``retry-after``) and answers that fail validation (``answer_attempts``) are asked
again with tenacity, never past the deadline. The deadline is enforced on the sockets
themselves (``insights.deadline``): no read, write or connect waits past it, so a reply
that drips one byte at a time cannot hold the request, its thread or the process. The
caller gets ``InsightUnavailable`` at ``total_seconds`` and shows the CRM-only view.
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
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type

from insights import deadline
from insights.answer import InsightDraft
from insights.prompt import ANSWER_TOKEN_LIMIT, Prompt

logger = logging.getLogger(__name__)

AnswerT = TypeVar("AnswerT", bound=BaseModel)

# Back-off between transport retries without a retry-after (as the openai client's own).
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 8.0
# Statuses worth asking again (the openai client's list): timeout, conflict, rate limit.
_RETRIED_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class LLMConfig:
    """How to reach the model.

    Attributes:
        api_key: The endpoint's key.
        model: The chat model name (or Azure deployment name).
        base_url: None for OpenAI; otherwise the endpoint's ``/v1`` URL.
        timeout_seconds: Per HTTP request, start to last byte (not per read).
        max_retries: Transport retries (429, 5xx, timeouts), within the deadline.
        answer_attempts: Requests in all when answers fail validation.
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


class _Transient(Exception):
    """A failure worth one more request (timeout, no connection, 408/409/429/5xx)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


# Model calls never run on Bolt's listener pool; this small pool also lets the caller stop
# waiting at the deadline (the request itself stops there too: see ``insights.deadline``).
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
            # Retries are ours (``_retrying``): the client's own would sleep past the deadline.
            max_retries=0,
            http_client=http_client
            or openai.DefaultHttpxClient(transport=deadline.transport(config.base_url)),
        )

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def deadline(self) -> float:
        return self.config.deadline_seconds

    def write(self, prompt: Prompt) -> InsightDraft:
        """Ask the model for Deal Insights; the validated answer or ``InsightUnavailable``."""
        return self.ask(prompt, InsightDraft)

    def ask(self, prompt: Prompt, answer_type: type[AnswerT]) -> AnswerT:
        """Ask the model for an answer of ``answer_type`` (a pydantic model).

        Raises:
            InsightUnavailable: No valid answer within the deadline and retry budget.
        """
        started = time.perf_counter()
        ends_at = time.monotonic() + self.deadline
        future = _POOL.submit(self._write_with_retries, prompt, answer_type, ends_at)
        try:
            answer = future.result(timeout=self.deadline)
        except FutureTimeout:
            future.cancel()
            MODEL_CALLS.labels(outcome="timeout").inc()
            raise self._too_late() from None
        except InsightUnavailable:
            MODEL_CALLS.labels(outcome="unavailable").inc()
            raise
        finally:
            MODEL_SECONDS.observe(time.perf_counter() - started)
        MODEL_CALLS.labels(outcome="answered").inc()
        return answer

    def _too_late(self) -> InsightUnavailable:
        logger.warning("model %s gave no answer within %.0f s", self.model, self.deadline)
        return InsightUnavailable(f"the AI model did not answer within {self.deadline:.0f} s")

    def _write_with_retries(
        self, prompt: Prompt, answer_type: type[AnswerT], ends_at: float
    ) -> AnswerT:
        try:
            for attempt in self._retrying(ends_at):
                with attempt:
                    request_ends_at = min(ends_at, time.monotonic() + self.config.timeout_seconds)
                    with deadline.until(request_ends_at):
                        return self._ask(prompt, answer_type)
        except RetryError as gave_up:
            error = gave_up.last_attempt.exception()
            if time.monotonic() >= ends_at:
                raise self._too_late() from None
            if isinstance(error, _Transient):
                raise InsightUnavailable(error.reason) from None
            raise InsightUnavailable("the AI model's answers were not valid") from None
        raise InsightUnavailable("the AI model was not asked")  # pragma: no cover

    def _retrying(self, ends_at: float) -> Retrying:
        """Ask again after an invalid answer or a transient failure, never past ``ends_at``."""
        budget = _RetryBudget(self.config, ends_at=ends_at)
        return Retrying(
            retry=retry_if_exception_type((_InvalidAnswer, _Transient)),
            wait=budget.pause,
            stop=budget.spent,
            reraise=False,
        )

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
            logger.warning("model %s timed out", self.model)
            raise _Transient("the AI model timed out") from None
        except openai.APIConnectionError as error:
            logger.warning("cannot reach model %s: %s", self.model, _short(error))
            raise _Transient("the AI model could not be reached") from None
        except openai.APIStatusError as error:
            logger.warning("model %s answered HTTP %s", self.model, error.status_code)
            reason = f"the AI model answered with an error (HTTP {error.status_code})"
            if error.status_code in _RETRIED_STATUSES or error.status_code >= 500:
                raise _Transient(reason, retry_after=_retry_after(error.response)) from None
            raise InsightUnavailable(reason) from None
        if completion.usage is not None:
            MODEL_TOKENS.labels(kind="prompt").inc(completion.usage.prompt_tokens)
            MODEL_TOKENS.labels(kind="completion").inc(completion.usage.completion_tokens)
        message = completion.choices[0].message if completion.choices else None
        if message is None or message.parsed is None:
            refusal = message.refusal if message is not None else None
            logger.warning("model %s gave no parsed answer (refusal: %s)", self.model, refusal)
            raise _InvalidAnswer("no parsed answer")
        return message.parsed


class _RetryBudget:
    """How many more requests one answer may cost, and how long to pause before each."""

    def __init__(self, config: LLMConfig, *, ends_at: float) -> None:
        self._allowed = {
            _Transient: config.max_retries + 1,
            _InvalidAnswer: max(config.answer_attempts, 1),
        }
        self._failed = {_Transient: 0, _InvalidAnswer: 0}
        self._ends_at = ends_at

    def pause(self, state: RetryCallState) -> float:
        """No pause after an invalid answer; after a transient failure the server's
        retry-after, else exponential back-off."""
        error = _error_of(state)
        if not isinstance(error, _Transient):
            return 0.0
        if error.retry_after is not None:
            return error.retry_after
        backoff = _FIRST_BACKOFF_SECONDS * (1 << self._failed[_Transient])
        return min(backoff, _MAX_BACKOFF_SECONDS)

    def spent(self, state: RetryCallState) -> bool:
        """Called once per failed attempt (after ``pause``): stop asking?"""
        kind = _Transient if isinstance(_error_of(state), _Transient) else _InvalidAnswer
        self._failed[kind] += 1
        out_of_time = time.monotonic() + (state.upcoming_sleep or 0.0) >= self._ends_at
        return self._failed[kind] >= self._allowed[kind] or out_of_time


def _error_of(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _retry_after(response: httpx.Response) -> float | None:
    """The server's requested pause (``retry-after-ms``, else ``retry-after`` in seconds)."""
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(response.headers.get(header, "")) * scale
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return text[:200]
