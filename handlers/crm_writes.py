"""Answers to a write the connected CRM did not take: apply mine, keep theirs, retry,
dismiss."""

from __future__ import annotations

from slack_bolt import App, BoltContext, Respond

from handlers.slack import ids
from handlers.slack.listeners import Click, on_click, show_in_place, write
from rules.crm_writes.ops import apply_mine, dismiss_write, keep_theirs, retry_write


def register(app: App) -> None:
    """The buttons under a "Not saved in HubSpot" message."""
    app.action(ids.CRM_WRITE_APPLY_MINE)(on_click(apply))
    app.action(ids.CRM_WRITE_KEEP_THEIRS)(on_click(keep))
    app.action(ids.CRM_WRITE_RETRY)(on_click(retry))
    app.action(ids.CRM_WRITE_DISMISS)(on_click(dismiss))


def apply(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(context, lambda s, actor, now: apply_mine(s, actor, click.value, now=now))
    show_in_place(context, click, result, respond=respond)


def keep(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(context, lambda s, actor, now: keep_theirs(s, actor, click.value, now=now))
    show_in_place(context, click, result, respond=respond)


def retry(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(context, lambda s, actor, now: retry_write(s, actor, click.value, now=now))
    show_in_place(context, click, result, respond=respond)


def dismiss(click: Click, context: BoltContext, respond: Respond) -> None:
    result = write(context, lambda s, actor, now: dismiss_write(s, actor, click.value, now=now))
    show_in_place(context, click, result, respond=respond)
