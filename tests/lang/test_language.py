"""The language around expansion: params and overrides, extends, tables (kzoo.lang.resolve, kzoo.lang.choices)."""

from __future__ import annotations

import pytest
from helpers import TINY_HEAD, layer_names

from kzoo.errors import SpecError


def test_params_and_overrides(analyse_text):
    text = (
        TINY_HEAD
        + """
params: {width: 8, classes: 10}
layers:
  - conv: {filters: $width, kernel: 3}
  - global_avgpool
  - dense: $classes
"""
    )
    g = analyse_text(text)
    assert g.nodes["conv1"].args.filters == 8
    g = analyse_text(text, width=16, classes=3)
    assert g.nodes["conv1"].args.filters == 16 and g.nodes["dense1"].args.units == 3


def test_override_errors_name_the_param(analyse_text):
    text = TINY_HEAD + "params: {width: 8}\nlayers: [{conv: {filters: $width, kernel: 3}}]\n"
    with pytest.raises(SpecError, match="no param 'widht'") as e:
        analyse_text(text, widht=3)
    assert "did you mean 'width'" in e.value.hint
    with pytest.raises(SpecError, match="expects an int"):
        analyse_text(text, width="wide")


def test_a_list_param_takes_a_python_list_or_tuple_and_says_list_when_refused(analyse_text, capsys):
    from kzoo.cli import main

    text = TINY_HEAD + "params: {widths: [4, 8]}\nlayers:\n  - conv: {filters: '${widths[0]}', kernel: 3}\n"
    text += "  - conv: {filters: '${widths[1]}', kernel: 3}\n"
    for value in ([6, 10], (6, 10)):  # kzoo.load("vgg11", widths=[...]) and a study file's param: hand plain lists
        g = analyse_text(text, widths=value)
        assert [n.args.filters for n in g.nodes.values()] == [6, 10]
    with pytest.raises(SpecError, match=r"param 'widths' expects a list like \[4, 8\], got 16"):
        analyse_text(text, widths=16)
    assert main(["summary", "vgg11", "--param", "widths=[8,8,8,8,8]", "--param", "input=[32,32,1]", "--json"]) == 0
    assert '"block5_conv2"' in capsys.readouterr().out


def test_extends_merges_maps_and_replaces_lists(write):
    from kzoo.graph import analyse

    write(
        TINY_HEAD
        + """
params: {width: 8, depth: 2}
defaults: {conv: {kernel: 3, padding: same}}
layers:
  - repeat: $depth
    layers: [{conv: {filters: $width}}]
""",
        "families/base.yaml",
    )
    child = write("extends: families/base.yaml\nname: child\nparams: {depth: 3}\n", "child.yaml")
    g = analyse(child)
    assert g.name == "child"
    assert layer_names(g) == ["conv1", "conv2", "conv3"]
    assert all(n.args.filters == 8 and n.args.padding == "same" for n in g.nodes.values())


def test_extends_cycle_is_an_error(write):
    from kzoo.graph import analyse

    write("extends: b.yaml\nname: a\n", "a.yaml")
    write("extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(SpecError, match="extends itself"):
        analyse(write("extends: b.yaml\nname: a\n", "a.yaml"))


def test_table_lookup_by_param(analyse_text):
    text = (
        TINY_HEAD
        + """
params: {size: small}
tables:
  widths: {small: [4, 8], large: [16, 32, 64]}
layers:
  - repeat: "${len(widths[size])}"
    layers: [{conv: {filters: "${widths[size][i]}", kernel: 1}}]
"""
    )
    assert [n.args.filters for n in analyse_text(text).nodes.values()] == [4, 8]
    assert [n.args.filters for n in analyse_text(text, size="large").nodes.values()] == [16, 32, 64]
    with pytest.raises(SpecError, match="must be one of 'large', 'small', got 'huge'") as e:
        analyse_text(text, size="huge")
    assert "small" in e.value.hint and "large" in e.value.hint and e.value.path == "params.size"
