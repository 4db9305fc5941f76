"""Prometheus metrics: the app's own, and the text exposition served at ``/metrics``.

[choice] Metrics live in prometheus_client's default registry and each is defined in the
module that observes it, the way loggers are: the domain layers (``insights``, ``handlers``)
cannot import ``bot``, and one registry per process is what a scrape reads. Every metric
here and elsewhere is named ``salesbot_*`` and listed in docs/operations.md.

Where the numbers come from:

- here: acknowledgements, the work queue; the database's health (read from
  ``storage.health`` when scraped, see ``bot.app``);
- ``bot.digests.schedule``: digests by kind and outcome;
- ``handlers.slack.safely``: listener errors; ``handlers.slack.home_tab``: Home tab publishes;
- ``insights.llm``: model calls, their latency, tokens and fallbacks;
- ``insights.service``: the Deal Insights answer cache.

A connector (HubSpot: sync lag, API budget, outbox backlog) defines its counters and gauges
in its own module the same way; a number best read from the database when scraped goes
into ``SCRAPE_TIME`` below as a ``ScrapeGauge``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Request kinds as Slack's Socket Mode names them; HTTP requests are labelled the same way.
REQUEST_KINDS = ("events_api", "slash_commands", "interactive")

ACK_SECONDS = Histogram(
    "salesbot_ack_seconds",
    "Time from receiving a Slack request to acknowledging it (Slack allows 3 s).",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
WORK_QUEUE_DEPTH = Gauge(
    "salesbot_work_queue_depth", "Work after an ack that is queued or running."
)


@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge whose value is read when ``/metrics`` is scraped (e.g. from the database)."""

    name: str
    documentation: str
    read: Callable[[], float | None]


class _ScrapeTimeCollector(Collector):
    def __init__(self) -> None:
        self.gauges: list[ScrapeGauge] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            try:
                value = gauge.read()
            except Exception as error:  # a scrape must never fail for one number
                logger.warning("metric %s could not be read: %s", gauge.name, error)
                continue
            if value is not None:
                yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)


SCRAPE_TIME = _ScrapeTimeCollector()
REGISTRY.register(SCRAPE_TIME)


def add_scrape_gauge(gauge: ScrapeGauge) -> None:
    """Serve ``gauge`` on ``/metrics`` (once per name; a second one replaces the first)."""
    SCRAPE_TIME.gauges = [g for g in SCRAPE_TIME.gauges if g.name != gauge.name] + [gauge]


def exposition() -> bytes:
    """Every registered metric in Prometheus' text format."""
    return generate_latest(REGISTRY)
