"""Expansion (kzoo.graph.expand): defaults, repeat, names, blocks, parallel, when, from:, heads, features, and
located mistakes, through the static pipeline."""

from __future__ import annotations

import pytest
from helpers import TINY_HEAD, layer_names

from kzoo.errors import SpecError


def test_scoped_defaults_file_block_list(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
defaults:
  conv: {kernel: 3, padding: same, init: he_normal, activation: relu}
blocks:
  b:
    args: {}
    defaults: {conv: {activation: tanh}}
    layers: [{conv: {name: c, filters: 4}}]
layers:
  - conv: {name: top, filters: 4}
  - b: {name: blk}
  - repeat: 1
    defaults: {conv: {init: {variance_scaling: {scale: 0.5, mode: fan_avg, distribution: uniform}}}}
    layers:
      - conv: {name: inner, filters: 4}
      - conv: {name: explicit, filters: 4, init: zeros, activation: {leaky_relu: {beta: 0.2}}}
"""
    )
    top, blk, inner, explicit = (g.nodes[n] for n in ["top", "blk_c", "inner", "explicit"])
    assert (top.args.init.name, top.args.activation.name) == ("he_normal", "relu")
    assert (blk.args.init.name, blk.args.activation.name) == ("he_normal", "tanh")
    assert inner.args.init.name == "variance_scaling"
    assert inner.args.init.args == {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}
    assert inner.args.activation.name == "relu"
    assert explicit.args.init.name == "zeros" and explicit.args.activation.args == {"beta": 0.2}


def test_every_conv_and_dense_has_concrete_init_and_activation(analyse_text):
    g = analyse_text(TINY_HEAD + "layers: [{conv: {filters: 2, kernel: 1}}, flatten, {dense: 3}]\n")
    for node in g.nodes.values():
        if node.op in ("conv", "dense"):
            attrs = node.attrs()
            assert attrs["init"] == "glorot_uniform" and attrs["activation"] == "linear"
            assert attrs["bias_init"] == "zeros"


def test_list_level_defaults_body_mapping(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
layers:
  defaults: {conv: {kernel: 1, activation: elu}}
  layers:
    - conv: {filters: 2}
"""
    )
    assert g.nodes["conv1"].args.activation.name == "elu"


def test_repeat_with_loop_index_and_names(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
layers:
  - repeat: 3
    var: s
    name: "stage${s + 1}"
    layers:
      - repeat: 2
        var: b
        layers:
          - conv: {name: "conv${b + 1}", filters: "${4 * 2**s}", kernel: 3, padding: same}
"""
    )
    assert layer_names(g) == [f"stage{s}_conv{b}" for s in (1, 2, 3) for b in (1, 2)]
    assert g.nodes["stage3_conv2"].args.filters == 16


def test_unnamed_layers_are_numbered_per_scope(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
blocks:
  pair:
    args: {}
    layers: [{conv: {filters: 2, kernel: 1}}, {conv: {filters: 2, kernel: 1}}, relu]
layers: [pair, pair, {conv: {filters: 2, kernel: 1}}]
"""
    )
    assert layer_names(g) == [
        "pair1_conv1",
        "pair1_conv2",
        "pair1_relu1",
        "pair2_conv1",
        "pair2_conv2",
        "pair2_relu1",
        "conv1",
    ]


def test_blocks_with_typed_args(analyse_text):
    text = (
        TINY_HEAD
        + """
blocks:
  unit:
    args: {filters: int, kernel: 3, bias: true}
    layers: [{conv: {filters: $filters, kernel: $kernel, use_bias: $bias}}]
layers:
  - unit: {filters: 4}
  - unit: {filters: 6, kernel: 1, bias: false}
"""
    )
    g = analyse_text(text)
    a, b = g.nodes["unit1_conv1"].args, g.nodes["unit2_conv1"].args
    assert (a.filters, a.kernel, a.use_bias) == (4, 3, True)
    assert (b.filters, b.kernel, b.use_bias) == (6, 1, False)
    with pytest.raises(SpecError, match="needs argument 'filters'"):
        analyse_text(text.replace("{filters: 4}", "{}"))
    with pytest.raises(SpecError, match="has no argument 'filter'"):
        analyse_text(text.replace("{filters: 4}", "{filter: 4}"))
    with pytest.raises(SpecError, match="expects 'int'-like"):
        analyse_text(text.replace("{filters: 4}", "{filters: 4.5}"))


def test_parallel_add_with_identity_shortcut_and_concat(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
params: {project: false}
layers:
  - conv: {name: stem, filters: 8, kernel: 3, padding: same}
  - parallel:
      - - when: $project
          conv: {filters: 8, kernel: 1}
      - - conv: {filters: 8, kernel: 3, padding: same}
    merge: {add: {name: sum}}
    then: [relu]
  - parallel:
      - [{conv: {filters: 2, kernel: 1}}]
      - [{conv: {filters: 3, kernel: 3, padding: same}}]
      - [{maxpool: {pool: 3, stride: 1, padding: same}}]
    merge: concat
"""
    )
    assert g.nodes["sum"].inputs == ["stem", "conv1"]
    assert g.nodes["concat1"].stats.out.shape == (32, 32, 2 + 3 + 8)
    assert g.nodes["relu1"].inputs == ["sum"]


def test_when_with_projection(analyse_text):
    text = (
        TINY_HEAD
        + """
params: {project: true}
layers:
  - parallel:
      - - when: $project
          conv: {name: proj, filters: 4, kernel: 1, stride: 2}
      - - conv: {filters: 4, kernel: 3, stride: 2, padding: same}
    merge: add
"""
    )
    assert "proj" in analyse_text(text).nodes
    with pytest.raises(SpecError, match="add needs inputs of one shape") as e:
        analyse_text(text, project=False)
    assert "projection" in e.value.hint


def test_from_makes_arbitrary_dag_edges_and_heads_are_outputs(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
params: {aux: true}
layers:
  - conv: {name: a, filters: 4, kernel: 3}
  - conv: {name: b, filters: 4, kernel: 3}
  - conv: {name: c, filters: 4, kernel: 1, from: a}
  - global_avgpool: {name: gap}
  - dense: {name: out, units: 2}
heads:
  side:
    when: $aux
    from: b
    layers: [global_avgpool, {dense: {name: logits, units: 5}}]
"""
    )
    assert g.nodes["c"].inputs == ["a"]
    assert g.outputs == ["out", "side_logits"]
    assert g.nodes["side_global_avgpool1"].inputs == ["b"]


def test_head_removed_by_option(analyse_text):
    text = (
        TINY_HEAD
        + """
params: {aux: true}
layers: [{conv: {name: a, filters: 4, kernel: 3}}, flatten]
heads:
  side: {when: $aux, from: a, layers: [flatten]}
"""
    )
    assert len(analyse_text(text).outputs) == 2
    assert analyse_text(text, aux=False).outputs == ["flatten1"]


def test_from_resolves_in_enclosing_scopes(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
blocks:
  skip:
    args: {}
    layers:
      - conv: {name: c1, filters: 3, kernel: 1}
      - conv: {name: c2, filters: 3, kernel: 1}
      - add: {from: [c1, c2]}
layers:
  - conv: {name: c1, filters: 3, kernel: 1}
  - skip: {name: s}
  - add: {from: [c1, s]}
"""
    )
    assert g.nodes["s_add1"].inputs == ["s_c1", "s_c2"]
    assert g.nodes["add1"].inputs == ["c1", "s_add1"]


def test_expressions_in_strings(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
params: {n: 3}
layers:
  - conv: {name: "c${n * 2}_x", filters: "${max(2, n) * 2}", kernel: "${1 if n > 5 else 3}"}
"""
    )
    node = g.nodes["c6_x"]
    assert (node.args.filters, node.args.kernel) == (6, 3)


def test_names_are_stable_across_runs(write):
    from kzoo.graph import analyse
    from kzoo.zoo import find

    first = list(analyse(find("resnet18")).nodes)
    second = list(analyse(find("resnet18")).nodes)
    assert first == second
    assert "conv4_block2_2_conv" in first


@pytest.mark.parametrize(
    "body, message, line, col",
    [
        ("layers: [{conf: {filters: 2}}]", "unknown op or block 'conf'", 4, 11),
        ("layers: [{conv: {filters: 2, kernal: 3}}]", "unknown key 'kernal'", 4, 30),
        ("layers: [{conv: {kernel: 3}}]", "needs 'filters'", 4, 11),
        ("layers: [{conv: {filters: two, kernel: 3}}]", "invalid 'filters'", 4, 27),
        ("layers:\n  - conv: {filters: 2, kernel: 3, padding: off}", "read by YAML 1.1 as the boolean", 5, 44),
        ("layers: [{conv: {filters: $width, kernel: 3}}]", "undefined name 'width'", 4, 27),
        ("layers: [{conv: {filters: 2, kernel: 3, from: nowhere}}]", "undefined name 'nowhere'", 4, 47),
        ("layers: [{repeat: 100000, layers: [relu]}]", "repeat must be a whole number", 4, 19),
        ("layers: [{conv: {filters: 2, kernel: 40}}]", "output would be -7x-7", 4, 11),
        ("layers: [{conv: {filters: '${2 +}', kernel: 3}}]", "syntax error", 4, 27),
        ("layers: [{conv: {filters: '${__import__(\"os\")}', kernel: 3}}]", "not allowed", 4, 27),
        ("layers: [{conv: {filters: 2, kernel: 3, init: he_normall}}]", "unknown initializer 'he_normall'", 4, 47),
        ("layers: [{conv: {filters: 2, kernel: 3, activation: {leaky_relu: {beta: 1.5}}}}]", "beta", 4, 73),
        (
            "layers: [{conv: {name: a, filters: 2, kernel: 1}}, {conv: {name: a, filters: 2, kernel: 1}}]",
            "used twice",
            4,
            53,
        ),
        ("layers: [{conv: {filters: 2, kernel: 1}, relu: null}]", "one op or block name", 4, 10),
    ],
)
def test_mistakes_give_spec_errors_with_location(analyse_text, body, message, line, col):
    """Each error points at the offending token: its line and its column."""
    with pytest.raises(SpecError, match=message) as e:
        analyse_text(TINY_HEAD + body + "\n")
    assert (e.value.line, e.value.col) == (line, col) and e.value.file.endswith("m.yaml")


def test_did_you_mean_for_unknown_op_and_key(analyse_text):
    with pytest.raises(SpecError) as e:
        analyse_text(TINY_HEAD + "layers: [{maxpol: 2}]\n")
    assert "maxpool" in e.value.hint
    with pytest.raises(SpecError) as e:
        analyse_text(TINY_HEAD + "layers: [{conv: {filters: 2, kernel: 3, strides: 2}}]\n")
    assert "'stride'" in e.value.hint


def test_cycle_is_an_error(analyse_text):
    with pytest.raises(SpecError, match="cycle"):
        analyse_text(
            TINY_HEAD
            + """
layers:
  - conv: {name: a, filters: 2, kernel: 1, from: b}
  - conv: {name: b, filters: 2, kernel: 1}
"""
        )


def test_block_calling_itself_is_an_error(analyse_text):
    with pytest.raises(SpecError, match=r"block 'a' calls itself: a -> b -> a") as e:
        analyse_text(
            TINY_HEAD
            + """
blocks:
  a: {args: {}, layers: [b]}
  b: {args: {}, layers: [a]}
layers: [a]
"""
        )
    assert e.value.line == 7


def test_spatial_size_shrinking_to_zero_names_the_layer(analyse_text):
    with pytest.raises(SpecError, match="layer 'block4_pool'") as e:
        analyse_text(
            TINY_HEAD.replace("[32, 32, 3]", "[8, 8, 3]")
            + """
layers:
  - repeat: 5
    name: "block${i + 1}"
    layers: [{maxpool: {name: pool, pool: 2}}]
"""
        )
    assert e.value.line == 8 and "too small" in e.value.hint


def test_dead_layer_is_an_error(analyse_text):
    with pytest.raises(SpecError, match="does not lead to any output"):
        analyse_text(
            TINY_HEAD
            + """
layers:
  - conv: {name: a, filters: 2, kernel: 1}
  - conv: {name: dead, filters: 2, kernel: 1}
  - flatten: {from: a}
"""
        )


def test_inline_group_with_when_and_block_input(analyse_text):
    text = (
        TINY_HEAD
        + """
params: {top: true}
blocks:
  pre:
    args: {}
    layers:
      - batchnorm: {name: bn}
      - parallel:
          - []
          - [{conv: {name: c, filters: 3, kernel: 1, from: bn}}]
        from: input
        merge: add
layers:
  - pre: {name: p}
  - when: $top
    name: head
    layers: [global_avgpool, {dense: 2}]
"""
    )
    g = analyse_text(text)
    assert g.nodes["p_add1"].inputs == ["input", "p_c"]  # the block's input, not its batchnorm
    assert "head_dense1" in g.nodes
    assert analyse_text(text, top=False).outputs == ["p_add1"]


def test_features_name_layers_or_scopes(analyse_text):
    g = analyse_text(
        TINY_HEAD
        + """
layers:
  - repeat: 2
    name: "stage${i + 1}"
    layers: [{conv: {name: c, filters: 2, kernel: 3, padding: same}}, {maxpool: {name: p}}]
features: [stage1, stage2_c]
"""
    )
    assert g.features == ["stage1_p", "stage2_c"]


def test_the_grammar_pass_checks_every_item_whatever_the_params(analyse_text):
    """Shapes and keys are checked before expansion, so a mistake under when: false is found too (it would
    surface the day the param changes)."""
    text = (
        TINY_HEAD
        + "params: {aux: false}\nlayers:\n  - conv: {filters: 2, kernel: 3}\n  - when: $aux\n    parallel: []\n"
    )
    with pytest.raises(SpecError, match="parallel: expects a list of branches") as e:
        analyse_text(text + "    merge: add\n")
    assert (e.value.line, e.value.col) == (8, 15)
    with pytest.raises(SpecError, match="unknown key 'merj' in a parallel") as e:
        analyse_text(text.replace("parallel: []", "parallel: [[relu], []]") + "    merj: add\n")
    assert (e.value.line, e.value.col) == (9, 5) and "did you mean 'merge'" in str(e.value)
    assert analyse_text(text.replace("parallel: []", "parallel: [[relu], []]") + "    merge: add\n").name == "t"
