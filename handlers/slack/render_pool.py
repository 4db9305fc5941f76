"""Rendering workspace views in separate processes, so CPU work never slows an ack.

Python threads share one interpreter lock: a view being rendered (queries, then Block Kit)
competes with the threads that acknowledge Slack's requests. With ``render_processes`` set,
the app hands each render to a small process pool instead and only publishes the result;
what is rendered, and for whom, is decided exactly as in-process (``render_workspace``).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from handlers.i18n import SOURCE_LANGUAGE
from handlers.render.kit import Block, Surface
from handlers.render.navigation import ViewState
from handlers.render.workspace import RenderedView, render_workspace
from handlers.slack.services import PerStore, Services
from storage.db import make_engine, session_factory, unit_of_work
from storage.models import User

_worker_sessions: sessionmaker[Session] | None = None


def _start_worker(database_url: str) -> None:
    global _worker_sessions
    _worker_sessions = session_factory(make_engine(database_url))


def _ready() -> bool:
    return _worker_sessions is not None


def _render(
    viewer_id: int,
    state: str,
    now: datetime,
    surface: Surface,
    notice: Block | None = None,
    default_language: str = SOURCE_LANGUAGE,
) -> tuple[list[dict[str, object]], str, str] | None:
    assert _worker_sessions is not None, "worker not initialised"
    with unit_of_work(_worker_sessions) as session:
        viewer = session.get(User, viewer_id)
        if viewer is None:
            return None
        rendered = render_workspace(
            session,
            viewer=viewer,
            state=ViewState.decode(state),
            now=now,
            surface=surface,
            notice=notice,
            default_language=default_language,
        )
        return rendered.blocks, rendered.state.encode(), rendered.text


class RenderPool:
    """A pool of processes, each with its own connection to the same database."""

    def __init__(self, database_url: str, processes: int) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(database_url,),
        )
        self._processes = processes

    def warm_up(self, timeout: float = 60.0) -> None:
        """Start every process now (spawning imports the app: seconds, not per request)."""
        futures = [self._executor.submit(_ready) for _ in range(self._processes * 2)]
        for future in futures:
            future.result(timeout=timeout)

    def render(
        self,
        *,
        viewer_id: int,
        state: ViewState,
        now: datetime,
        surface: Surface,
        notice: Block | None = None,
        default_language: str = SOURCE_LANGUAGE,
    ) -> RenderedView | None:
        """Render in a worker process; the domain's exceptions come back as they are.

        Returns:
            The view, or None when the viewer no longer exists.
        """
        result = self._executor.submit(
            _render, viewer_id, state.encode(), now, surface, notice, default_language
        ).result()
        if result is None:
            return None
        blocks, encoded, text = result
        return RenderedView(blocks=blocks, state=ViewState.decode(encoded), text=text)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


_pools: PerStore[RenderPool] = PerStore()


def attach_render_pool(services: Services, pool: RenderPool) -> None:
    """Make this app's renders go through ``pool`` (bot.app does it when configured)."""
    _pools.put(services, pool)


def render_pool(services: Services) -> RenderPool | None:
    return _pools.get(services)


def render_view(
    services: Services,
    *,
    viewer_id: int,
    state: ViewState,
    surface: Surface,
    notice: Block | None = None,
) -> RenderedView | None:
    """Render ``state`` for the viewer, in the pool when there is one, else right here.

    Raises:
        AccessDenied, UnknownSubject, BadState: As ``render_workspace``.
    """
    pool = render_pool(services)
    now = services.clock()
    if pool is not None:
        return pool.render(
            viewer_id=viewer_id,
            state=state,
            now=now,
            surface=surface,
            notice=notice,
            default_language=services.settings.default_language,
        )
    with unit_of_work(services.sessions) as session:
        viewer = session.get(User, viewer_id)
        if viewer is None:
            return None
        return render_workspace(
            session,
            viewer=viewer,
            state=state,
            now=now,
            surface=surface,
            notice=notice,
            default_language=services.settings.default_language,
        )
