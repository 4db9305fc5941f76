"""A stand-in chat model (respx on the openai client's httpx), a writer pointed at it, and
the spec's budget-cut example as seed data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import respx

from insights.llm import InsightWriter, LLMConfig
from insights.prompt import CLOSE_MARK, OPEN_MARK
from storage.models import DealVisibility
from tests.builders import CRM

BASE_URL = "http://llm.test/v1"
MODEL = "test-model"


def completion(content: str, *, finish_reason: str = "stop") -> httpx.Response:
    """An OpenAI chat completion whose message content is ``content``."""
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
        },
    )


def answer(
    recent: Iterable[tuple[str, list[int]]] = (),
    risks: Iterable[tuple[str, list[int]]] = (),
    goals: Iterable[tuple[str, list[int]]] = (),
) -> httpx.Response:
    def section(items: Iterable[tuple[str, list[int]]]) -> list[dict[str, Any]]:
        return [{"text": text, "activity_ids": ids} for text, ids in items]

    return completion(
        json.dumps(
            {
                "recent_activity": section(recent),
                "risks": section(risks),
                "buyer_goals": section(goals),
            }
        )
    )


def evidence_in(request: httpx.Request) -> dict[str, Any]:
    """The evidence JSON document inside the prompt a request carries."""
    user = json.loads(request.content)["messages"][1]["content"]
    start = user.index(OPEN_MARK) + len(OPEN_MARK)
    end = user.rindex(CLOSE_MARK)
    document: dict[str, Any] = json.loads(user[start:end])
    return document


def evidence_ids_in(request: httpx.Request) -> set[int]:
    """Every activity id the prompt's evidence carries."""
    document = evidence_in(request)
    return {a["id"] for a in (*document["activities"], *document["scheduled_follow_ups"])}


def prompt_text(request: httpx.Request) -> str:
    return "\n".join(m["content"] for m in json.loads(request.content)["messages"])


def faithful_model(request: httpx.Request) -> httpx.Response:
    """A model that only repeats the evidence it was given, citing each activity it uses.

    Activities mentioning "budget" or "unsure" become risks, "goal" buyer goals.
    """
    document = evidence_in(request)
    recent, risks, goals = [], [], []
    for activity in document["activities"]:
        text = f"{activity['kind']}: {activity.get('subject', '')} {activity.get('body', '')}"
        recent.append((text.strip(), [activity["id"]]))
        lowered = text.lower()
        if "budget" in lowered or "unsure" in lowered:
            risks.append((text, [activity["id"]]))
        if "goal" in lowered:
            goals.append((text, [activity["id"]]))
    return answer(recent[:5], risks[:5], goals[:5])


@dataclass
class FakeModel:
    """The respx route standing in for ``/chat/completions``, and what it received."""

    route: respx.Route
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.route.call_count

    def answers(self, *responses: httpx.Response | Exception) -> None:
        """Answer the next requests with these, in order."""
        self.route.side_effect = list(responses)

    def behaves(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.route.side_effect = handler

    def prompts(self) -> list[str]:
        return [prompt_text(call.request) for call in self.route.calls]

    def prompt_ids(self) -> list[set[int]]:
        """The activity ids in each prompt's evidence, in the order the prompts were sent."""
        return [evidence_ids_in(call.request) for call in self.route.calls]


@contextmanager
def fake_model() -> Iterator[FakeModel]:
    """Route the openai client's requests to BASE_URL to a ``FakeModel`` (a faithful one)."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        fake = FakeModel(route=mock.post("/chat/completions"))
        fake.behaves(faithful_model)
        yield fake


def stub_writer() -> InsightWriter:
    """A writer for the fake model: short timeout, one transport retry, two answer attempts."""
    return InsightWriter(
        LLMConfig(
            api_key="test-key",
            model=MODEL,
            base_url=BASE_URL,
            timeout_seconds=2.0,
            max_retries=1,
            answer_attempts=2,
            total_seconds=10.0,
        )
    )


def seed_budget_cut(crm: CRM, now: datetime) -> dict[str, Any]:
    """Spec section 6: Ann emailed the buyer about a budget cut; Ben may not see that email.

    Ben owns the deal and sees only his own records; Ann sees her team's.
    """
    team = crm.team(name="East")
    ann = crm.user(name="Ann", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    ben = crm.user(name="Ben", team_id=team.id, deal_visibility=DealVisibility.OWNED)
    buyer = crm.contact(ben, first_name="Bo", last_name="Buyer")
    deal = crm.deal(ben, name="Acme renewal", contacts=[buyer])
    budget_email = crm.email(
        ann,
        subject="Re: pricing",
        body="Bo told me their budget cut means they may halve the order.",
        sent_at=now - timedelta(days=1),
        deals=[deal],
        contacts=[buyer],
    )
    ben_call = crm.call(
        ben,
        subject="Kick-off call",
        body="Their goal is to replace spreadsheets by Q3.",
        starts_at=now - timedelta(days=2),
        deals=[deal],
    )
    return {"ann": ann, "ben": ben, "deal": deal, "email": budget_email, "call": ben_call}
