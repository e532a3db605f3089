"""Source kind ``caffe``: the authors' ``.caffemodel`` releases (kzoo.caffe.weights reads them), with the
release's layer-name rules (kzoo.caffe.declaration). kzoo downloads a release that gives a ``url``;
otherwise the file is taken from the cache, where the user puts it (the error says where)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kzoo.caffe.declaration import declaration
from kzoo.caffe.weights import load_caffe_weights
from kzoo.pretrained.download import fetch
from kzoo.pretrained.sources import SOURCES, Source, check_top

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.lang.weights import Release


def load(model: Any, graph: Graph, release: Release) -> None:
    check_top(graph, release)
    load_caffe_weights(model, graph, fetch(release), declaration(release).names)


SOURCES.register("caffe", Source(load, "the authors' Caffe release (.caffemodel)"))
