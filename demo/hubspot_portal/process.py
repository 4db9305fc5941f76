"""The stand-in as a process: ``python -m demo.hubspot_portal --demo --port 8765``.

Prints one JSON line (``{"base_url": ..., "token": ..., "records": ..., "rep": ...}``) once
it listens, then serves until SIGTERM or Ctrl-C. ``salesbot hubspot trial`` starts it this
way from an installed salesbot (no source checkout needed); the tests' and the benchmark's
``tests/support/hubspot_api.py`` adds ``--bench``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from demo.hubspot_portal.demo import load_demo_portal
from demo.hubspot_portal.from_store import LoadedPortal
from demo.hubspot_portal.limits import RateLimits
from demo.hubspot_portal.portal import Portal
from demo.hubspot_portal.server import HubSpotStandIn

# Loads an organisation of a scale into a portal (the benchmark's, from tests/support).
ScaleLoader = Callable[[Portal, float, datetime], LoadedPortal]


def _arguments(bench: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the offline HubSpot API stand-in.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--token", default="pat-standin-0000", help="the private app token")
    parser.add_argument("--demo", action="store_true", help="load the demo organisation")
    parser.add_argument("--seed", type=int, default=42, help="the demo's seed")
    if bench:
        parser.add_argument(
            "--bench", type=float, metavar="SCALE", help="load the benchmark organisation"
        )
    parser.add_argument(
        "--per-ten-seconds", type=int, default=190, help="burst limit (rolling 10 s)"
    )
    parser.add_argument("--daily", type=int, default=650_000, help="daily request budget")
    parser.add_argument("--no-limits", action="store_true", help="answer without rate limits")
    return parser


def main(argv: list[str] | None = None, *, bench: ScaleLoader | None = None) -> int:
    """Serve until interrupted; ``bench``: how ``--bench SCALE`` loads an organisation."""
    args = _arguments(bench is not None).parse_args(argv)
    limits = RateLimits(per_ten_seconds=args.per_ten_seconds, daily=args.daily)
    limits.enabled = not args.no_limits
    standin = HubSpotStandIn(token=args.token, limits=limits, port=args.port)
    summary: dict[str, object] = {}
    scale = getattr(args, "bench", None)
    if args.demo or scale:
        if scale and bench is not None:
            loaded = bench(standin.portal, scale, datetime.now(UTC))
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
