"""CRM snapshots: one JSON document with every record, streamed in and out.

The format is described in ``docs/import-format.md`` and ``schema.json`` beside this file.
"""

from storage.snapshot.exporter import export_snapshot
from storage.snapshot.fields import FORMAT, VERSION
from storage.snapshot.importer import import_records, import_snapshot
from storage.snapshot.outcome import ImportReport, Problem, SectionCounts, SnapshotError

__all__ = [
    "FORMAT",
    "VERSION",
    "ImportReport",
    "Problem",
    "SectionCounts",
    "SnapshotError",
    "export_snapshot",
    "import_records",
    "import_snapshot",
]
