"""``${…}`` expressions: a small, safe evaluator (never ``eval``).

A string value is an expression when it is ``$name`` or contains
``${expr}``. A string that is exactly one ``${expr}`` takes the value's
type (``"${4 * filters}"`` is an int); otherwise each ``${expr}`` is
formatted into the string (``"stage${s + 2}"``).

The expression syntax is Python's, parsed by :mod:`ast`, restricted to:
numbers, strings, booleans, ``null``/``None``, names, list literals,
``+ - * / // % **``, comparisons, ``and or not``, ``a if c else b``,
indexing (``stages[depth][s]``) and the functions in :data:`FUNCTIONS`.
Anything else — attributes, lambdas, comprehensions, other calls — is a
:class:`SpecError`. Results are bounded so no expression can hang.

Example::

    conv: {filters: "${64 * 2**s}", stride: "${1 if b > 0 else 2}"}
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean, short

_EXPR = re.compile(r"\$\{([^{}]*)\}")
_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
MAX_INT_BITS = 256
MAX_LEN = 10_000

FUNCTIONS = {
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "int": int,
    "float": float,
    "round": round,
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": math.sqrt,
    "sum": sum,
}

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def expressions(text: str) -> list[str]:
    """The expressions in a string: ``$name`` gives ``name``, each ``${expr}`` its ``expr``."""
    name = _NAME.match(text)
    return [name.group(1)] if name else _EXPR.findall(text)


def bare_name(text: str) -> str | None:
    """The param a string is and nothing else (``$pooling``, ``${pooling}``), else None."""
    text = text.strip()
    name = _NAME.match(text)
    if name:
        return name.group(1)
    whole = _EXPR.fullmatch(text)
    return whole.group(1).strip() if whole and whole.group(1).strip().isidentifier() else None


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and (bool(_NAME.match(value)) or "${" in value)


class _Eval:
    def __init__(self, env: Mapping[str, Any], text: str, mark: Mark | None, path: str | None):
        self.env, self.text, self.mark, self.path = env, text, mark, path

    def fail(self, message: str, hint: str | None = None) -> SpecError:
        return SpecError(f"in expression {short(self.text, 80)}: {message}", self.mark, self.path, hint)

    def __call__(self, node: ast.AST) -> Any:
        method = getattr(self, "on_" + type(node).__name__, None)
        if method is None:
            raise self.fail(
                f"{type(node).__name__} is not allowed",
                "expressions allow arithmetic, comparisons, 'if/else', indexing and " + ", ".join(sorted(FUNCTIONS)),
            )
        return self.bound(method(node))

    def bound(self, value: Any) -> Any:
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise self.fail("number too large")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(f"the result is {value}", "expressions must give finite numbers")
        if isinstance(value, (str, list)) and len(value) > MAX_LEN:
            raise self.fail("value too long")
        return value

    def on_Expression(self, node: ast.Expression) -> Any:
        return self(node.body)

    def on_Constant(self, node: ast.Constant) -> Any:
        if node.value is not None and not isinstance(node.value, (int, float, str, bool)):
            raise self.fail(f"constant {node.value!r} is not allowed")
        return node.value

    def on_Name(self, node: ast.Name) -> Any:
        aliases = {"true": True, "false": False, "null": None, "None": None}
        if node.id in self.env:
            return self.env[node.id]
        if node.id in aliases:
            return aliases[node.id]
        raise self.fail(f"undefined name {node.id!r}", did_you_mean(node.id, self.env))

    def on_List(self, node: ast.List) -> list:
        return [self(e) for e in node.elts]

    on_Tuple = on_List

    def on_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        self.number(value)
        return -value if isinstance(node.op, ast.USub) else +value

    def number(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"expected a number, got {value!r}")

    def on_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self(node.left), self(node.right)
        fn = _BINOPS.get(type(node.op))
        if fn is None:
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, list)):
            return self.bound(left + right)
        self.number(left)
        self.number(right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise self.fail("exponent too large")
        try:
            return fn(left, right)
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            raise self.fail(str(exc)) from None

    def on_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = is_and
        for sub in node.values:
            value = self(sub)
            if bool(value) != is_and:
                return value
        return value

    def on_Compare(self, node: ast.Compare) -> bool:
        left = self(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self(comp)
            try:
                if not _CMPS[type(op)](left, right):
                    return False
            except (TypeError, KeyError):
                raise self.fail(f"cannot compare {left!r} and {right!r}") from None
            left = right
        return True

    def on_IfExp(self, node: ast.IfExp) -> Any:
        return self(node.body) if self(node.test) else self(node.orelse)

    def on_Subscript(self, node: ast.Subscript) -> Any:
        container = self(node.value)
        if isinstance(node.slice, ast.Slice):
            raise self.fail("slices are not allowed")
        key = self(node.slice)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError):
            keys = list(container) if isinstance(container, dict) else None
            hint = f"allowed keys: {', '.join(map(str, keys))}" if keys else None
            if isinstance(container, list):
                hint = f"valid indices are 0..{len(container) - 1}"
            raise self.fail(f"no entry {key!r} in {_short(container)}", hint) from None

    def on_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = (
                f"function {node.func.id!r}" if isinstance(node.func, ast.Name) else short(ast.unparse(node.func), 40)
            )
            raise self.fail(f"{what} is not allowed", "allowed: " + ", ".join(sorted(FUNCTIONS)))
        if node.keywords:
            raise self.fail("keyword arguments are not allowed")
        args = [self(a) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.fail(f"{node.func.id}(): {exc}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def evaluate(text: str, env: Mapping[str, Any], mark: Mark | None = None, path: str | None = None) -> Any:
    """Evaluate one expression (the text inside ``${…}``)."""
    if len(text) > MAX_LEN:
        raise SpecError(f"an expression of {len(text):,} characters; at most {MAX_LEN:,}", mark, path)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"in expression {short(text, 80)}: syntax error ({exc.msg})", mark, path) from None
    except (ValueError, RecursionError, MemoryError):
        raise SpecError(f"in expression {short(text, 80)}: cannot parse", mark, path) from None
    try:
        return _Eval(env, text, mark, path)(tree)
    except RecursionError:
        raise SpecError(f"in expression {short(text, 80)}: nested too deeply", mark, path) from None


def substitute(value: Any, env: Mapping[str, Any], mark: Mark | None = None, path: str | None = None) -> Any:
    """Resolve ``$name`` and ``${…}`` in a string; other values pass through."""
    if not isinstance(value, str):
        return value
    name = _NAME.match(value)
    if name:
        return evaluate(name.group(1), env, mark, path)
    whole = _EXPR.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), env, mark, path)
    if "${" not in value:
        return value
    rest = _EXPR.sub("", value)
    if "${" in rest:
        raise SpecError(f"unterminated '${{' in {short(value, 80)}", mark, path, "write ${expression}")
    return _EXPR.sub(lambda m: _format(evaluate(m.group(1), env, mark, path)), value)


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
