"""Heads from several layers (merged), and files whose layers continue a backbone's graph."""

from __future__ import annotations

import pytest

import kzoo

TWO = """
name: two
input: [16, 16, 3]
layers:
  - conv: {name: a, filters: 4, kernel: 3, padding: same}
  - conv: {name: b, filters: 4, kernel: 3, padding: same}
heads:
  fused:
    from: [a, b]
    merge: add
    layers:
      - conv: {name: out, filters: 2, kernel: 1}
"""


def test_a_head_from_several_layers_merges_them(write):
    graph = kzoo.analyse(write(TWO))
    merged = graph.nodes["fused_add1"]
    assert merged.op == "add" and merged.inputs == ["a", "b"]
    assert graph.nodes["fused_out"].inputs == ["fused_add1"] and graph.outputs == ["b", "fused_out"]
    model = kzoo.build(graph)
    assert [tuple(o.shape[1:]) for o in model.outputs] == [(16, 16, 4), (16, 16, 2)]


def test_a_head_from_several_layers_without_merge_is_located(write):
    with pytest.raises(kzoo.SpecError, match="a head from 2 layers needs merge") as e:
        kzoo.analyse(write(TWO.replace("    merge: add\n", "")))
    assert (e.value.mark.line, e.value.mark.col) == (9, 11)


def test_a_backbone_takes_the_files_input_and_lends_its_features(write):
    text = """
        name: on_top
        input: [64, 48, 3]
        backbone: {name: resnet18, params: {include_top: false}}
        layers:
          - conv: {name: head, filters: 3, kernel: 1}
          - add: {from: [head, "${features[-1]}"]}
    """
    with pytest.raises(kzoo.SpecError, match="add needs inputs of one shape") as e:
        kzoo.analyse(write(text))
    assert e.value.mark.line == 7
    graph = kzoo.analyse(write(text.replace("filters: 3", "filters: 512")))
    assert graph.nodes["conv1_conv"].stats.out.shape == (32, 24, 64)  # the backbone at the file's input
    assert graph.nodes["head"].inputs == ["conv5_block2_out"]
    assert graph.totals()["params"] == kzoo.analyse("resnet18", {"include_top": False, "input": [64, 48, 3]}).totals()[
        "params"
    ] + (512 * 512 + 512)
