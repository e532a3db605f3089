"""The values a param may take: declared (``choices:``) or derived from how the file uses it.

A param that only *selects* — compared with constants (``${pooling == 'maxpool'}``,
``${form in ['paper', 'owt']}``) or used as a table key (``${stage_blocks[depth]}``) —
has a closed set of meaningful values: any other value would silently take none
of the branches (``pooling=avg`` dropping both pooling layers of LeNet-5). Such a
param's allowed values are derived here: the table keys it indexes (every table
it indexes must have the key), else the constants it is compared with, plus its
default (unless it is a near miss of one of them, ``maxpol`` for ``maxpool``: a
typo). A param used anywhere as a free value (``units: $classes``,
``${4 * filters}``) gets no derived set. A file may declare the set itself::

    choices: {pooling: [subsample, maxpool, l2pool]}

The check itself runs in expansion, once the params' final values are known.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator
from typing import Any

from kzoo.lang.expr import expressions

_SELECTING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)  # comparisons that pick a value


def _strings(value: Any, top: bool = False) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if top and k in ("name", "params", "choices", "tables", "weights"):  # these select no layer
                continue
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _local_names(data: Any) -> set[str]:
    """Names that may shadow a param inside a body: loop variables and block arguments."""
    out: set[str] = set()
    blocks = data.get("blocks") if isinstance(data, dict) else None
    for bdef in (blocks or {}).values():
        if isinstance(bdef, dict) and isinstance(bdef.get("args"), dict):
            out.update(map(str, bdef["args"]))

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if "repeat" in v:
                out.add(str(v.get("var", "i")))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data)
    return out


def _constants(node: ast.AST) -> list[Any] | None:
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and all(isinstance(e, ast.Constant) for e in node.elts):
        return [e.value for e in node.elts]
    return None


class _Uses(ast.NodeVisitor):
    """Each param's selecting uses (compared constants, indexed tables) and whether it is used freely."""

    def __init__(self, params: set[str], tables: dict[str, Any]):
        self.params, self.tables = params, tables
        self.compared: dict[str, list[Any]] = {}
        self.indexed: dict[str, list[set]] = {}
        self.free: set[str] = set()

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            left, right = operands[i], operands[i + 1]
            if not isinstance(op, _SELECTING):
                continue
            membership = isinstance(op, (ast.In, ast.NotIn))
            for a, b in ((left, right),) if membership else ((left, right), (right, left)):
                consts = _constants(b)
                if isinstance(a, ast.Name) and a.id in self.params and consts is not None:
                    if membership != isinstance(b, ast.Constant):
                        self.compared.setdefault(a.id, []).extend(consts)
                        a.kzoo_selecting = True  # type: ignore[attr-defined]
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        table, key = node.value, node.slice
        if isinstance(table, ast.Name) and table.id in self.tables and isinstance(key, ast.Name):
            if key.id in self.params and isinstance(self.tables[table.id], dict):
                self.indexed.setdefault(key.id, []).append(set(self.tables[table.id]))
                key.kzoo_selecting = True  # type: ignore[attr-defined]
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.params and not getattr(node, "kzoo_selecting", False):
            self.free.add(node.id)


def _near_miss(default: Any, compared: set[Any]) -> bool:
    """Whether a string default is a misspelling of a value the file compares the param with (``maxpol`` for
    ``maxpool``): then it is no ``else`` branch but a typo, and the param's check refuses it."""
    if not isinstance(default, str) or default in compared:
        return False
    return bool(difflib.get_close_matches(default, [c for c in compared if isinstance(c, str)], n=1, cutoff=0.8))


def derived_choices(data: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    """param -> its allowed values, for the params that only select (see the module docstring).

    ``defaults``: each param's value in the file that first declares it (the base of ``extends``), which is
    allowed even when nothing compares with it (the ``else`` of an ``if``); a later file's value is not.
    """
    params = data.get("params") or {}
    defaults = params if defaults is None else defaults
    tables = data.get("tables") or {}
    names = set(params) - _local_names(data)
    uses = _Uses(names, tables)
    for text in _strings(data, top=True):
        for expr in expressions(text):
            try:
                tree = ast.parse(expr.strip(), mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue  # reported, located, when the expression is evaluated
            # Compare and Subscript mark their Name operands before the names are visited.
            for node in ast.walk(tree):
                if isinstance(node, ast.Compare):
                    uses.visit_Compare(node)
                elif isinstance(node, ast.Subscript):
                    uses.visit_Subscript(node)
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    uses.visit_Name(node)
    out: dict[str, list[Any]] = {}
    for name in names:
        if name in uses.free or (name not in uses.compared and name not in uses.indexed):
            continue
        if name in uses.indexed:
            allowed = set.intersection(*uses.indexed[name])
        else:
            allowed = set(uses.compared[name])
            if name in defaults and not _near_miss(defaults[name], allowed):
                allowed.add(defaults[name])
        out[name] = sorted(allowed, key=lambda v: (type(v).__name__, v if isinstance(v, (int, float)) else str(v)))
    return out


def allowed_values(data: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    """Declared ``choices:`` over the derived ones."""
    declared = data.get("choices") or {}
    derived = derived_choices(data, defaults)
    return {**derived, **{k: list(v) for k, v in declared.items() if isinstance(v, list)}}


def is_allowed(value: Any, allowed: list[Any]) -> bool:
    """``value in allowed``, but True is not 1 and '1' is not 1."""
    for v in allowed:
        same_kind = (isinstance(v, bool) == isinstance(value, bool)) and (
            type(v) is type(value) or (isinstance(v, (int, float)) and isinstance(value, (int, float)))
        )
        if same_kind and v == value:
            return True
    return False
