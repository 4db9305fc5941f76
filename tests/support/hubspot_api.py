"""The HubSpot API stand-in, for tests and as a process.

The stand-in itself is the installable package ``demo.hubspot_portal`` (so that
``salesbot hubspot trial`` runs from an installed salesbot); this module is the tests' and
the benchmark's front door to it. In tests::

    with running_hubspot() as hubspot:
        client = hubspot.client()            # hubspot-api-client, pointed at the stand-in
        hubspot.portal.create("contacts", {"email": "a@b.example"})

As a process (the benchmark starts it this way; ``--bench SCALE`` loads its organisation)::

    python -m tests.support.hubspot_api --demo --port 8765
"""

from __future__ import annotations

from datetime import datetime

from demo.hubspot_portal import HubSpotStandIn, Portal, RateLimits, running_hubspot
from demo.hubspot_portal.demo import load_demo_portal
from demo.hubspot_portal.from_store import LoadedPortal
from demo.hubspot_portal.process import main as serve
from tests.support.hubspot.bench_org import load_bench_portal

# The package's front door: what a test needs most, and the process entry point.
__all__ = [
    "HubSpotStandIn",
    "RateLimits",
    "load_bench_portal",
    "load_demo_portal",
    "main",
    "running_hubspot",
]


def _bench(portal: Portal, scale: float, now: datetime) -> LoadedPortal:
    return load_bench_portal(portal, scale=scale, now=now)


def main(argv: list[str] | None = None) -> int:
    return serve(argv, bench=_bench)


if __name__ == "__main__":
    raise SystemExit(main())
