"""Where a change stands in the connected CRM, in the reader's language: the line under a
click's result (saved, saving, not saved, with Retry), that line updated once a "saving"
write settles, and the message its user gets when the CRM did not take a write (or took it
late), with Apply mine / Keep HubSpot's, or Retry and Dismiss."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from handlers.i18n import _
from handlers.i18n.formats import clock, full_date, short_day
from handlers.i18n.phrases import spoken
from handlers.render.kit import Block, actions, button, escape, notice, section
from handlers.render.results import result_line
from handlers.slack import ids
from rules.crm_writes.queries import Clash, Notice, NoticeKind, Progress, WriteProgress
from rules.crm_writes.wording import (
    AN_AUTOMATION,
    RECORD_KINDS,
    SOMEONE,
    THE_CRM,
    THE_CRM_MSGID,
    UNKNOWN_RECORD,
)
from rules.op_result import OpResult
from rules.translatable import Param, Phrase


def crm_label(crm: str) -> str:
    """The CRM's name ("HubSpot" stays a name; "the CRM" is words to translate)."""
    return _(THE_CRM_MSGID) if crm == THE_CRM else crm


def reason_text(reason: Phrase | None) -> str:
    """Why a write was not taken, in the reader's language, for mrkdwn: its values (CRM
    names, HubSpot's words) are data, its own words keep their markup (a `command`)."""
    return spoken(_values_as_data(reason)) if reason is not None else _("it was refused")


def _values_as_data(phrase: Phrase) -> Phrase:
    return replace(phrase, params={name: _as_data(v) for name, v in phrase.params.items()})


def _as_data(value: Param) -> Param:
    if isinstance(value, Phrase):
        return _values_as_data(value)
    if isinstance(value, tuple):
        return tuple(_values_as_data(part) for part in value)
    return escape(value) if isinstance(value, str) else value


def progress_text(progress: WriteProgress) -> str:
    """ "Saved in HubSpot.", "Saving to HubSpot…", or "Not saved in HubSpot: <why>. …"."""
    crm = escape(crm_label(progress.crm))
    if progress.state is Progress.SAVED:
        if progress.reason is not None:  # saved, but not all of it (a link to a gone record)
            return _("Saved in {crm}, but {reason}.").format(
                crm=crm, reason=reason_text(progress.reason)
            )
        return _("Saved in {crm}.").format(crm=crm)
    if progress.state is Progress.SAVING:
        return _("Saving to {crm}…").format(crm=crm)
    return _("Not saved in {crm}: {reason}. You'll get a message with what you can do.").format(
        crm=crm, reason=reason_text(progress.reason)
    )


def crm_result_blocks(result: OpResult) -> list[Block]:
    """A click's result line; not saved in the CRM for a reason Retry may fix, with Retry."""
    line = [result_line(result)]
    if result.crm_state == Progress.NOT_SAVED and result.crm_retry is not None:
        return line + _retry(result.crm_retry)
    return line


def late_answer_blocks(sentence: str, saved: list[Block], progress: WriteProgress) -> list[Block]:
    """What replaces a click's "Saving to HubSpot…" answer once its write settled.

    Args:
        sentence: What the click did, as the user read it ("Done: 'Call Acme' completed.").
        saved: The answer as it reads when saved (rendered with the click: a follow-up
            prompt, say).
        progress: Where the write stands now (saved, or not saved and why).
    """
    if progress.state is Progress.SAVED and progress.reason is None and saved:
        return saved
    ok = progress.state is Progress.SAVED
    icon = ":white_check_mark:" if ok else ":warning:"
    line = notice(f"{icon} {escape(sentence)} {progress_text(progress)}")
    if progress.state is Progress.NOT_SAVED and progress.failed is not None:
        return [line, *_retry(progress.failed)]
    return [line]


def _retry(row_id: int) -> list[Block]:
    return actions(
        [button(_("Retry"), action_id=ids.CRM_WRITE_RETRY, value=str(row_id))],
        block_id=f"crm_write:{row_id}",
    )


def write_notice_text(notice: Notice) -> str:
    """The sentence for a write's user: what happened in the CRM, and what they can do."""
    crm = escape(crm_label(notice.crm))
    record = _record(notice)
    if notice.kind is NoticeKind.CONFLICT:
        changes = "; ".join(_clash_text(c, now=notice.now) for c in notice.clashes)
        return _(
            "Not saved in {crm}: {record} was changed there since you saw it ({changes}). "
            "Your copy now shows {crm}'s values. Apply your change anyway, or keep {crm}'s?"
        ).format(crm=crm, record=record, changes=changes)
    if notice.kind is NoticeKind.FAILED:
        reason = reason_text(notice.reason)
        if notice.can_retry:
            return _(
                "Not saved in {crm}: {record}: {reason}. Your copy shows {crm}'s values again."
            ).format(crm=crm, record=record, reason=reason)
        return _("Not saved in {crm}: {record}: {reason}.").format(
            crm=crm, record=record, reason=reason
        )
    if notice.reason is not None:
        return _("Saved in {crm}: {record}, but {reason}.").format(
            crm=crm, record=record, reason=reason_text(notice.reason)
        )
    return _("Saved in {crm}: {record}.").format(crm=crm, record=record)


def write_notice_blocks(notice: Notice) -> list[Block]:
    """The sentence, and the answers the notice offers (block id ``crm_write:<row id>``)."""
    value = str(notice.row_id)
    crm = crm_label(notice.crm)
    buttons = []
    if notice.kind is NoticeKind.CONFLICT:
        buttons = [
            button(
                _("Apply mine"),
                action_id=ids.CRM_WRITE_APPLY_MINE,
                value=value,
                style="primary",
            ),
            button(
                _("Keep {crm}'s").format(crm=crm),
                action_id=ids.CRM_WRITE_KEEP_THEIRS,
                value=value,
            ),
        ]
    elif notice.kind is NoticeKind.FAILED:
        if notice.can_retry:
            buttons = [button(_("Retry"), action_id=ids.CRM_WRITE_RETRY, value=value)]
        # Nothing more to do about it (the record is gone, say): the user can let it go.
        buttons.append(button(_("Dismiss"), action_id=ids.CRM_WRITE_DISMISS, value=value))
    blocks = [section(write_notice_text(notice))]
    if buttons:
        blocks += actions(buttons, block_id=f"crm_write:{notice.row_id}")
    return blocks


def _record(notice: Notice) -> str:
    if notice.record:
        return _("“{name}”").format(name=escape(notice.record))
    return _(RECORD_KINDS.get(notice.record_kind, UNKNOWN_RECORD))


def _clash_text(clash: Clash, *, now: datetime | None) -> str:
    if clash.who:
        who = escape(clash.who)
    else:
        who = _(AN_AUTOMATION) if clash.by_automation else _(SOMEONE)
    field = _(clash.field)
    if clash.at is None or now is None:
        return _("{who} changed {field}").format(who=who, field=field)
    return _("{who} changed {field} {when}").format(
        who=who, field=field, when=_moment(clash.at, now=now)
    )


def _moment(moment: datetime, *, now: datetime) -> str:
    """ "at 09:14", "yesterday at 09:14", "on Mon 30 Nov at 09:14" (both on one wall clock)."""
    time = clock(moment)
    days = (now.date() - moment.date()).days
    if days == 0:
        return _("at {time}").format(time=time)
    if days == 1:
        return _("yesterday at {time}").format(time=time)
    day = short_day(moment) if moment.year == now.year else full_date(moment)
    return _("on {day} at {time}").format(day=day, time=time)
