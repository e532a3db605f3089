"""Expansion and static analysis (no TensorFlow or Keras import here)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kzoo.graph.expand import expand
from kzoo.graph.infer import infer
from kzoo.graph.node import INPUT, Graph, Node
from kzoo.spec.resolve import Spec, load_spec


def analyse(source: str | Path | Spec, overrides: Mapping[str, Any] | None = None, origin: str = "override") -> Graph:
    """Load (if needed), expand and infer a file: the whole static pipeline."""
    spec = source if isinstance(source, Spec) else load_spec(source, overrides, origin)
    return infer(expand(spec))


__all__ = ["INPUT", "Graph", "Node", "analyse", "expand", "infer"]
