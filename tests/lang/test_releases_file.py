"""``weights: FILE.yaml``: an architecture's releases (and the tables they look up) read from a file of their own."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError
from kzoo.zoo import file_releases

NET = """
name: tiny
input: [8, 8, 3]
params: {{width: 4}}
weights: {weights}
layers:
  - conv: {{filters: $width, kernel: 3}}
"""
RELEASES = """
tables:
  hashes: {4: abc123, 8: def456}
releases:
  torchvision:
    url: "https://example.org/tiny${width}-${hashes[width]}.pth"
    names: order
  keras:
    kind: keras_applications
    when: "${width == 8}"
    model: Tiny
"""


def test_the_releases_and_their_tables_come_from_the_file(write):
    write(RELEASES, "w/tiny.yaml")
    net = write(NET.format(weights="w/tiny.yaml"))
    (release,) = file_releases(net)
    assert release.url == "https://example.org/tiny4-abc123.pth" and release.kind == "torchvision"
    assert [r.name for r in file_releases(net, {"width": 8})] == ["torchvision", "keras"]


def test_a_variant_inherits_the_file_and_may_replace_it(write):
    write(RELEASES, "w/tiny.yaml")
    write(NET.format(weights="w/tiny.yaml"), "family.yaml")
    child = write("extends: family.yaml\nparams: {width: 8}\n", "child.yaml")
    assert file_releases(child)[0].url == "https://example.org/tiny8-def456.pth"
    own = write("extends: family.yaml\nweights: {caffe: {release: t.caffemodel}}\n", "own.yaml")
    assert [r.kind for r in file_releases(own)] == ["caffe"]


def test_the_zoo_keeps_its_releases_apart():
    """ResNet's releases live in architectures/weights/resnet.yaml; every depth still has them."""
    assert [r.name for r in file_releases("resnet18")] == ["torchvision", "timm"]
    assert [r.name for r in file_releases("resnet152")] == ["keras", "torchvision", "timm", "caffe"]
    assert file_releases("resnet18")[0].sha256 == "f37072fd"


@pytest.mark.parametrize(
    "releases, weights, match, where",
    [
        (None, "w/none.yaml", "weights: no such file w/none.yaml", (6, 10)),
        (None, "w/tiny.txt", "is not a .yaml file", (6, 10)),
        (None, "/etc/tiny.yaml", "is an absolute path", (6, 10)),
        ("[1, 2]\n", "w/tiny.yaml", "a releases file is a mapping with releases:", (1, 1)),
        ("releases: {a: {kind: torchvision}}\ntabels: {}\n", "w/tiny.yaml", "did you mean 'tables'", (2, 1)),
        ("tables: {width: {4: x}}\nreleases: {a: {}}\n", "w/tiny.yaml", "table 'width'", (1, 10)),
        ("releases:\n  a: {kind: tensorflow}\n", "w/tiny.yaml", "unknown source kind 'tensorflow'", (2, 6)),
    ],
)
def test_mistakes_are_located(write, releases, weights, match, where):
    if releases is not None:
        write(releases, "w/tiny.yaml")
    text = NET.format(weights=weights).replace("params: {width: 4}", "params: {width: 4}\ntables: {width: {4: y}}")
    net = write(text)
    with pytest.raises(SpecError, match=match) as err:
        file_releases(net)
    if where is not None:
        assert (err.value.line, err.value.col) == where, str(err.value)
