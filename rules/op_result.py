"""What a write operation tells its caller: done, already done, or refused (and why).

Every write a button or modal triggers returns an :class:`OpResult`. Handlers render its
``message`` as is, so the sentence is written for the person who clicked, in their zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from rules.wording import NOT_FOUND, possessive
from storage.models import User

# Ids come from Slack payloads that anyone can edit: keep them in the database's integer range.
_MAX_ID = 2**31 - 1


class OpStatus(StrEnum):
    DONE = "done"  # the change was made
    ALREADY = "already"  # nothing to do: it was done before (by this user or someone else)
    NOT_FOUND = "not_found"  # no such record
    FORBIDDEN = "forbidden"  # the record exists but this user may not change it
    INVALID = "invalid"  # missing id, junk value, or a value the record cannot take


@dataclass(frozen=True)
class OpResult:
    """The outcome of one write.

    Attributes:
        status: What happened.
        message: One sentence for the user ("Done: 'Call Acme' completed").
        record_id: The record acted on (or created), when known.
        by_name: For ALREADY: who did it first ("you" when it was the same user).
        at: For ALREADY: when it was done (UTC).
        follow_up_prompt: After completing a task: ask whether to create a follow-up.
        field: For INVALID: the input the refused value came in, named as the write's
            argument or draft attribute ("subject", "stage_id"...), so a form shows the
            message under that field; None when no one field is at fault.
    """

    status: OpStatus
    message: str
    record_id: int | None = None
    by_name: str | None = None
    at: datetime | None = None
    follow_up_prompt: bool = False
    field: str | None = None

    @property
    def changed(self) -> bool:
        return self.status is OpStatus.DONE

    @property
    def refused(self) -> bool:
        return self.status in {OpStatus.NOT_FOUND, OpStatus.FORBIDDEN, OpStatus.INVALID}


def done(message: str, record_id: int | None = None, *, follow_up_prompt: bool = False) -> OpResult:
    return OpResult(OpStatus.DONE, message, record_id, follow_up_prompt=follow_up_prompt)


def already(
    message: str,
    record_id: int | None = None,
    *,
    by_name: str | None = None,
    at: datetime | None = None,
) -> OpResult:
    return OpResult(OpStatus.ALREADY, message, record_id, by_name=by_name, at=at)


def not_found(what: str, record_id: int | None = None) -> OpResult:
    return OpResult(OpStatus.NOT_FOUND, NOT_FOUND.format(what=what), record_id)


def forbidden(message: str, record_id: int | None = None) -> OpResult:
    return OpResult(OpStatus.FORBIDDEN, message, record_id)


def invalid(message: str, record_id: int | None = None, *, field: str | None = None) -> OpResult:
    return OpResult(OpStatus.INVALID, message, record_id, field=field)


def parse_id(raw: object) -> int | None:
    """A record id from an untrusted payload value, or None when it is missing or junk.

    Accepts a positive int or its decimal string (surrounding spaces allowed); anything else,
    including bools, signs, floats and ids past the database's range, is None.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
    else:
        return None
    return value if 0 < value <= _MAX_ID else None


def refused_change(
    session: Session,
    actor: User,
    *,
    sentence: str,
    noun: str,
    record_id: int,
    owner_id: int | None,
    visible: bool,
) -> OpResult:
    """Why ``actor`` may not change a record: every such refusal goes through here.

    ``sentence`` (the feature's ``CANT_CHANGE``, with ``{whose}``) names the owner only when
    ``actor`` may see the record; otherwise the refusal says what a record that does not
    exist says (about a ``noun``), so it never discloses who owns something the actor cannot
    see, or that it exists.
    """
    if not visible:
        return not_found(noun, record_id)
    whose = possessive(session, owner_id, actor=actor)
    return forbidden(sentence.format(whose=whose, kind=noun), record_id)
