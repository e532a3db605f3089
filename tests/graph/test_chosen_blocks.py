"""A block chosen by an expression (``"${kind}": {...}``): one call site for several blocks, picked by a param."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError

NET = """
name: chosen
input: [8, 8, 3]
params: {{kind: {kind}}}
defaults: {{conv: {{padding: same}}}}
blocks:
  wide:
    args: {{filters: int}}
    layers: [{{conv: {{name: a, filters: "${{2 * filters}}", kernel: 3}}}}]
  narrow:
    args: {{filters: int}}
    layers: [{{conv: {{name: a, filters: $filters, kernel: 1}}}}]
layers:
  - "{key}": {{name: body, filters: 4}}
"""


@pytest.mark.parametrize("kind, filters, kernel", [("wide", 8, 3), ("narrow", 4, 1)])
def test_the_param_picks_the_block(analyse_text, kind, filters, kernel):
    graph = analyse_text(NET.format(kind=kind, key="${kind}"))
    node = graph.nodes["body_a"]
    assert (node.args.filters, node.args.kernel) == (filters, kernel)


def test_an_expression_can_name_an_op(analyse_text):
    graph = analyse_text(
        NET.format(kind="wide", key="${'flatten' if kind == 'wide' else 'dropout'}").replace(
            "{name: body, filters: 4}", "{name: body}"
        )
    )
    assert graph.nodes["body"].op == "flatten"


def test_a_name_that_is_no_block_is_located_at_the_key(analyse_text):
    with pytest.raises(SpecError, match="unknown op or block 'wid'") as err:
        analyse_text(NET.format(kind="wide", key="${kind[:3]}").replace("kind[:3]", "'wid'"))
    assert (err.value.line, err.value.col) == (14, 5)
    assert "did you mean 'wide'" in str(err.value)


def test_a_name_that_is_no_string_is_refused(analyse_text):
    with pytest.raises(SpecError, match="names no op or block: 3") as err:
        analyse_text(NET.format(kind="wide", key="${1 + 2}"))
    assert (err.value.line, err.value.col) == (14, 5)


def test_defaults_reach_every_block_an_expression_may_choose(analyse_text):
    """``padding: same`` is used by the wide block only, which the expression may choose: not an unused default."""
    text = NET.format(kind="narrow", key="${kind}").replace("kernel: 1}}]", "kernel: 1, padding: valid}}]")
    assert analyse_text(text).nodes["body_a"].args.padding == "valid"


POOL = """
name: pools
input: [8, 8, 3]
params: {{pool: maxpool}}
choices: {{pool: [maxpool, avgpool]}}
defaults: {{{op}: {{pool: 2}}}}
layers:
  - conv: {{filters: 2, kernel: 3}}
  - "${{pool}}": {{name: s2}}
"""


@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
def test_a_param_key_names_an_op_among_its_choices(analyse_text, pool):
    graph = analyse_text(POOL.format(op="avgpool"), pool=pool)
    assert graph.nodes["s2"].op == pool


def test_a_default_no_choice_of_the_param_can_reach_is_still_reported(analyse_text):
    with pytest.raises(SpecError, match="the default l2pool.pool is used by no layer") as err:
        analyse_text(POOL.format(op="l2pool"))
    assert (err.value.line, err.value.col) == (6, 21)  # at the default itself
