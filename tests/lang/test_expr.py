"""The safe ${...} evaluator."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError
from kzoo.lang.expr import bare_name, evaluate, is_expression, substitute

ENV = {"depth": 50, "s": 2, "widths": [64, 128], "stages": {50: [3, 4, 6, 3]}, "kind": "bottleneck"}


@pytest.mark.parametrize(
    "text, value",
    [
        ("4 * 16", 64),
        ("64 * 2**s", 256),
        ("depth // 3 + depth % 3", 18),
        ("1 if s > 1 else 2", 1),
        ("stages[depth][s]", 6),
        ("len(stages[depth])", 4),
        ("max(widths) - min(widths)", 64),
        ("kind == 'bottleneck' and depth >= 50", True),
        ("not s", False),
        ("depth in stages", True),
        ("[1, s]", [1, 2]),
        ("ceil(depth / 3)", 17),
        ("'a' + kind", "abottleneck"),
        ("-s + +3", 1),
        ("true", True),
    ],
)
def test_evaluates(text, value):
    assert evaluate(text, ENV) == value


def test_substitute_whole_partial_and_name():
    assert substitute("${depth * 2}", ENV) == 100
    assert substitute("$depth", ENV) == 50
    assert substitute("stage${s + 2}_x", ENV) == "stage4_x"
    assert substitute("plain", ENV) == "plain"
    assert substitute(3, ENV) == 3
    assert is_expression("$x") and is_expression("a${b}") and not is_expression("a$")


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os').system('true')", "not allowed"),
        ("depth.real", "Attribute is not allowed"),
        ("(lambda: 1)()", "not allowed"),
        ("[x for x in widths]", "ListComp is not allowed"),
        ("open('x')", "function 'open' is not allowed"),
        ("2 ** 1000", "exponent too large"),
        ("10 ** 60 * 10 ** 60", "number too large"),
        ("1 / 0", "division by zero"),
        ("deptj + 1", "undefined name 'deptj'"),
        ("stages[18]", "no entry 18"),
        ("widths[5]", "no entry 5"),
        ("'a' * 10", "expected a number"),
        ("widths[0:1]", "slices are not allowed"),
        ("1 +", "syntax error"),
        ("max()", "max()"),
    ],
)
def test_refuses(text, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(text, ENV)


def test_undefined_name_suggests():
    with pytest.raises(SpecError) as e:
        evaluate("deptj", ENV)
    assert "depth" in e.value.hint


def test_unterminated_interpolation():
    with pytest.raises(SpecError, match="unterminated"):
        substitute("a${b", ENV)


@pytest.mark.parametrize(
    "text, name",
    [
        ("$pooling", "pooling"),
        ("${pooling}", "pooling"),
        ("${ depth }", "depth"),
        ("${block_kind[depth]}", None),
        ("x${a}", None),
        ("${a}${b}", None),
        ("plain", None),
    ],
)
def test_bare_name_is_the_one_param_a_string_is(text, name):
    assert bare_name(text) == name
