"""Fixtures for Deal Insights tests: the stand-in model, a writer, the budget-cut example."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from insights.llm import InsightWriter
from tests.builders import CRM
from tests.support.llm import FakeModel, fake_model, seed_budget_cut, stub_writer


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
def writer() -> InsightWriter:
    return stub_writer()


@pytest.fixture
def budget_cut(crm: CRM, now: datetime) -> dict[str, Any]:
    return seed_budget_cut(crm, now)
