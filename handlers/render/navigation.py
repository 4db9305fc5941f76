"""Where a user is in the workspace: view, page, filter and whose workspace it is.

The state rides in button values and in the Home view's ``private_metadata`` as a short
string ``view:page:filter:subject``. It comes back from Slack, so it is parsed strictly and
never trusted: the subject is re-authorised on every render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from handlers.i18n import N_


class View(StrEnum):
    OVERVIEW = "overview"
    TASKS = "tasks"
    DEALS = "deals"
    LEADS = "leads"
    SCHEDULE = "schedule"
    FEED = "feed"


VIEW_LABELS: dict[View, str] = {
    View.OVERVIEW: N_("Overview"),
    View.TASKS: N_("Tasks"),
    View.DEALS: N_("Deals"),
    View.LEADS: N_("Leads"),
    View.SCHEDULE: N_("Schedule"),
    View.FEED: N_("Feed"),
}

MAX_PAGE = 10_000
# Filters are short tokens: letters, digits, "_", "-", "+" and "." (e.g. "no_activity",
# "week", "email+seq.12").
_FILTER = re.compile(r"^[a-z0-9_.+\-]{0,64}$")


class BadState(ValueError):
    """A navigation value that this app did not produce (stale, tampered or junk)."""


@dataclass(frozen=True)
class ViewState:
    view: View = View.OVERVIEW
    page: int = 1
    filter: str = ""
    # The CRM user whose workspace is shown; None: the viewer's own.
    subject_id: int | None = None

    def encode(self) -> str:
        subject = "" if self.subject_id is None else str(self.subject_id)
        return f"{self.view.value}:{self.page}:{self.filter}:{subject}"

    def with_page(self, page: int) -> ViewState:
        return replace(self, page=max(1, min(page, MAX_PAGE)))

    def with_filter(self, value: str) -> ViewState:
        return replace(self, filter=_checked_filter(value), page=1)

    def go(self, view: View) -> ViewState:
        """Another view of the same workspace, from its first page, unfiltered."""
        return ViewState(view=view, subject_id=self.subject_id)

    @classmethod
    def decode(cls, value: object) -> ViewState:
        """Parse a state made by ``encode``.

        Raises:
            BadState: If ``value`` is not exactly such a string.
        """
        if not isinstance(value, str) or len(value) > 200:
            raise BadState("not a navigation value")
        parts = value.split(":")
        if len(parts) != 4:
            raise BadState("not a navigation value")
        view_text, page_text, filter_text, subject_text = parts
        try:
            view = View(view_text)
        except ValueError:
            raise BadState(f"unknown view {view_text!r}") from None
        if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
            raise BadState("bad page")
        if subject_text and not subject_text.isdigit():
            raise BadState("bad subject")
        return cls(
            view=view,
            page=int(page_text),
            filter=_checked_filter(filter_text),
            subject_id=int(subject_text) if subject_text else None,
        )

    @classmethod
    def from_view(cls, view: dict[str, Any] | None) -> ViewState:
        """The state stored on a published Home view; the overview when absent or bad."""
        metadata = (view or {}).get("private_metadata") or ""
        try:
            return cls.decode(metadata)
        except BadState:
            return cls()


def _checked_filter(value: str) -> str:
    if not _FILTER.match(value):
        raise BadState("bad filter")
    return value
