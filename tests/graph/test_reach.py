"""Defaults that no layer can take are reported where they are written (kzoo.graph.reach)."""

from __future__ import annotations

import pytest

import kzoo
from kzoo.errors import SpecError


def write(tmp_path, text):
    f = tmp_path / "net.yaml"
    f.write_text(text)
    return f


CONV = "conv: {filters: 4, kernel: 3}"
BASE = """name: net
input: [16, 16, 3]
params: {aux: false}
"""


@pytest.mark.parametrize(
    "body,where,why",
    [
        ("defaults: {dense: {units: 8}}\nlayers:\n  - flatten\n  - dense: 4\n", "4:", "sets units itself"),
        (f"defaults: {{dropout: {{rate: 0.3}}}}\nlayers:\n  - {CONV}\n", "4:", "reaches no dropout layer"),
        (  # a block's own defaults
            "blocks:\n  b:\n    defaults: {conv: {kernel: 5}}\n    layers:\n      - conv: {filters: 4, kernel: 3}\n"
            "layers:\n  - b\n",
            "6:",
            "sets kernel itself",
        ),
        (  # a repeat's defaults do not reach the layers after it
            f"layers:\n  - repeat: 2\n    defaults: {{conv: {{kernel: 5}}}}\n    layers:\n      - relu\n  - {CONV}\n",
            "6:",
            "reaches no conv layer",
        ),
    ],
)
def test_an_unused_default_is_located(tmp_path, body, where, why):
    with pytest.raises(SpecError) as err:
        kzoo.analyse(write(tmp_path, BASE + body))
    assert f"net.yaml:{where}" in str(err.value) and why in str(err.value)


@pytest.mark.parametrize(
    "body",
    [
        # used only by a head that a param switches off: still used
        f"defaults: {{dense: {{units: 3}}}}\nlayers:\n  - {CONV}\nheads:\n  side: {{from: conv, when: $aux, layers: "
        "[global_avgpool, dense]}\n",
        # used inside a block called from the list that declares it
        "blocks:\n  b: {layers: [{conv: {kernel: 3}}]}\ndefaults: {conv: {filters: 4}}\nlayers:\n  - b\n",
        # one layer that leaves it to the defaults is enough
        "defaults: {conv: {kernel: 5}}\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - conv: {filters: 4}\n",
    ],
)
def test_a_default_some_layer_takes_is_fine(tmp_path, body):
    kzoo.analyse(write(tmp_path, BASE + body))


def test_the_issue_case_a_file_extending_vgg11(tmp_path):
    f = tmp_path / "myvgg.yaml"
    f.write_text("name: myvgg\nextends: families/vgg.yaml\ndefaults: {dense: {units: 256}}\n")
    with pytest.raises(SpecError, match=r"myvgg.yaml:3:.*dense.units is used by no layer"):
        kzoo.analyse(f)


def test_every_zoo_file_uses_its_defaults():
    for name in kzoo.list_architectures():
        kzoo.analyse(name)
