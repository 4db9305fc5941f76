"""The HubSpot API stand-in, for tests and as a process.

In tests::

    with running_hubspot() as hubspot:
        client = hubspot.client()            # hubspot-api-client, pointed at the stand-in
        hubspot.portal.create("contacts", {"email": "a@b.example"})

As a process (``salesbot hubspot trial`` and the benchmark start it this way)::

    python -m tests.support.hubspot_api --demo --port 8765

prints one JSON line (``{"base_url": ..., "token": ...}``) once it listens, then serves until
interrupted. The package ``tests.support.hubspot`` holds the parts.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import UTC, datetime

from tests.support.hubspot import HubSpotStandIn, RateLimits, running_hubspot
from tests.support.hubspot.bench_org import load_bench_portal
from tests.support.hubspot.demo import load_demo_portal

# The package's front door: what a test needs most, and the process entry point.
__all__ = [
    "HubSpotStandIn",
    "RateLimits",
    "load_bench_portal",
    "load_demo_portal",
    "main",
    "running_hubspot",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the offline HubSpot API stand-in.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--token", default="pat-standin-0000", help="the private app token")
    parser.add_argument("--demo", action="store_true", help="load the demo organisation")
    parser.add_argument("--seed", type=int, default=42, help="the demo's seed")
    parser.add_argument(
        "--bench", type=float, metavar="SCALE", help="load the benchmark organisation of SCALE"
    )
    parser.add_argument(
        "--per-ten-seconds", type=int, default=190, help="burst limit (rolling 10 s)"
    )
    parser.add_argument("--daily", type=int, default=650_000, help="daily request budget")
    parser.add_argument("--no-limits", action="store_true", help="answer without rate limits")
    args = parser.parse_args(argv)

    limits = RateLimits(per_ten_seconds=args.per_ten_seconds, daily=args.daily)
    limits.enabled = not args.no_limits
    standin = HubSpotStandIn(token=args.token, limits=limits, port=args.port)
    summary: dict[str, object] = {}
    if args.demo or args.bench:
        if args.bench:
            loaded = load_bench_portal(standin.portal, scale=args.bench, now=datetime.now(UTC))
        else:
            loaded = load_demo_portal(standin.portal, now=datetime.now(UTC), seed=args.seed)
        standin.loaded_ids = loaded.ids
        summary = {"records": loaded.counts, "rep": loaded.rep_email}
    standin.start()
    print(json.dumps({"base_url": standin.base_url, "token": standin.token, **summary}))
    sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
