"""One import's shared state, handed to each step: connection, clock, problems, report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from storage.snapshot.bulk import BulkInserter
from storage.snapshot.ids import Ids
from storage.snapshot.outcome import ImportReport, Problems
from storage.snapshot.tuning import Tuning


@dataclass
class Job:
    """What every step of one import shares.

    Attributes:
        session: the import's one transaction (ORM writes: owner changes, defaults).
        conn: its connection (Core writes, the hot path).
        now: the time recorded for owner changes the file gives no time for.
        problems: what is wrong so far.
        report: what was written so far.
        ids: row ids by external id.
        bulk: multi-row inserts.
        tuning: the connection's import settings.
    """

    session: Session
    conn: Connection
    now: datetime
    problems: Problems
    report: ImportReport
    ids: Ids
    bulk: BulkInserter
    tuning: Tuning

    @classmethod
    def start(cls, session: Session, now: datetime, max_problems: int) -> Job:
        """Take the session's connection and apply the import's settings to it."""
        conn = session.connection()
        return cls(
            session=session,
            conn=conn,
            now=now,
            problems=Problems(max_problems),
            report=ImportReport(),
            ids=Ids(conn),
            bulk=BulkInserter(conn),
            tuning=Tuning(conn),
        )

    def execute_many(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Run ``statement`` once per row (one executemany) and count the rows written."""
        if rows:
            self.conn.execute(statement, rows)
            self.report.rows_written += len(rows)
