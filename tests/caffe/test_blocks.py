"""Repeated sub-graphs of imported networks become blocks (static: no TensorFlow)."""

from __future__ import annotations

import yaml
from helpers import caffe_definition
from nets import squeezenet_v11

from kzoo.caffe.emit import emit
from kzoo.caffe.importer import convert
from kzoo.caffe.reader import read_net
from kzoo.graph import analyse


def _imported(path, tmp_path):
    imported = convert(read_net(path))
    text = emit(imported, "net", path.name)
    out = tmp_path / "net.yaml"
    out.write_text(text)
    return imported, yaml.safe_load(text), analyse(out), text


def _calls(doc, block):
    return [item[block] for item in doc["layers"] if isinstance(item, dict) and block in item]


def test_googlenet_inception_modules_are_one_block(tmp_path):
    imported, doc, graph, text = _imported(caffe_definition("bvlc_googlenet.prototxt"), tmp_path)
    assert list(doc["blocks"]) == ["inception"]
    assert [c["id"] for c in _calls(doc, "inception")] == ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    assert _calls(doc, "inception")[2]["filters_3x3"] == 208  # Table 1's inception (4a)
    assert [n.name for n in imported.nodes] == list(graph.nodes)  # every Caffe name kept, in order
    assert text.count("\n") <= 200


def test_resnet_units_are_one_block_per_kind(tmp_path):
    imported, doc, graph, text = _imported(caffe_definition("he_resnet50.prototxt"), tmp_path)
    assert len(doc["blocks"]) == 2
    counts = sorted(len(_calls(doc, b)) for b in doc["blocks"])
    assert counts == [4, 12]  # a projection unit opens each stage; 3 + 4 + 6 + 3 units in all
    assert [n.name for n in imported.nodes] == list(graph.nodes)
    assert "bn2a_branch2a" in graph.nodes and "res5c_relu" in graph.nodes
    assert text.count("\n") <= 150


def test_squeezenet_fire_modules_are_one_block(tmp_path):
    path = tmp_path / "squeezenet.prototxt"
    path.write_text(squeezenet_v11())
    imported, doc, graph, _ = _imported(path, tmp_path)
    assert list(doc["blocks"]) == ["fire"] and len(_calls(doc, "fire")) == 8
    assert len(doc["blocks"]["fire"]["layers"]) == 4  # squeeze, two expands, concat
    assert graph.totals()["params"] == 1_235_496  # SqueezeNet v1.1's published count
    assert list(graph.nodes) == [n.name for n in imported.nodes]


def test_chains_stay_inline(tmp_path):
    _, doc, _, _ = _imported(caffe_definition("bvlc_alexnet.prototxt"), tmp_path)
    assert "blocks" not in doc and len(doc["layers"]) == 16
