"""Guided-action buttons: the check mark on an item, done, dismiss, and feedback."""

from __future__ import annotations

from dataclasses import replace

from slack_bolt import App, Respond
from slack_sdk import WebClient

from handlers import ids
from handlers.interaction import Click, on_click, show_in_place, write
from handlers.render.results import add_line_after, result_line
from handlers.services import Services
from rules.guided_ops import (
    complete_action_item,
    complete_guided_action,
    dismiss_guided_action,
    give_feedback,
)


def register(app: App, services: Services) -> None:
    """Wire the guided-action buttons."""
    app.action(ids.ACTION_ITEM_DONE)(**on_click(services, item_done))
    app.action(ids.ACTION_DONE)(**on_click(services, action_done))
    app.action(ids.ACTION_DISMISS)(**on_click(services, dismiss))
    app.action(ids.ACTION_FEEDBACK)(**on_click(services, feedback))


def item_done(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: complete_action_item(s, actor, click.value, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


def action_done(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: complete_guided_action(s, actor, click.value, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


def dismiss(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: dismiss_guided_action(s, actor, click.value, now=now),
    )
    show_in_place(services, click, result, client=client, respond=respond)


def feedback(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    result = write(
        services,
        client,
        click.user_id,
        lambda s, actor, now: give_feedback(s, actor, click.value, now=now),
    )
    # Feedback leaves the suggestion (and its buttons) in place: the thanks goes under it.
    block_id = click.block_id or ""
    line = result_line(result, block_id=f"{block_id}:feedback"[:255])
    if click.container == "message" and not result.refused:
        blocks = add_line_after(click.message_blocks, block_id, line)
        # The line is now in the message: "replacing" it with itself keeps the rest as is.
        show_in_place(
            services,
            replace(click, message_blocks=blocks, block_id=line["block_id"]),
            result,
            client=client,
            respond=respond,
            replacement=[line],
        )
        return
    show_in_place(services, click, result, client=client, respond=respond)
