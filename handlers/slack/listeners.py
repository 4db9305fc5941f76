"""The listener toolkit: every button, form, command and event listener is built with it.

- ``on_click(work)``, ``on_command(work)``, ``on_event(work)``: acknowledge at once, then
  run ``work`` on the work pool (a failure is logged and told plainly: ``safely``).
- ``on_submit(work)``: a form's answer goes in its ack (field errors, or a result view);
  telling where the form came from happens after, on the pool.
- ``acting(context)`` (from ``handlers.slack.context``): who is acting, and the services.
- ``write`` / ``read``: one domain call as the acting CRM user, in its own transaction.
- ``open_form``, ``submit_form``, ``show_in_place``: the Slack side of a form or a click.

Nothing in a payload is trusted: ids go to the domain, which re-checks them and the
acting user's rights; ``private_metadata`` is read defensively. Who is acting comes from
the request's own user id only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from handlers.i18n import use_language
from handlers.i18n.phrases import spoken
from handlers.i18n.users import language_code
from handlers.render.crm_writes import crm_result_blocks, progress_text
from handlers.render.kit import Block, FieldBlocks, escape, fallback_text, section
from handlers.render.navigation import BadState, ViewState
from handlers.render.results import (
    replace_block,
    result_line,
    result_modal,
    result_sentence,
    result_text,
)
from handlers.slack.context import Acting, acting
from handlers.slack.events import first_delivery
from handlers.slack.home_tab import home_failed_in_outage, publish_home, take_home_ticket
from handlers.slack.identity import Asker, unmapped_text
from handlers.slack.metadata import read_metadata
from handlers.slack.safely import run_safely
from handlers.slack.services import Services
from rules.crm_writes.queries import Progress, WriteProgress, write_progress
from rules.op_result import OpResult, OpStatus, forbidden
from rules.settings.preferences import language_choice
from storage.db import unit_of_work
from storage.health import describe, is_outage
from storage.models import User
from storage.outbox import await_reply, crm_name, queued_rows

logger = logging.getLogger(__name__)

T = TypeVar("T")

# SQLite may refuse a write whose read snapshot went stale under a concurrent click; the
# whole unit of work is safe to run again (the domain re-reads everything).
_WRITE_ATTEMPTS = 3
# How long a click waits to say "Saved in HubSpot" rather than "Saving to HubSpot…".
_CRM_WAIT_SECONDS = 1.5

Operation = Callable[[Session, User, datetime], OpResult]
Reader = Callable[[Session, User, datetime], tuple[T | None, OpResult | None]]
FollowUp = Callable[[], None]
# A click's own answer in place of the result line, built from its result ("Done" and a
# follow-up prompt, say); None: the result line.
Replacement = Callable[[OpResult], "list[Block] | None"]


# What a request carries --------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """A ``block_actions`` payload, reduced to what listeners use."""

    user_id: str
    action_id: str
    action_type: str  # "button", "static_select", "overflow"...
    value: str | None
    block_id: str | None
    trigger_id: str | None
    container: str  # "message", "view" or ""
    view: dict[str, Any] = field(default_factory=dict)
    channel_id: str | None = None
    message_ts: str | None = None
    is_ephemeral: bool = False
    message_blocks: list[Block] = field(default_factory=list)
    response_url: str | None = None
    # Set for clicks that re-publish the Home tab: see ``home_tab.PublishTickets``.
    home_ticket: int | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any], *, home_ticket: int | None = None) -> Click:
        action = (body.get("actions") or [{}])[0]
        selected = action.get("selected_option") or {}
        value = action.get("value")
        if value is None and isinstance(selected, dict):
            value = selected.get("value")
        message = body.get("message") or {}
        container = body.get("container") or {}
        return cls(
            user_id=str((body.get("user") or {}).get("id") or ""),
            action_id=str(action.get("action_id") or ""),
            action_type=str(action.get("type") or ""),
            value=value if isinstance(value, str) else None,
            block_id=action.get("block_id"),
            trigger_id=body.get("trigger_id"),
            container=str(container.get("type") or ""),
            view=body.get("view") or {},
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=message.get("ts") or container.get("message_ts"),
            is_ephemeral=bool(container.get("is_ephemeral")),
            message_blocks=list(message.get("blocks") or []),
            response_url=body.get("response_url"),
            home_ticket=home_ticket,
        )

    @property
    def in_home(self) -> bool:
        return self.container == "view" and self.view.get("type") == "home"

    def origin(self) -> dict[str, Any]:
        """Where a form opened from this click reports back to (goes in its metadata)."""
        if self.in_home:
            return {"kind": "home", "state": ViewState.from_view(self.view).encode()}
        if self.container == "message" and self.response_url:
            return {"kind": "message", "url": self.response_url}
        return {}


@dataclass(frozen=True)
class Form:
    """A ``view_submission`` payload: the submitted view, its state and its metadata."""

    user_id: str
    view: dict[str, Any]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Form:
        return cls(
            user_id=str((body.get("user") or {}).get("id") or ""), view=body.get("view") or {}
        )

    @property
    def state(self) -> dict[str, Any]:
        state = self.view.get("state")
        return state if isinstance(state, dict) else {}

    @property
    def metadata(self) -> dict[str, Any]:
        return read_metadata(self.view)

    @property
    def origin(self) -> dict[str, Any]:
        origin = self.metadata.get("origin")
        return origin if isinstance(origin, dict) else {}


@dataclass(frozen=True)
class CommandRequest:
    """One ``/sales`` invocation by a linked CRM user."""

    acting: Acting
    respond: Respond
    asker: Asker
    args: str  # the text after the subcommand word
    trigger_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class DirectMessage:
    """A message a linked CRM user sent the bot in its DM."""

    acting: Acting
    asker: Asker
    channel_id: str
    text: str
    ts: str
    # Set when the message is a reply in a thread (Deal Insights' follow-ups).
    thread_ts: str | None = None


# Listeners: ack first, then the work ---------------------------------------------------------

ClickWork = Callable[[Click, BoltContext, Respond], None]
BodyWork = Callable[[dict[str, Any], BoltContext, Respond], None]
EventWork = Callable[[dict[str, Any], dict[str, Any], BoltContext], None]
FormWork = Callable[[Form, Ack, BoltContext], "FollowUp | None"]


# Where ``on_event(..., home_ticket=True)`` leaves the ticket for the work.
HOME_TICKET = "salesbot_home_ticket"


def _name(work: Callable[..., Any]) -> str:
    return str(getattr(work, "__name__", "listener"))


def _pool(context: BoltContext) -> Executor:
    return context.listener_runner.listener_executor


def _after_ack(context: BoltContext, body: dict[str, Any], name: str, work: FollowUp) -> None:
    # Straight to the work pool (not Bolt's lazy listeners, which deep-copy the whole
    # request in the acknowledging thread first).
    who = acting(context)
    _pool(context).submit(
        run_safely,
        name,
        work,
        client=who.client,
        body=body,
        speaking=lambda said: in_their_language(who, said),
    )


def in_their_language(who: Acting, work: Callable[[], T]) -> T:
    """Run ``work`` speaking the acting user's language (``handlers.i18n.users``).

    After the ack: finding the user may ask Slack (``users.info``) and reads the database.
    With the database down, the workspace's default language (the apology for the failure
    that follows is still said in a language).
    """
    code, slack_locale = _their_language(who)
    with use_language(code, slack_locale=slack_locale):
        return work()


def _their_language(who: Acting) -> tuple[str, str | None]:
    default = who.services.settings.default_language
    try:
        asker = who.asker()
        if asker is None:
            return default, None
        with unit_of_work(who.services.sessions) as session:
            choice = language_choice(session, user_id=asker.user_id)
    except SQLAlchemyError as error:
        logger.warning("language of %s unknown: %s", who.slack_user_id, describe(error))
        return default, None
    return language_code(choice, default=default), choice.slack_locale


def on_click(work: ClickWork, *, home_ticket: bool = False) -> Callable[..., None]:
    """A ``block_actions`` listener: ack, then ``work(click, context, respond)`` on the pool.

    Args:
        work: The listener's body, given the parsed click.
        home_ticket: Reserve the clicking user's next Home publish in the ack, so a slow
            render of an older click never overwrites a newer view (navigation does).
    """

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        ticket = None
        if home_ticket and (body.get("container") or {}).get("type") == "view":
            ticket = take_home_ticket(acting(context).services, acting(context).slack_user_id)
        click = Click.from_body(body, home_ticket=ticket)
        respond = Respond(response_url=body.get("response_url"))
        _after_ack(context, body, _name(work), lambda: work(click, context, respond))

    listener.__name__ = _name(work)
    return listener


def on_command(work: BodyWork) -> Callable[..., None]:
    """A slash command listener: an empty ack (the answer follows through the
    ``response_url`` within a second), then ``work(body, context, respond)`` on the pool."""

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        respond = Respond(response_url=body.get("response_url"))
        _after_ack(context, body, _name(work), lambda: work(body, context, respond))

    listener.__name__ = _name(work)
    return listener


def on_event(work: EventWork, *, home_ticket: bool = False) -> Callable[..., None]:
    """An Events API listener: Bolt acknowledges; ``work(body, event, context)`` runs on
    the pool, once per ``event_id``. ``home_ticket`` as for ``on_click`` (the Home tab
    opening takes one).

    The event is claimed here, in the ack, before a ticket is taken: a retry that arrives
    while the original is still working must neither take the Home tab's ticket from it
    (the original would skip its publish as outdated) nor do the work a second time.
    """

    def listener(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        who = acting(context)
        try:
            if not first_delivery(who.services, body):
                return
        except SQLAlchemyError as error:
            user = str(event.get("user") or "")
            if not (home_ticket and user and is_outage(error)):
                raise
            # Acknowledged all the same: the tab is published once the database is back.
            home_failed_in_outage(who.services, user, ViewState.from_view(event.get("view")), error)
            logger.warning("Home tab not published: database unavailable (%s)", describe(error))
            return
        if home_ticket:
            user = str(event.get("user") or "")
            if user:
                context[HOME_TICKET] = take_home_ticket(who.services, user)
        _after_ack(context, body, _name(work), lambda: work(body, event, context))

    listener.__name__ = _name(work)
    return listener


def on_submit(work: FormWork) -> Callable[..., None]:
    """A ``view_submission`` listener. ``work`` writes and answers in the ack (field errors
    or a result view: a write takes milliseconds, well inside Slack's 3 seconds) and may
    return a follow-up (telling the form's origin) that runs on the pool, after the answer."""

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        who = acting(context)
        follow_up = in_their_language(who, lambda: work(Form.from_body(body), ack, context))
        if follow_up is not None:
            _pool(context).submit(_logged, lambda: in_their_language(who, follow_up))

    listener.__name__ = _name(work)
    return listener


def _logged(follow_up: FollowUp) -> None:
    try:
        follow_up()
    except Exception:
        logger.exception("telling the origin of a form failed")


# Domain calls as the acting user ---------------------------------------------------------------


def write(context: BoltContext, operation: Operation) -> OpResult:
    """Run one write as the acting CRM user, in its own transaction.

    Only a DONE result is committed: a refusal or an "already" leaves nothing behind, even
    if the operation had started to change something.
    """
    who = acting(context)
    now = who.services.clock()
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        session = who.services.sessions()
        try:
            actor = _actor(who, session)
            if actor is None:
                return forbidden(unmapped_text(who.slack_user_id))
            result = operation(session, actor, now)
            if result.changed:
                session.commit()
                queued = queued_rows(session)
                if queued:
                    return _with_crm_progress(who.services, result, queued)
            else:
                session.rollback()
            return result
        except OperationalError as error:
            session.rollback()
            if attempt == _WRITE_ATTEMPTS or "locked" not in str(error).lower():
                raise
            logger.info("database busy, running the write again (attempt %d)", attempt + 1)
        finally:
            session.close()
    raise AssertionError("unreachable")


def _with_crm_progress(services: Services, result: OpResult, row_ids: list[int]) -> OpResult:
    """``result`` with where its write stands in the connected CRM ("Saved in HubSpot."),
    after giving the outbox's sender (woken by the commit) a moment to send it."""
    deadline = time.monotonic() + _CRM_WAIT_SECONDS
    while True:
        with services.sessions() as session:
            progress = write_progress(session, row_ids)
        if progress is None:
            return result
        if progress.state is not Progress.SAVING or time.monotonic() >= deadline:
            return replace(
                result,
                note=progress_text(progress),
                crm_rows=tuple(row_ids),
                crm_state=progress.state.value,
                crm_retry=progress.failed,
            )
        time.sleep(0.05)


def read(context: BoltContext, reader: Reader[T]) -> tuple[T | None, OpResult | None]:
    """Run a read as the acting CRM user (e.g. to render a form).

    The reader renders inside the session and returns (value, None) or (None, refusal).
    """
    who = acting(context)
    now = who.services.clock()
    session = who.services.sessions()
    try:
        actor = _actor(who, session)
        if actor is None:
            return None, forbidden(unmapped_text(who.slack_user_id))
        return reader(session, actor, now)
    finally:
        session.close()


def _actor(who: Acting, session: Session) -> User | None:
    asker = who.asker()
    return session.get(User, asker.user_id) if asker is not None else None


# Showing what happened ----------------------------------------------------------------------


def show_in_place(
    context: BoltContext,
    click: Click,
    result: OpResult,
    *,
    respond: Respond,
    replacement: Replacement | None = None,
) -> None:
    """Show ``result`` where the click happened, updating that message or Home tab in place.

    In a message, a change (or an "already") replaces the clicked row's buttons with the
    result line (or ``replacement(result)``); a refusal keeps the message and answers with a
    line only the clicking user sees. The Home tab is re-published where the user was, with
    the result under its header. A change still on its way to the CRM ("Saving to
    HubSpot…") leaves where its answer is on its outbox rows, so the outbox worker updates
    it once they settle (``handlers.slack.crm_replies``).

    A bot message is updated with ``chat.update`` (its ``response_url`` expires after 30
    minutes, and this morning's digest is clicked all day); an ephemeral message, which
    ``chat.update`` cannot reach, through its ``response_url``. Slack sends no copy of an
    ephemeral message (``container.is_ephemeral``, no ``message``): replacing it would leave
    one line where the whole answer was, so the result (or ``replacement``) comes under it
    as a line of its own and the answer stays whole.
    """
    who = acting(context)

    def answer(shown: OpResult) -> list[Block]:
        return (replacement(shown) if replacement else None) or crm_result_blocks(shown)

    region = answer(result)
    if click.container == "message":
        if result.refused:
            _tell_privately(who, click, result_text(result), respond=respond)
            return
        if click.is_ephemeral and not click.message_blocks:
            respond(
                text=fallback_text(escape(result_sentence(result))),
                blocks=region,
                response_type="ephemeral",
                replace_original=False,
            )
            _await_crm(who, result, ({"kind": "add", "url": click.response_url}, answer))
            return
        blocks = replace_block(click.message_blocks, click.block_id or "", region)
        if click.channel_id and click.message_ts and not click.is_ephemeral:
            who.client.chat_update(
                channel=click.channel_id,
                ts=click.message_ts,
                text=fallback_text(escape(result_sentence(result))),
                blocks=blocks,
            )
            where: dict[str, Any] = {
                "kind": "update",
                "channel": click.channel_id,
                "ts": click.message_ts,
            }
        else:
            respond(
                text=fallback_text(escape(result_sentence(result))),
                blocks=blocks,
                replace_original=True,
            )
            where = {"kind": "replace", "url": click.response_url}
        _await_crm(who, result, ({**where, **_region_of(blocks, region)}, answer))
        return
    if click.in_home:
        publish_home(
            who,
            state=ViewState.from_view(click.view),
            notice=result_line(result, block_id="button_result"),
        )
        _await_crm(who, result, ({"kind": "home"}, answer))
        return
    logger.warning("no place to show the result of %s", click.action_id)


def _region_of(blocks: list[Block], region: list[Block]) -> dict[str, Any]:
    """Where the answer's blocks sit in the message (to swap them for the late answer)."""
    for start in range(len(blocks)):
        if blocks[start : start + len(region)] == region:
            return {"blocks": blocks, "start": start, "count": len(region)}
    # A full message kept only the answer's last block (``replace_block``).
    last = region[-1:]
    start = next((i for i, b in enumerate(blocks) if b == last[0]), len(blocks)) if last else 0
    return {"blocks": blocks, "start": start, "count": len(last)}


# Where a "Saving to HubSpot…" answer is, and how it reads once saved.
Place = tuple[dict[str, Any], Callable[[OpResult], list[Block]]]


def _await_crm(who: Acting, result: OpResult, *places: Place) -> None:
    """A change still on its way to the CRM: leave on its rows each place where the user
    was told "saving" (a message, a modal), the sentence said, and each answer as it reads
    once saved, so the outbox worker can update them when the rows settle
    (``handlers.slack.crm_replies``)."""
    if result.crm_state != Progress.SAVING or not result.crm_rows or not places:
        return
    try:
        with unit_of_work(who.services.sessions) as session:
            saved = WriteProgress(Progress.SAVED, crm_name(session))
            shown = replace(result, note=progress_text(saved), crm_state=Progress.SAVED)
            reply = {
                "user": who.slack_user_id,
                "sentence": spoken(result.sentence),
                "places": [
                    {**_reachable(where, who), "saved": answer(shown)} for where, answer in places
                ],
            }
            await_reply(session, list(result.crm_rows), reply)
    except SQLAlchemyError as error:
        # The user has their answer; only its later update is lost (the Home tab and the
        # direct message about a failure still tell).
        logger.warning("the answer of a click will not be updated: %s", describe(error))


def _reachable(where: dict[str, Any], who: Acting) -> dict[str, Any]:
    """``where``, or the Home tab when it is a ``response_url`` not from Slack."""
    if where.get("kind") in ("add", "replace") and not (
        isinstance(where.get("url"), str) and _trusted_response_url(where["url"], who.services)
    ):
        return {"kind": "home"}  # nowhere to write to but the Home tab
    return where


def _view_place(
    view_id: str, view: Block, region: list[Block], *, view_hash: str | None = None
) -> dict[str, Any]:
    """A modal showing ``region`` among its blocks; ``view_hash`` (from ``views.update``)
    lets Slack refuse the late update once the modal has moved on to something else."""
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]
    shape = {k: v for k, v in view.items() if k != "blocks"}
    return {
        "kind": "view",
        "view_id": view_id,
        **({"hash": view_hash} if view_hash else {}),
        "view": shape,
        **_region_of(blocks, region),
    }


def update_view(
    context: BoltContext,
    view_id: str,
    view: Block,
    result: OpResult,
    answer: Callable[[OpResult], list[Block]],
) -> None:
    """Show ``view`` in the open modal ``view_id``; ``answer(result)`` is among its blocks
    and, while ``result`` is still on its way to the CRM, is updated once it settles."""
    who = acting(context)
    shown = who.client.views_update(view_id=view_id, view=view)
    posted = shown.get("view") if isinstance(shown.data, dict) else None
    view_hash = posted.get("hash") if isinstance(posted, dict) else None
    place = _view_place(
        view_id, view, answer(result), view_hash=view_hash if isinstance(view_hash, str) else None
    )
    _await_crm(who, result, (place, answer))


def _tell_privately(who: Acting, click: Click, text: str, *, respond: Respond) -> None:
    """A line only the clicking user sees, under the message they clicked."""
    if click.response_url:
        respond(text=fallback_text(text), response_type="ephemeral", replace_original=False)
    elif click.channel_id:
        who.client.chat_postEphemeral(
            channel=click.channel_id, user=click.user_id, text=fallback_text(text)
        )


def open_form(
    context: BoltContext,
    click: Click,
    rendered: tuple[Block | None, OpResult | None],
    *,
    respond: Respond,
) -> None:
    """Open the rendered modal, or show the refusal where the click happened."""
    view, refusal = rendered
    if view is None:
        assert refusal is not None
        show_in_place(context, click, refusal, respond=respond)
        return
    acting(context).client.views_open(trigger_id=click.trigger_id or "", view=view)


# Forms -------------------------------------------------------------------------------------


def submit_form(
    context: BoltContext,
    ack: Ack,
    form: Form,
    operation: Operation,
    *,
    title: str,
    fields: FieldBlocks,
) -> FollowUp | None:
    """The whole of a form submission: ``write`` the operation as the submitting user, then
    answer in the ack. Fixable input gets its error under its field; anything else turns
    the modal into a one-line result (done, already, not allowed).

    Args:
        context: The request's context.
        ack: The submission's acknowledgement.
        form: The submitted form (its metadata says where it came from).
        operation: The domain write, given the session, the acting CRM user and ``now``.
        title: The result modal's title.
        fields: Which input block shows an error about which field.

    Returns:
        After a change, the follow-up that tells the origin (the Home tab, or the message
        the form came from); None otherwise.
    """
    result = write(context, operation)
    if result.status is OpStatus.INVALID:
        ack(
            response_action="errors",
            errors={fields.block_for(result.field): result_sentence(result)},
        )
        return None
    answered = result_modal(title, result)
    ack(response_action="update", view=answered)
    if not result.changed:
        return None
    origin = form.origin
    who = acting(context)
    view_id = form.view.get("id")

    def follow_up() -> None:
        told = report_to_origin(who, origin, result)
        # The result modal and the line under the form's message say "Saving…": both are
        # updated once the write settles (the Home tab is re-published by the worker).
        places: list[Place] = [told] if told is not None else []
        if isinstance(view_id, str):

            def answer(shown: OpResult) -> list[Block]:
                return [section(result_text(shown))]

            place = _view_place(view_id, answered, answer(result))
            places.append((place, answer))
        _await_crm(who, result, *places)

    return follow_up


def report_to_origin(who: Acting, origin: dict[str, Any], result: OpResult) -> Place | None:
    """After a form: refresh the Home tab it came from, or tell the message's conversation.
    Returns where a line was posted under the message (None: the Home tab, or nowhere).

    Only a ``response_url`` from Slack (or from the configured local Web API, in tests) is
    ever posted to, so a form can't be made to call an arbitrary address.
    """
    if origin.get("kind") == "home":
        try:
            state = ViewState.decode(origin.get("state"))
        except BadState:
            state = ViewState()
        publish_home(
            who,
            state=state,
            notice=result_line(result, block_id="button_result"),
        )
        return None
    url = origin.get("url") if origin.get("kind") == "message" else None
    if not isinstance(url, str) or not _trusted_response_url(url, who.services):
        return None

    def answer(shown: OpResult) -> list[Block]:
        return [result_line(shown)]

    WebhookClient(url).send_dict(
        {
            "text": fallback_text(result_text(result)),
            "blocks": answer(result),
            "response_type": "ephemeral",
            "replace_original": False,
        }
    )
    # An ephemeral line cannot be edited (its response_url edits the form's message): once
    # the write settles, the answer comes as a line of its own under it.
    return {"kind": "add", "url": url}, answer


def _trusted_response_url(url: str, services: Services) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    api = urlsplit(services.settings.slack_api_url)
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc) and api.hostname in {
        "127.0.0.1",
        "localhost",
    }
