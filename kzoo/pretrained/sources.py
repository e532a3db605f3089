"""The one registry of source kinds: a kind is one module that registers how its releases load.

A source kind (``keras_applications``, ``torchvision``, ``timm``, ``caffe``) turns a release of its
kind (:class:`kzoo.lang.weights.Release`) into weights in a model built with the release's params::

    SOURCES.register("my_kind", Source(load_mine, "what it reads"))

``load(model, graph, release)`` fetches what it needs (kzoo.pretrained.download) and sets every
weighted layer, or raises and sets nothing. Adding a kind is one module that registers itself,
imported by ``kzoo/pretrained/__init__.py`` (or by a plugin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kzoo.errors import SpecError
from kzoo.registry import Registry

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.lang.weights import Release


@dataclass(frozen=True)
class Source:
    """A source kind: how a release of it is loaded into a model built from its params."""

    load: Callable[[Any, Any, Any], None]
    description: str


SOURCES: Registry[Source] = Registry("weights source")


def check_top(graph: Graph, release: Release) -> None:
    """A release that classifies ImageNet fits only a model with 1000 classes (or no top)."""
    params = graph.meta["params"]
    if params.get("include_top", True) and params.get("classes", 1000) != 1000 and release.categories:
        raise SpecError(
            f"release {release.name!r} classifies 1000 ImageNet classes; classes={params['classes']} does not fit",
            hint="load(..., include_top=False) and add your own head, or kzoo finetune",
        )
