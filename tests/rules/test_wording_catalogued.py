"""Every sentence the domain gives an ``OpResult`` (or a ``Phrase``) is in the catalogue.

Read from the code: each call of ``done``, ``already``, ``forbidden``, ``invalid``,
``OpResult``, ``phrase`` or ``Phrase`` in ``rules/`` (and each ``refused_change``'s
sentences) must name a template that ``make messages`` extracted into the ``.pot``. An
f-string, an unmarked literal or a value the test cannot follow back to a module constant is
listed with its place, so an English sentence never reaches a German reader unnoticed.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from handlers.i18n import LOCALE_DIR
from rules.translatable import Plural

ROOT = Path(__file__).resolve().parents[2]
SENTENCE_TAKERS = {"done", "already", "forbidden", "invalid", "phrase", "Phrase"}
# Where the constructors themselves are written: their arguments are parameters.
MACHINERY = {"rules/op_result.py", "rules/translatable.py"}
_UNKNOWN = object()


def _catalogued() -> tuple[set[str], set[tuple[str, str]]]:
    with (LOCALE_DIR / "salesbot.pot").open("rb") as handle:
        catalog = read_po(handle)
    singular = {m.id for m in catalog if isinstance(m.id, str)}
    plural = {(m.id[0], m.id[1]) for m in catalog if not isinstance(m.id, str)}
    return singular, plural


def _sentence_arguments(tree: ast.AST) -> Iterator[ast.expr]:
    """The template argument of every call that takes one."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if isinstance(node.func, ast.Attribute):
            name = node.func.attr
        if name in SENTENCE_TAKERS and node.args:
            yield node.args[0]
        elif name == "OpResult" and len(node.args) > 1:
            yield node.args[1]
        elif name == "refused_change":
            yield from (k.value for k in node.keywords if k.arg == "sentences")


def _values(node: ast.expr, namespace: dict[str, Any]) -> list[object]:
    """What ``node`` can evaluate to, followed through constants, tables and branches."""
    if isinstance(node, ast.IfExp):
        return _values(node.body, namespace) + _values(node.orelse, namespace)
    if isinstance(node, ast.Subscript):  # a table looked up with a run-time key
        return [v for table in _values(node.value, namespace) for v in _table_values(table)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
    ):  # table.get(key, default)
        found = [v for t in _values(node.func.value, namespace) for v in _table_values(t)]
        return found + (_values(node.args[1], namespace) if len(node.args) > 1 else [])
    if isinstance(node, ast.JoinedStr):
        return [_UNKNOWN]
    try:
        return [eval(compile(ast.Expression(node), "<template>", "eval"), namespace)]
    except Exception:  # a local variable: nothing to follow it back to
        return [_UNKNOWN]


def _table_values(table: object) -> list[object]:
    return list(table.values()) if isinstance(table, dict) else [_UNKNOWN]


def _templates(value: object) -> Iterator[object]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Plural):
            yield value
            return
        for item in dataclasses.astuple(value):
            yield from _templates(item)
    else:
        yield value


def _problems(path: Path, singular: set[str], plural: set[tuple[str, str]]) -> Iterator[str]:
    relative = path.relative_to(ROOT).as_posix()
    module = importlib.import_module(relative.removesuffix(".py").replace("/", "."))
    for argument in _sentence_arguments(ast.parse(path.read_text("utf-8"))):
        where = f"{relative}:{argument.lineno}: {ast.unparse(argument)[:70]}"
        for value in _values(argument, vars(module)):
            for template in _templates(value):
                if isinstance(template, Plural):
                    if (template.singular, template.plural) not in plural:
                        yield f"{where}: plural not in the catalogue"
                elif not isinstance(template, str):
                    yield f"{where}: not a module constant marked with N_"
                elif template not in singular:
                    yield f"{where}: {template[:60]!r} not in the catalogue"


def test_every_sentence_of_the_domain_is_catalogued() -> None:
    singular, plural = _catalogued()
    problems = [
        problem
        for path in sorted((ROOT / "rules").rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in MACHINERY
        for problem in _problems(path, singular, plural)
    ]
    assert problems == [], "mark these with N_, then `make messages`:\n" + "\n".join(problems)


def test_the_check_sees_an_unmarked_sentence() -> None:
    # The test above is only as good as its reading of calls: show it a bad one.
    tree = ast.parse('done(f"Sent to {crm}.", 1)\ninvalid("Pick one.", field="x")')
    found = [_values(arg, {}) for arg in _sentence_arguments(tree)]
    assert found == [[_UNKNOWN], ["Pick one."]]
    assert "Pick one." not in _catalogued()[0]
