"""What an import reports back: the problems that refuse a file, or what it wrote."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """Something wrong in the file, located by record and field."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SnapshotError(Exception):
    """The file was refused; nothing was written.

    Attributes:
        problems: what is wrong, at most ``max_problems`` of them.
        stopped_early: reading stopped at the limit; the file may hold more problems.
    """

    def __init__(self, problems: list[Problem], *, stopped_early: bool = False) -> None:
        self.problems = problems
        self.stopped_early = stopped_early
        super().__init__("\n".join(str(p) for p in problems))


class Stop(Exception):
    """Enough problems collected, or one that makes reading on pointless."""


class Problems:
    """The problems found so far; reading stops at ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self.found: list[Problem] = []
        self.limit = limit

    def add(self, path: str, message: str) -> None:
        """Note a problem and read on (up to the limit)."""
        self.found.append(Problem(path, message))
        if len(self.found) >= self.limit:
            raise Stop

    def fatal(self, path: str, message: str) -> None:
        """Note a problem that makes the rest of the file meaningless, and stop."""
        self.found.append(Problem(path, message))
        raise Stop

    def refusal(self) -> SnapshotError:
        """The error that refuses the file for the problems found."""
        return SnapshotError(self.found[: self.limit], stopped_early=len(self.found) >= self.limit)


@dataclass
class SectionCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        sections: per section (JSON key), how many records were inserted, updated or
            already up to date.
        rows_written: table rows inserted or updated, associations and history included.
    """

    sections: dict[str, SectionCounts] = field(default_factory=dict)
    rows_written: int = 0

    def counts(self, section: str) -> SectionCounts:
        """The counts of ``section``, started at zero on first use."""
        return self.sections.setdefault(section, SectionCounts())
