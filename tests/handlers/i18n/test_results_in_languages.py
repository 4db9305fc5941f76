"""What a click answers, in German and in the pseudo-locale: each kind of ``OpResult`` a write
returns is said in the reader's language, the words it carries as values included."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from handlers.i18n import use_language, use_translations
from handlers.render.results import result_sentence
from rules.deals.ops import DealChange, update_deal
from rules.meetings.ops import log_meeting_outcome
from rules.op_result import OpResult, OpStatus, done
from rules.tasks.ops import TaskEdit, complete_task, edit_task, reassign_task, reschedule_task
from storage.models import DealVisibility
from tests.builders import CRM
from tests.support.pseudo import pseudo_language

DUE = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def _german(result: OpResult) -> str:
    with use_language("de"):
        return result_sentence(result)


def test_a_done_result_reads_german(session: Session, crm: CRM, now: datetime) -> None:
    ana = crm.user(name="Ana")
    task = crm.task(ana, subject="Call Acme", due_at=DUE)

    completed = complete_task(session, ana, task.id, now=now)

    assert completed.status is OpStatus.DONE
    assert _german(completed) == "Erledigt: „Call Acme“ ist abgeschlossen."


def test_an_already_result_names_who_and_when_in_german(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(name="Ana")
    task = crm.task(ana, subject="Call Acme", due_at=DUE)
    complete_task(session, ana, task.id, now=now)

    again = complete_task(session, ana, task.id, now=now)

    assert again.status is OpStatus.ALREADY
    assert _german(again) == "„Call Acme“ wurde bereits von dir um 15:30 erledigt."


def test_a_time_of_day_reads_as_the_readers_locale_writes_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    """CLDR's short time: "3:30 PM" for en-US, "15:30" for en-GB (the default English) and
    German."""
    ana = crm.user(name="Ana")
    task = crm.task(ana, subject="Call Acme", due_at=DUE)
    complete_task(session, ana, task.id, now=now)
    again = complete_task(session, ana, task.id, now=now)

    def said(code: str, slack_locale: str | None) -> str:
        with use_language(code, slack_locale=slack_locale):
            return result_sentence(again)

    assert (
        said("en", "en-US") == "'Call Acme' was already completed by you at 3:30\u202fPM."
    )  # CLDR: a narrow no-break space
    assert said("en", "en-GB") == "'Call Acme' was already completed by you at 15:30."
    assert said("en", None) == "'Call Acme' was already completed by you at 15:30."
    assert said("de", "de-DE") == "„Call Acme“ wurde bereits von dir um 15:30 erledigt."


def test_refusals_read_german(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    ana = crm.user(name="Ana", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    ben = crm.user(name="Ben", team_id=team.id)
    bens = crm.task(ben, subject="Ben's call", due_at=DUE)
    mine = crm.task(ana, subject="Call Acme", due_at=DUE)

    missing = complete_task(session, ana, 2_000_000, now=now)
    forbidden = complete_task(session, ana, bens.id, now=now)
    junk = reschedule_task(session, ana, mine.id, to="someday", now=now)
    too_long = edit_task(session, ana, mine.id, edit=TaskEdit(notes="x" * 10_001), now=now)

    assert [r.status for r in (missing, forbidden, junk, too_long)] == [
        OpStatus.NOT_FOUND,
        OpStatus.FORBIDDEN,
        OpStatus.INVALID,
        OpStatus.INVALID,
    ]
    assert _german(missing) == (
        "Diese Aufgabe gibt es nicht mehr oder gab es nie. "
        "Aktualisiere die Ansicht und versuch es noch einmal."
    )
    assert _german(forbidden) == "Du kannst die Aufgabe von Ben nicht ändern."
    assert _german(junk) == "Wähle morgen, nächste Woche oder ein Datum."
    # The limit is a number: German groups its thousands with a dot.
    assert _german(too_long) == "Die Notizen dürfen höchstens 10.000 Zeichen lang sein."


def test_days_lists_and_outcomes_inside_a_sentence_read_german(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(name="Ana")
    task = crm.task(ana, subject="Call Acme", due_at=DUE)
    deal = crm.deal(ana, name="Acme renewal")
    sent = crm.stage("contractsent")
    demo = crm.meeting(ana, subject="Demo", starts_at=datetime(2026, 3, 10, 9, tzinfo=UTC))

    moved = reschedule_task(session, ana, task.id, to=date(2026, 3, 20), now=now)
    mine = reassign_task(session, ana, task.id, new_owner_id=ana.id, now=now)
    updated = update_deal(
        session,
        ana,
        deal.id,
        change=DealChange(stage_id=sent.id, close_date=date(2027, 4, 2), next_step="Sign"),
        now=now,
    )
    logged = log_meeting_outcome(session, ana, demo.id, outcome="no_show", now=now)

    assert _german(moved) == "Erledigt: „Call Acme“ ist jetzt am Fr., 20. März um 10:00 fällig."
    assert _german(mine) == "„Call Acme“ ist bereits dir zugewiesen."
    # The stage is the CRM's own name: kept as written.
    assert _german(updated) == (
        "Erledigt: „Acme renewal“ aktualisiert "
        "(Phase Contract sent, Abschlussdatum Fr., 2. Apr. 2027, nächster Schritt)."
    )
    assert _german(logged) == "Erledigt: Ergebnis Nicht erschienen für „Demo“ erfasst."


def test_an_unmarked_sentence_is_shown_as_written() -> None:
    # Another feature's message not catalogued yet: English, but shown whole and unbroken.
    assert _german(done("Done: {odd} braces stay.")) == "Done: {odd} braces stay."


# The pseudo-locale --------------------------------------------------------------------------

# Text that is data, not wording: the CRM's names and subjects used below, numbers, and the
# day and month names CLDR writes (English in the pseudo-locale).
_DATA = re.compile(
    r"Call Acme|Acme renewal|Contract sent|Demo|Sign|Ana|Ben's call|Ben|\d+"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
)


def _results(session: Session, crm: CRM, now: datetime) -> list[Callable[[], OpResult]]:
    team = crm.team()
    ana = crm.user(name="Ana", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    ben = crm.user(name="Ben", team_id=team.id)
    task = crm.task(ana, subject="Call Acme", due_at=DUE)
    other = crm.task(ana, subject="Call Acme", due_at=DUE)
    bens = crm.task(ben, subject="Ben's call", due_at=DUE)
    deal = crm.deal(ana, name="Acme renewal")
    demo = crm.meeting(ana, subject="Demo", starts_at=datetime(2026, 3, 10, 9, tzinfo=UTC))
    sent = crm.stage("contractsent")
    return [
        lambda: reschedule_task(session, ana, task.id, to="tomorrow", now=now),
        lambda: reschedule_task(session, ana, task.id, to="tomorrow", now=now),
        lambda: reschedule_task(session, ana, task.id, to=date(2026, 3, 20), now=now),
        lambda: reassign_task(session, ana, task.id, new_owner_id=ana.id, now=now),
        lambda: reassign_task(session, ana, other.id, new_owner_id=ben.id, now=now),
        lambda: complete_task(session, ana, task.id, now=now),
        lambda: complete_task(session, ana, task.id, now=now),
        lambda: complete_task(session, ana, bens.id, now=now),
        lambda: complete_task(session, ana, "junk", now=now),
        lambda: complete_task(session, ana, 2_000_000, now=now),
        lambda: edit_task(session, ana, bens.id, edit=TaskEdit(subject=" "), now=now),
        lambda: update_deal(
            session, ana, deal.id, change=DealChange(stage_id=sent.id, next_step="Sign"), now=now
        ),
        lambda: update_deal(session, ana, deal.id, change=DealChange(next_step="Sign"), now=now),
        lambda: log_meeting_outcome(session, ana, demo.id, outcome="no_show", now=now),
        lambda: log_meeting_outcome(session, ana, demo.id, outcome="no_show", now=now),
        lambda: log_meeting_outcome(session, ana, demo.id, outcome="maybe", now=now),
    ]


def test_the_pseudo_locale_leaves_no_english_in_any_result(
    session: Session, crm: CRM, now: datetime
) -> None:
    said = []
    for operation in _results(session, crm, now):
        result = operation()
        with use_translations(pseudo_language()):
            said.append(result_sentence(result))
    # Every catalogued word is accented: an ASCII word left over is English nobody translated.
    english = [(text, re.findall(r"[A-Za-z]{2,}", _DATA.sub("", text))) for text in said]
    assert [(text, words) for text, words in english if words] == []
