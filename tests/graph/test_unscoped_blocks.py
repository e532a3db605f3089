"""Unscoped blocks (``scoped: false``): layers keep the names they give themselves; ``from: input`` is the call's."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError

UNIT = """
name: ub
input: [8, 8, 3]
blocks:
  unit:
    scoped: {scoped}
    args: {{id: str, filters: int}}
    layers:
      - conv: {{name: "res${{id}}_a", filters: $filters, kernel: 1}}
      - conv: {{name: "bn${{id}}_b", from: input, filters: $filters, kernel: 3, padding: same}}
      - add: {{name: "res${{id}}", from: ["res${{id}}_a", "bn${{id}}_b"]}}
layers:
  - conv: {{name: stem, filters: 4, kernel: 1}}
  - unit: {{id: 2a, filters: 4{call}}}
  - unit: {{id: 2b, filters: 4}}
"""


def test_unscoped_block_names_and_input(analyse_text):
    graph = analyse_text(UNIT.format(scoped="false", call=""))
    assert list(graph.nodes) == ["stem", "res2a_a", "bn2a_b", "res2a", "res2b_a", "bn2b_b", "res2b"]
    assert graph.nodes["bn2a_b"].inputs == ["stem"] and graph.nodes["bn2b_b"].inputs == ["res2a"]
    assert graph.nodes["res2b"].inputs == ["res2b_a", "bn2b_b"]


def test_scoped_block_prefixes_names(analyse_text):
    graph = analyse_text(UNIT.format(scoped="true", call=""))
    assert "unit1_res2a_a" in graph.nodes and graph.nodes["unit1_bn2a_b"].inputs == ["stem"]


def test_an_unscoped_call_takes_no_name(analyse_text):
    with pytest.raises(SpecError, match="unscoped") as err:
        analyse_text(UNIT.format(scoped="false", call=", name: first"))
    assert err.value.line == 14  # the call's line


def test_scoped_is_a_boolean(analyse_text):
    with pytest.raises(SpecError, match="scoped"):
        analyse_text(UNIT.format(scoped="maybe", call=""))
