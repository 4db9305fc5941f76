"""The frame around every workspace view: title, navigation, filters, pages."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.i18n import _
from handlers.render.kit import (
    MAX_BLOCKS,
    Block,
    Surface,
    actions,
    button,
    context,
    escape,
    header,
    pack_pages,
    publishable,
)
from handlers.render.navigation import VIEW_LABELS, ViewState
from handlers.slack import ids

# Two blocks are always kept free at the bottom for "Page 2 of 5" and its buttons.
PAGER_BLOCKS = 2


def nav_bar(state: ViewState) -> list[Block]:
    """One button per view; the current one is highlighted."""
    buttons = [
        button(
            _(label),
            action_id=f"{ids.HOME_NAV}:{view.value}",
            value=state.go(view).encode(),
            style="primary" if view is state.view else None,
        )
        for view, label in VIEW_LABELS.items()
    ]
    return actions(buttons, block_id="nav")


def pager(number: int, count: int, state: ViewState) -> list[Block]:
    """ "Page N of M" with previous/next buttons; nothing when there is one page."""
    if count <= 1:
        return []
    buttons = []
    if number > 1:
        buttons.append(
            button(
                "◀ " + _("Previous"),
                action_id=f"{ids.HOME_PAGE}:prev",
                value=state.with_page(number - 1).encode(),
            )
        )
    if number < count:
        buttons.append(
            button(
                _("Next") + " ▶",
                action_id=f"{ids.HOME_PAGE}:next",
                value=state.with_page(number + 1).encode(),
            )
        )
    page_line = _("Page {number} of {count}").format(number=number, count=count)
    return [context(page_line), *actions(buttons, block_id="pager")]


def frame(
    *,
    title: str,
    state: ViewState,
    groups: Sequence[Sequence[Block]],
    surface: Surface,
    top: Sequence[Block] = (),
    subject_name: str | None = None,
    empty_text: str | None = None,
    page: tuple[int, int] | None = None,
    notice: Block | None = None,
) -> tuple[list[Block], int, int]:
    """A full view: header, banner, navigation, ``top`` (filters...), one page of ``groups``.

    Args:
        title: The view's header.
        state: Where the user is (its page is clamped to the pages there are).
        groups: The items, each a few blocks that stay together on one page.
        surface: "home" (100 blocks) or "message" (50 blocks).
        top: Blocks shown above the items on every page (filters, counts).
        subject_name: Set when someone views another user's workspace.
        empty_text: Shown when there are no items.
        page: (number, count) when the domain already paged the items: they must all fit.
        notice: One line under the header saying what a button just did.

    Returns:
        The blocks, the page number shown and the page count.
    """
    head: list[Block] = [header(title)]
    if notice is not None:
        head.append(notice)
    if subject_name is not None:
        head.append(
            context(
                ":eyes: "
                + _("You are viewing *{name}*'s workspace. Their meetings show as Busy.").format(
                    name=escape(subject_name)
                )
            )
        )
    head.extend(nav_bar(state))
    head.extend(top)
    budget = MAX_BLOCKS[surface] - len(head) - PAGER_BLOCKS
    if not groups:
        groups = [[context(empty_text or _("Nothing here."))]]
    if page is not None:
        number, count = page
        content = [block for group in groups for block in group]
    else:
        packed = pack_pages(groups, budget=budget, page=state.page)
        number, count, content = packed.number, packed.count, packed.blocks
    blocks = [*head, *content, *pager(number, count, state)]
    return publishable(blocks, surface=surface), number, count
