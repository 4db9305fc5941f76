"""Rendering one workspace view for a viewer: authorise, ask the domain, render.

This is the one function the Home tab, ``/sales`` and the buttons' refresh all call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.navigation import VIEW_LABELS, ViewState
from handlers.render.frame import frame
from handlers.render.kit import Block, Surface, section
from storage.models import Role, User


class AccessDenied(PermissionError):
    """The viewer may not see the workspace they asked for."""


class UnknownSubject(LookupError):
    """The workspace asked for belongs to no (active) user."""


@dataclass(frozen=True)
class RenderedView:
    blocks: list[Block]
    state: ViewState  # with the page actually shown
    text: str  # notification fallback text


def render_workspace(
    session: Session,
    *,
    viewer: User,
    state: ViewState,
    now: datetime,
    surface: Surface,
    notice: Block | None = None,
) -> RenderedView:
    """Render ``state`` for ``viewer`` on ``surface``.

    Raises:
        AccessDenied: If the state names another user's workspace the viewer may not see.
        UnknownSubject: If that user does not exist.

    ``notice`` is a line under the header saying what a button just did.
    """
    subject = _subject(session, viewer, state)
    title = VIEW_LABELS[state.view]
    groups: list[list[Block]] = [[section(f"Hello, {subject.name}.")]]
    blocks, number, _count = frame(
        title=title,
        state=state,
        groups=groups,
        surface=surface,
        subject_name=None if subject.id == viewer.id else subject.name,
        notice=notice,
    )
    return RenderedView(blocks=blocks, state=state.with_page(number), text=title)


def _subject(session: Session, viewer: User, state: ViewState) -> User:
    if state.subject_id is None or state.subject_id == viewer.id:
        return viewer
    subject = session.get(User, state.subject_id)
    if subject is None or not subject.is_active:
        raise UnknownSubject(state.subject_id)
    if viewer.role is not Role.SUPER_ADMIN:
        raise AccessDenied(state.subject_id)
    return subject
