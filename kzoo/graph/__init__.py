"""Expansion and static analysis (no TensorFlow or Keras import here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kzoo.errors import SpecError
from kzoo.graph.expand import expand
from kzoo.graph.infer import infer
from kzoo.graph.node import INPUT, Graph, Node
from kzoo.lang.resolve import Spec, load_spec
from kzoo.ops import OPS


def analyse(source: str | Path | Spec, overrides: Mapping[str, Any] | None = None, origin: str = "override") -> Graph:
    """Load (if needed), expand and infer a file: the whole static pipeline."""
    spec = source if isinstance(source, Spec) else load_spec(source, overrides, origin)
    try:
        return infer(expand(spec))
    except SpecError as exc:
        raise _blame_override(exc, spec, origin) from None


def _blame_override(exc: SpecError, spec: Spec, origin: str) -> SpecError:
    """An error at a file's line whose text uses a param the caller overrode (``units: $classes`` with
    ``classes=0``) says which given value caused it: the file is right, the value is not."""
    given = {k: v for k, v in spec.overrides.items() if k != "input"}
    if not given or exc.mark is None or exc.mark.line is None or not exc.mark.file:
        return exc
    try:
        line = Path(exc.mark.file).read_text(encoding="utf-8").splitlines()[exc.mark.line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return exc
    used = [k for k in given if re.search(r"\$\{?[^}]*\b" + re.escape(k) + r"\b", line)]
    if not used:
        return exc
    values = ", ".join(f"{k}={given[k]!r}" for k in used)
    return SpecError(f"{exc.message} (from {values} given to {origin})", exc.mark, exc.path, exc.hint)


def with_outputs(graph: Graph, outputs: list[str]) -> Graph:
    """The same graph returning ``outputs``, without the layers none of them needs."""

    keep: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name != INPUT and name not in keep:
            keep.add(name)
            stack.extend(graph.nodes[name].inputs)
    nodes = {n: node for n, node in graph.nodes.items() if n in keep}
    return replace(graph, nodes=nodes, outputs=list(outputs))


def add_global_pooling(graph: Graph, kind: str) -> Graph:
    """Append global average (``avg``) or max (``max``) pooling to the main output."""

    op_name, name = ("global_avgpool", "avg_pool") if kind == "avg" else ("global_maxpool", "max_pool")
    main = graph.outputs[0]
    node = Node(name, op_name, OPS.get(op_name).Args(), [main], None, "kzoo.load(pooling=...)")
    node.stats = OPS.get(op_name).infer(node.args, [graph.nodes[main].stats.out])
    return replace(graph, nodes={**graph.nodes, name: node}, outputs=[name, *graph.outputs[1:]])


__all__ = ["INPUT", "Graph", "Node", "add_global_pooling", "analyse", "expand", "infer", "with_outputs"]
