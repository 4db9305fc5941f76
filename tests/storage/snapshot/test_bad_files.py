"""A file with any problem is refused with a located message and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import User
from storage.snapshot import SnapshotError, import_snapshot
from tests.builders import CRM
from tests.storage.snapshot.conftest import EXAMPLE, dump


def _wrong_type(doc: dict[str, Any]) -> None:
    doc["deals"][0]["amount"] = "a lot"


def _unknown_stage(doc: dict[str, Any]) -> None:
    doc["deals"][0]["stage"] = "foo"


def _unknown_contact(doc: dict[str, Any]) -> None:
    doc["activities"][3]["contacts"] = ["ct-2", "ct-404"]


def _duplicate_id(doc: dict[str, Any]) -> None:
    doc["activities"].append(dict(doc["activities"][2]))


def _invalid_time_zone(doc: dict[str, Any]) -> None:
    doc["users"][1]["timezone"] = "Europe/Atlantis"


def _naive_datetime(doc: dict[str, Any]) -> None:
    doc["activities"][1]["due_at"] = "2026-03-11T16:00:00"


def _unknown_field(doc: dict[str, Any]) -> None:
    doc["contacts"][0]["nickname"] = "Lenny"


def _unknown_top_level_key(doc: dict[str, Any]) -> None:
    doc["tickets"] = []


def _wrong_version(doc: dict[str, Any]) -> None:
    doc["version"] = 2


def _missing_required(doc: dict[str, Any]) -> None:
    del doc["companies"][0]["created_at"]


def _nested_problem(doc: dict[str, Any]) -> None:
    doc["deals"][0]["scores"][1]["score"] = 140


BAD_FILES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_wrong_type, "deals[0].amount: expected a number, got string"),
    (_unknown_stage, "deals[0].stage: unknown stage 'foo' in pipeline 'default'"),
    (_unknown_contact, "activities[3].contacts: unknown contact 'ct-404'"),
    (_duplicate_id, "activities[7]: duplicate id 'task-2' in the file"),
    (_invalid_time_zone, "users[1].timezone: unknown IANA time zone 'Europe/Atlantis'"),
    (_naive_datetime, "activities[1].due_at: naive date-time '2026-03-11T16:00:00'"),
    (_unknown_field, "contacts[0].nickname: unknown field"),
    (_unknown_top_level_key, "tickets: unknown top-level key"),
    (_wrong_version, "version: unsupported version 2 (this salesbot reads version 1)"),
    (_missing_required, "companies[0].created_at: required"),
    (_nested_problem, "deals[0].scores[1].score: 140 is out of range 0..100"),
]


@pytest.mark.parametrize(
    ("spoil", "message"), BAD_FILES, ids=[spoil.__name__[1:] for spoil, _ in BAD_FILES]
)
def test_a_bad_file_is_refused_and_changes_nothing(
    any_engine: Engine,
    now: datetime,
    example: dict[str, Any],
    write_file: Callable[[Any], Path],
    spoil: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    # The bad file also changes good records: none of that may land.
    example["users"][0]["name"] = "Mara Lind-Berg"
    example["deals"][0]["next_step"] = "Sign"
    spoil(example)
    before, file_before = dump(any_engine), _sqlite_bytes(any_engine)

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(any_engine, write_file(example), now=now)

    assert any(str(p).startswith(message) for p in refused.value.problems), [
        str(p) for p in refused.value.problems
    ]
    assert dump(any_engine) == before
    assert _sqlite_bytes(any_engine) == file_before


def test_a_truncated_file_is_refused(
    any_engine: Engine, now: datetime, write_file: Callable[[Any], Path]
) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    before, file_before = dump(any_engine), _sqlite_bytes(any_engine)
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["users"][0]["name"] = "Changed before the cut"
    data = json.dumps(document).encode()

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(any_engine, write_file(data[: len(data) * 2 // 3]), now=now)

    # Named by the record it ends in.
    [problem] = refused.value.problems
    assert problem.path.startswith("activities[") and "truncated" in problem.message
    assert dump(any_engine) == before
    assert _sqlite_bytes(any_engine) == file_before


def _sqlite_bytes(engine: Engine) -> bytes | None:
    """The SQLite database file's bytes, all changes checkpointed (None on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return Path(str(engine.url.database)).read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file: the file is empty"),
        (b"[1, 2]", "file: the top level must be a JSON object"),
        (b'{"version": 1, "users": []}', "format: missing"),
        (b'{"format": "hubspot", "version": 1}', "format: expected 'salesbot-snapshot'"),
        (
            b'{"format": "salesbot-snapshot", "version": 1, "deals": [], "users": []}',
            "users: out of order",
        ),
        (b'{"format": "salesbot-snapshot", "version": 1, "users": {}}', "users: expected an array"),
        (
            b'{"format": "salesbot-snapshot", "version": 1, "users": [7]}',
            "users[0]: expected an object",
        ),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(
    sqlite_engine: Engine,
    now: datetime,
    write_file: Callable[[Any], Path],
    content: bytes,
    message: str,
) -> None:
    with pytest.raises(SnapshotError) as refused:
        import_snapshot(sqlite_engine, write_file(content), now=now)

    assert str(refused.value.problems[0]).startswith(message)


def test_the_sqlite_file_is_byte_for_byte_unchanged(
    sqlite_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    import_snapshot(sqlite_engine, EXAMPLE, now=now)
    sqlite_engine.dispose()  # checkpoint the WAL into the main file
    database = Path(str(sqlite_engine.url.database))
    before = database.read_bytes()
    example["deals"][0]["name"] = "Renamed"
    example["activities"].append(dict(example["activities"][0], id="mtg-2", owner="nobody"))

    with pytest.raises(SnapshotError):
        import_snapshot(sqlite_engine, write_file(example), now=now)
    sqlite_engine.dispose()

    assert database.read_bytes() == before


def test_problems_are_reported_up_to_the_limit_then_reading_stops(
    sqlite_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    template = example["activities"][-1]
    example["activities"] = [dict(template, id=f"n-{i}", kind="memo") for i in range(50)]

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(sqlite_engine, write_file(example), now=now, max_problems=20)

    assert len(refused.value.problems) == 20
    assert refused.value.stopped_early
    assert str(refused.value.problems[0]).startswith("activities[0].kind: unknown value 'memo'")


def test_a_user_email_taken_by_another_user_is_refused(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    example["users"][2]["email"] = "mara@seller.example"

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(any_engine, write_file(example), now=now)

    assert [str(p) for p in refused.value.problems] == [
        "users[2].email: 'mara@seller.example' already belongs to user '101'"
    ]


def test_a_user_email_differing_only_in_case_is_refused_naming_both(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    example["users"][2]["email"] = "MARA@Seller.example"

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(any_engine, write_file(example), now=now)

    assert [str(p) for p in refused.value.problems] == [
        "users[2].email: 'MARA@Seller.example' already belongs to user '101' "
        "(as 'mara@seller.example'; emails are compared regardless of case)"
    ]
    with Session(any_engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_the_database_refuses_two_users_with_one_email_in_different_case(
    any_engine: Engine, now: datetime
) -> None:
    """Whatever writes users, the unique index on the lower-cased email holds."""
    with Session(any_engine) as session:
        crm = CRM(session, now)
        crm.user(email="dana@x.example")
        session.commit()
        with pytest.raises(IntegrityError):
            crm.user(email="DANA@x.example")


def test_a_goal_given_twice_is_named_by_user_and_metric(
    sqlite_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    example["goals"].append(dict(example["goals"][0], weekly_target=9))

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(sqlite_engine, write_file(example), now=now)

    assert [str(p) for p in refused.value.problems] == [
        "goals[2]: duplicate goal 'meetings_booked' for user '102' in the file"
    ]


# --- hostile bytes and values: refused by record and field, never a traceback ---------------

_MARA = '"name": "Mara Lind"'


def _with(edit: Callable[[str], str]) -> bytes:
    text = EXAMPLE.read_text("utf-8")
    edited = edit(text)
    assert edited != text
    return edited.encode("utf-8")


def _set(section: str, index: int, field: str, value: Any) -> bytes:
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document[section][index][field] = value
    return json.dumps(document).encode()


HOSTILE: dict[str, tuple[bytes, str, str]] = {
    "lone surrogate": (
        _with(lambda t: t.replace(_MARA, '"name": "Mara \\udfff Lind"', 1)),
        "users[0].name",
        "lone surrogate",
    ),
    "surrogate in an id": (
        _with(lambda t: t.replace('"id": "101"', '"id": "1\\udfff"', 1)),
        "users[0].id",
        "lone surrogate",
    ),
    "NUL character": (
        _with(lambda t: t.replace(_MARA, '"name": "Mara\\u0000Lind"', 1)),
        "users[0].name",
        "NUL character",
    ),
    "overflow in UTC": (
        _set("deals", 0, "created_at", "9999-12-31T23:59:59-14:00"),
        "deals[0].created_at",
        "out of range once converted to UTC",
    ),
    "underflow in UTC": (
        _set("deals", 0, "created_at", "0001-01-01T00:00:00+14:00"),
        "deals[0].created_at",
        "out of range once converted to UTC",
    ),
    "NaN": (
        _with(lambda t: t.replace('"amount": 48000.5', '"amount": NaN', 1)),
        "deals[0].amount",
        "NaN and Infinity are not JSON numbers",
    ),
    "Infinity": (
        _with(lambda t: t.replace('"amount": 48000.5', '"amount": -Infinity', 1)),
        "deals[0].amount",
        "NaN and Infinity are not JSON numbers",
    ),
    "negative amount": (_set("deals", 0, "amount", -5), "deals[0].amount", "negative"),
    "non-geographic zone": (
        _set("users", 0, "timezone", "Factory"),
        "users[0].timezone",
        "no place's time zone",
    ),
    "key given twice": (
        _with(lambda t: t.replace(_MARA, '"name": "Someone", ' + _MARA, 1)),
        "users[0].name",
        "given twice in one record",
    ),
    "not UTF-8": (
        _with(lambda t: t.replace(_MARA, '"name": "Mara Lind\x00"', 1)).replace(b"\x00", b"\xff"),
        "users[0].name",
        "not UTF-8 at byte",
    ),
    "UTF-8 byte-order mark": (
        b"\xef\xbb\xbf" + EXAMPLE.read_bytes(),
        "file",
        "byte-order mark (byte 0)",
    ),
    "UTF-16": (EXAMPLE.read_text("utf-8").encode("utf-16"), "file", "UTF-16"),
    "UTF-16 without a mark": (EXAMPLE.read_text("utf-8").encode("utf-16-le"), "file", "UTF-16"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_bytes_and_values_are_refused_by_record_and_field(
    any_engine: Engine, now: datetime, tmp_path: Path, case: str
) -> None:
    data, path, message = HOSTILE[case]
    source = tmp_path / "hostile.json"
    source.write_bytes(data)

    with pytest.raises(SnapshotError) as refused:
        import_snapshot(any_engine, source, now=now)

    first = refused.value.problems[0]
    assert (first.path, message in first.message) == (path, True), str(first)
    with Session(any_engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_not_utf8_names_the_byte_offset(
    sqlite_engine: Engine, now: datetime, tmp_path: Path
) -> None:
    data, _, _ = HOSTILE["not UTF-8"]
    source = tmp_path / "latin1.json"
    source.write_bytes(data)
    offset = data.index(bytes([0xFF]))
    with pytest.raises(SnapshotError) as refused:
        import_snapshot(sqlite_engine, source, now=now)
    assert f"not UTF-8 at byte {offset}" in refused.value.problems[0].message
