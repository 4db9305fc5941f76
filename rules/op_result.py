"""What a write operation tells its caller: done, already done, or refused (and why).

Every write a button or modal triggers returns an :class:`OpResult`. Its ``sentence`` is a
:class:`~rules.translatable.Phrase`: a template marked with ``N_`` and its named values, so
``handlers`` says it in the reader's language (``handlers.render.results.result_sentence``);
``message`` is the same sentence in the source English (logs, the command line, tests).
Times in it are on the reader's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from rules.translatable import Param, Phrase, Plural, phrase
from rules.wording import CantChange, not_found_sentence
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
        sentence: One sentence for the user ("Done: 'Call Acme' completed"), translated
            where it is shown. A plain ``str`` is an unmarked sentence: shown as written
            unless a catalogue knows it (``tests/rules/test_wording_catalogued.py`` lists
            the rules modules that write one).
        record_id: The record acted on (or created), when known.
        by_name: For ALREADY: who did it first ("you" when it was the same user).
        at: For ALREADY: when it was done (UTC).
        follow_up_prompt: After completing a task: ask whether to create a follow-up.
        field: For INVALID: the input the refused value came in, named as the write's
            argument or draft attribute ("subject", "stage_id"...), so a form shows the
            message under that field; None when no one field is at fault.
        note: A second sentence after the first (where the change stands in the CRM).
        crm_rows: The outbox rows the write queued for the connected CRM (none without one).
        crm_state: Where they stood when the click was answered: "saved", "saving" or
            "not_saved" (``rules.crm_writes.queries.Progress``); "saving" answers are
            updated when the rows settle.
        crm_retry: Not saved: the row a Retry button would send again (None: no retry).
    """

    status: OpStatus
    sentence: Phrase | str
    record_id: int | None = None
    by_name: str | None = None
    at: datetime | None = None
    follow_up_prompt: bool = False
    field: str | None = None
    note: Phrase | str | None = None
    crm_rows: tuple[int, ...] = ()
    crm_state: str | None = None
    crm_retry: int | None = None

    @property
    def message(self) -> str:
        """The sentence (and its note) in the source English."""
        return " ".join(str(part) for part in (self.sentence, self.note) if part is not None)

    @property
    def changed(self) -> bool:
        return self.status is OpStatus.DONE

    @property
    def refused(self) -> bool:
        return self.status in {OpStatus.NOT_FOUND, OpStatus.FORBIDDEN, OpStatus.INVALID}


Message = str | Plural | Phrase


def _sentence(message: Message, params: dict[str, Param]) -> Phrase:
    return message if isinstance(message, Phrase) else phrase(message, **params)


def done(
    message: Message,
    record_id: int | None = None,
    *,
    follow_up_prompt: bool = False,
    **params: Param,
) -> OpResult:
    """DONE: ``done(say.COMPLETED, task.id, task=...)``; ``params`` fill the template."""
    return OpResult(
        OpStatus.DONE, _sentence(message, params), record_id, follow_up_prompt=follow_up_prompt
    )


def already(
    message: Message,
    record_id: int | None = None,
    *,
    by_name: str | None = None,
    at: datetime | None = None,
    **params: Param,
) -> OpResult:
    return OpResult(OpStatus.ALREADY, _sentence(message, params), record_id, by_name=by_name, at=at)


def not_found(kind: str, record_id: int | None = None) -> OpResult:
    """NOT_FOUND about a record of ``kind`` ("task", "deal"...: ``rules.wording.NOT_FOUND``)."""
    return OpResult(OpStatus.NOT_FOUND, phrase(not_found_sentence(kind)), record_id)


def forbidden(message: Message, record_id: int | None = None, **params: Param) -> OpResult:
    return OpResult(OpStatus.FORBIDDEN, _sentence(message, params), record_id)


def invalid(
    message: Message, record_id: int | None = None, *, field: str | None = None, **params: Param
) -> OpResult:
    return OpResult(OpStatus.INVALID, _sentence(message, params), record_id, field=field)


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
    sentences: CantChange,
    noun: str,
    record_id: int,
    owner_id: int | None,
    visible: bool,
) -> OpResult:
    """Why ``actor`` may not change a record: every such refusal goes through here.

    ``sentences`` (the feature's ``CANT_CHANGE``) names the owner only when ``actor`` may
    see the record; otherwise the refusal says what a record that does not exist says
    (about a ``noun``), so it never discloses who owns something the actor cannot see, or
    that it exists.
    """
    if not visible:
        return not_found(noun, record_id)
    if owner_id is None:
        return forbidden(sentences.unassigned, record_id)
    if owner_id == actor.id:
        return forbidden(sentences.yours, record_id)
    owner = session.get(User, owner_id)
    if owner is None:
        return forbidden(sentences.unassigned, record_id)
    return forbidden(sentences.theirs, record_id, name=owner.name)
