"""Deal Insights in a terminal: the model the settings name, and the demo's insights panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.panel import Panel

from bot.settings import Settings, SettingsError, load_settings
from insights.llm import InsightWriter, writer_for
from insights.report import render_insight
from insights.service import DealNotVisible, deal_insight

if TYPE_CHECKING:
    from bot.terminal.sections import TerminalContext


def insight_writer(settings: Settings) -> InsightWriter | None:
    """The configured model, or None when no key is set (CRM-only view)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return writer_for(
        key,
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout_seconds=settings.llm_timeout_seconds,
    )


def deal_insights_section(context: TerminalContext) -> RenderableType | None:
    """``salesbot demo``: the featured deal's insights as the demo rep sees them.

    Uses the configured model when there is one; without a key it is the CRM view, whose
    notice says how to switch AI on. Nothing is committed (the demo's session is not).
    """
    if context.org is None:
        return None  # only the demo names a featured deal
    try:
        writer = insight_writer(load_settings())
    except SettingsError:
        writer = None
    try:
        insight = deal_insight(
            context.session,
            deal_id=context.org.featured_deal_id,
            viewer=context.user,
            now=context.now,
            writer=writer,
            source="demo",
        )
    except DealNotVisible:
        return None
    return Panel(render_insight(insight), title="Deal Insights", title_align="left")
