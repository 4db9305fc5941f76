"""The benchmark's organisation (``bench.generate``) as a HubSpot portal.

Same path as the demo: the benchmark's generator fills a throwaway SQLite store, then
``from_store.load_store`` writes it out as HubSpot objects. At scale 0.1 that is about
12,000 CRM records and 100,000 activities held in memory.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from demo.hubspot_portal.from_store import LoadedPortal, load_store
from demo.hubspot_portal.portal import Portal
from storage.db import make_engine, session_factory, unit_of_work


def load_bench_portal(portal: Portal, *, scale: float, now: datetime) -> LoadedPortal:
    """Fill ``portal`` with the benchmark organisation of ``scale`` built around ``now``."""
    from bench.generate import load_org  # bench is a sibling tool, imported only when used

    with tempfile.TemporaryDirectory(prefix="hubspot-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            load_org(engine, scale=scale, now=now)
            with unit_of_work(session_factory(engine)) as session:
                return load_store(portal, session)
        finally:
            engine.dispose()
