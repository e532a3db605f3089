"""Architecture diagrams and the generated gallery."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import ROOT
from kzoo.graph import analyse
from kzoo.inspect.diagram import gallery, render, to_dot
from kzoo.zoo import find

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs it)"
)


def boxes(dot: str) -> list[str]:
    return re.findall(r"^\s*(n\d+) \[label=", dot, flags=re.M)


def test_full_diagram_has_a_box_per_layer_and_every_edge():
    graph = analyse(find("resnet18"))
    dot = to_dot(graph)
    assert len(boxes(dot)) == len(graph.nodes)
    edges = sum(len(n.inputs) for n in graph.nodes.values())
    assert dot.count(" -> ") == edges
    assert 'subgraph "cluster_conv2_block1"' in dot


def test_depth_collapses_blocks_and_stages():
    graph = analyse(find("resnet50"))
    by_block = to_dot(graph, depth=1)
    assert len(boxes(by_block)) == 6 + 16 + 2  # stem, 16 blocks, head
    assert "conv4_block6" not in by_block.split("cluster_conv4")[0] and "block6\\n" in by_block
    by_stage = to_dot(graph, depth=0)
    assert len(boxes(by_stage)) == 6 + 4 + 2
    assert "conv2\\n" in by_stage


def test_depth_one_collapses_blocks_wherever_they_sit():
    """GoogLeNet's inception blocks sit at the top and Inception v3's cbr blocks inside them: depth 1 draws each
    top-level block as one box (it drew GoogLeNet whole), depth 2 opens them one level."""
    whole, by_block = to_dot(analyse(find("googlenet")), None), to_dot(analyse(find("googlenet")), depth=1)
    assert len(boxes(by_block)) < len(boxes(whole)) and 'label="inception4e\\n8 layers' in by_block
    assert 'subgraph "cluster_inception4e"' in whole and 'subgraph "cluster_inception4e"' not in by_block
    v3 = analyse(find("inception_v3"))
    assert len(boxes(to_dot(v3, depth=1))) < len(boxes(to_dot(v3, depth=2))) < len(boxes(to_dot(v3, None)))


def test_heads_are_drawn_as_branches():
    dot = to_dot(analyse(find("googlenet")), depth=0)
    assert dot.count("aux1") >= 1 and dot.count("aux2") >= 1


@needs_dot
@pytest.mark.parametrize("suffix", ["svg", "png", "dot"])
def test_render_writes_files(tmp_path, suffix):
    out = render(analyse(find("lenet5")), tmp_path / f"lenet.{suffix}")
    data = out.read_bytes()
    assert data.startswith({"svg": b"<?xml", "png": b"\x89PNG", "dot": b"digraph"}[suffix])
    assert not list(tmp_path.glob(".*tmp"))


def test_unknown_format_is_an_error(tmp_path):
    from kzoo.errors import KzooError

    with pytest.raises(KzooError, match="svg, .png"):
        render(analyse(find("lenet5")), tmp_path / "x.jpg")


@needs_dot
def test_docs_zoo_md_is_up_to_date(tmp_path):
    fresh = gallery(tmp_path).read_text()
    assert (ROOT / "docs" / "zoo.md").read_text() == fresh, "run: kzoo gallery docs"
    for name in re.findall(r"\(zoo/([\w.]+)\)", fresh):
        assert (ROOT / "docs" / "zoo" / name).is_file()
