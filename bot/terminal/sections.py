"""The workspace in a terminal (``salesbot demo``), as a list of sections.

Each section is a function from a :class:`TerminalContext` to a rich renderable (or None to
show nothing). This module holds the rep's overview; the Home tab, Deal Insights and the
digest have a section each in their own module of ``bot.terminal``, and ``bot.terminal.demo``
prints them in order. Rendering functions below take domain dataclasses and return
renderables: no SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from demo import DemoOrg
from rules.meetings.queries import MeetingItem
from rules.tasks.queries import BUCKET_ORDER, TaskBucket, TaskGroup, TaskItem
from rules.tasks.wording import BUCKET_LABELS
from rules.workspace.overview import GoalProgress, InsightCount, Overview, overview
from storage.models import User

MAX_WIDTH = 120
MIN_WIDTH = 80
HIGH_PRIORITY_MARK = "!"


@dataclass
class TerminalContext:
    """What a section may read: the session, whose workspace, the instant, and the demo.

    ``org`` names the demo's manager, super admin and featured deal (None outside the demo).
    """

    session: Session
    user: User
    now: datetime
    org: DemoOrg | None = None

    @cached_property
    def overview(self) -> Overview:
        """The user's Overview, computed once for all sections."""
        return overview(self.session, self.user, now=self.now)


Section = Callable[[TerminalContext], RenderableType | None]


# Pure renderers ----------------------------------------------------------------------------


def _links(task: TaskItem) -> str:
    names = [ref.name for ref in task.contacts] + [ref.name for ref in task.deals]
    return ", ".join(names)


def _list_table(title: str) -> Table:
    """A borderless, full-width table under a bold title: one bucket of tasks or meetings."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        show_header=False,
        box=None,
        expand=True,
        padding=(0, 1),
    )


def render_task_group(title: str, group: TaskGroup, *, with_day: bool = False) -> Table:
    """One task bucket as a table: "!" marks high priority, a late time is dimmed."""
    high = f", {group.high_priority_count} high priority" if group.high_priority_count else ""
    table = _list_table(f"{title} ({group.count}{high})")
    table.add_column("", width=1, style="bold red")
    # One width for every bucket so the three tables line up.
    table.add_column("due", width=9, no_wrap=True)
    table.add_column("task", ratio=3)
    table.add_column("for", ratio=2, style="cyan")
    if not group.tasks:
        table.add_row("", "", Text("nothing here", style="dim"), "")
    for task in group.tasks:
        when = ""
        if task.due_local is not None:
            when = task.due_local.strftime("%a %H:%M" if with_day else "%H:%M")
        table.add_row(
            HIGH_PRIORITY_MARK if task.is_high_priority else "",
            Text(when, style="dim" if task.is_late and not with_day else ""),
            task.subject + ("  (sequence)" if task.is_sequence_task else ""),
            _links(task),
        )
    return table


def render_tasks(view: Overview) -> RenderableType:
    """The three buckets, overdue first (what needs attention)."""
    tables: list[RenderableType] = []
    for bucket in BUCKET_ORDER:
        if tables:
            tables.append(Text(""))
        group = view.tasks.group(bucket)
        # Overdue tasks can be days old: show the day too.
        overdue = bucket is TaskBucket.OVERDUE
        tables.append(render_task_group(BUCKET_LABELS[bucket], group, with_day=overdue))
    return Panel(
        Group(*tables),
        title="Tasks",
        title_align="left",
        subtitle=f"{HIGH_PRIORITY_MARK} = high priority",
        subtitle_align="right",
    )


def render_meetings(title: str, meetings: tuple[MeetingItem, ...], *, with_day: bool) -> Table:
    """Meetings with their local times, who attends, and the link."""
    table = _list_table(f"{title} ({len(meetings)})")
    table.add_column("when", width=15, no_wrap=True)
    table.add_column("meeting", ratio=3)
    table.add_column("with", ratio=2, style="cyan")
    if not meetings:
        table.add_row("", Text("no meetings", style="dim"), "")
    for meeting in meetings:
        fmt = "%a %H:%M" if with_day else "%H:%M"
        when = f"{meeting.starts_local.strftime(fmt)}-{meeting.ends_local.strftime('%H:%M')}"
        title_text = Text(meeting.title)
        if meeting.outcome and meeting.outcome != "scheduled":
            title_text.append(f"  [{meeting.outcome}]", style="dim")
        table.add_row(when, title_text, ", ".join(ref.name for ref in meeting.contacts))
    return table


def render_meeting_panel(view: Overview) -> RenderableType:
    return Panel(
        Group(
            render_meetings("Today", view.todays_meetings, with_day=False),
            Text(""),
            render_meetings("Coming up", view.upcoming_meetings, with_day=True),
        ),
        title="Meetings",
        title_align="left",
    )


def render_insights(insights: tuple[InsightCount, ...]) -> RenderableType:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for _ in insights:
        table.add_column(justify="left")
    table.add_row(*[Text(str(item.count), style="bold") for item in insights])
    table.add_row(*[Text(item.label, style="dim") for item in insights])
    return Panel(table, title="Insights", title_align="left")


def progress_bar(goal: GoalProgress, width: int = 20) -> str:
    """A text bar such as ``#########-----------``."""
    filled = round(goal.ratio * width)
    return "#" * filled + "-" * (width - filled)


def render_goals(goals: tuple[GoalProgress, ...]) -> RenderableType | None:
    if not goals:
        return None
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column("goal")
    table.add_column("bar", no_wrap=True)
    table.add_column("n", justify="right")
    for goal in goals:
        table.add_row(
            goal.label,
            Text(progress_bar(goal), style="green" if goal.is_met else "yellow"),
            f"{goal.achieved}/{goal.target}",
        )
    return Panel(table, title="Goals this week", title_align="left")


def render_header(view: Overview, user: User, now: datetime) -> RenderableType:
    local_now = now.astimezone(ZoneInfo(view.zone))
    line = Text()
    line.append(view.owner_name, style="bold")
    line.append(f"  {user.email}", style="dim")
    line.append(f"\n{local_now.strftime('%A %d %B %Y, %H:%M')} ({view.zone})")
    return Panel(line, title="Workspace overview", title_align="left")


# Sections ----------------------------------------------------------------------------------


def header_section(context: TerminalContext) -> RenderableType:
    return render_header(context.overview, context.user, context.now)


def tasks_section(context: TerminalContext) -> RenderableType:
    return render_tasks(context.overview)


def meetings_section(context: TerminalContext) -> RenderableType:
    return render_meeting_panel(context.overview)


def insights_section(context: TerminalContext) -> RenderableType:
    return render_insights(context.overview.insights)


def goals_section(context: TerminalContext) -> RenderableType | None:
    return render_goals(context.overview.goals)


# The rep's day, in the order `salesbot demo` prints it.
OVERVIEW_SECTIONS: list[Section] = [
    header_section,
    tasks_section,
    meetings_section,
    insights_section,
    goals_section,
]


def terminal_console(**kwargs: object) -> Console:
    """A console no wider than MAX_WIDTH columns (long lines are hard to read)."""
    console = Console(**kwargs)  # type: ignore[arg-type]
    if console.width > MAX_WIDTH:
        console.width = MAX_WIDTH
    return console


def render_sections(console: Console, context: TerminalContext, sections: list[Section]) -> None:
    """Print each section that has something to show, in order."""
    for section in sections:
        renderable = section(context)
        if renderable is not None:
            console.print(renderable)
