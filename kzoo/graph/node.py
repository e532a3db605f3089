"""The flat graph that expansion produces and the builder consumes."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from kzoo.errors import Mark, SpecError
from kzoo.ops.base import OpArgs, Stats


@dataclass(frozen=True)
class Ref:
    """A ``from:`` reference, resolved against the scope it was written in."""

    text: str
    scope: tuple[str, ...]
    mark: Mark | None
    path: str


@dataclass
class Node:
    """One layer: every attribute concrete, pointing back at its YAML line."""

    name: str
    op: str
    args: OpArgs
    inputs: list[Any]  # node names; Refs until resolution
    source: Mark | None
    path: str
    stats: Stats | None = None
    scope: tuple[str, ...] = ()  # the name scopes it sits in, outermost first
    block_level: int | None = None  # how many of those lead to the outermost block call it is in (None: none)
    free_shape: tuple[Any, ...] | None = None  # the output shape with None where it follows a variable input size

    @property
    def shape(self) -> tuple[Any, ...]:
        """The output shape, None where it follows an input of any size (``stats.out.shape``: at the example size)."""
        if self.free_shape is not None:
            return self.free_shape
        return self.stats.out.shape if self.stats is not None else ()

    def attrs(self) -> dict[str, Any]:
        """The op's arguments as plain data (initializers as {name: args})."""
        out = {}
        for key in type(self.args).model_fields:
            value = getattr(self.args, key)
            out[key] = value.to_yaml() if hasattr(value, "to_yaml") else value
        return out


INPUT = "input"


@dataclass
class Graph:
    """A whole model: nodes in topological order, its input and outputs."""

    name: str
    input_shape: tuple[int, ...]
    nodes: dict[str, Node]
    outputs: list[str]
    file: str
    meta: dict[str, Any] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)  # every layer and scope name -> its output layer
    features: list[str] = field(default_factory=list)  # the layers `features_only` returns
    example: tuple[int, ...] | None = None  # the input shape analysed where input_shape has None (see example_shape)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The input shape analysed: ``input_shape``, with the example size where it has None."""
        return self.example or self.input_shape

    @property
    def any_size(self) -> bool:
        """Whether the input's rows or cols are None (any size): shapes and multiply-adds are at the example size."""
        return None in self.input_shape

    def final_activation(self, name: str) -> tuple[str, Node]:
        """The activation output ``name`` ends in (``linear`` where none) and the node that applies it, looking
        through dropout and flatten (which leave class scores as they are)."""
        node = self.nodes[name]
        while node.op in ("dropout", "flatten") and len(node.inputs) == 1:
            node = self.nodes[node.inputs[0]]
        fn = getattr(node.args, "fn", None) or getattr(node.args, "activation", None)
        return getattr(fn, "name", "linear"), node

    def totals(self) -> dict[str, int]:
        stats = [n.stats for n in self.nodes.values() if n.stats is not None]
        trainable = sum(s.trainable for s in stats)
        non_trainable = sum(s.non_trainable for s in stats)
        return {
            "params": trainable + non_trainable,
            "trainable_params": trainable,
            "non_trainable_params": non_trainable,
            "madds": sum(s.madds for s in stats),
            "layers": len(self.nodes),
        }


def toposort(nodes: dict[str, Node], outputs: list[str]) -> dict[str, Node]:
    """Nodes in dependency order; a cycle or a node no output uses is a SpecError."""
    used: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name in used or name == INPUT:
            continue
        used.add(name)
        stack.extend(nodes[name].inputs)
    for node in nodes.values():
        if node.name not in used:
            raise SpecError(
                f"layer {node.name!r} does not lead to any output",
                node.source,
                node.path,
                "connect it with from:, list it in outputs:, or remove it",
            )
    index = {name: i for i, name in enumerate(nodes)}
    waiting = {name: sum(1 for i in n.inputs if i != INPUT) for name, n in nodes.items()}
    users: dict[str, list[str]] = {}
    for node in nodes.values():
        for i in node.inputs:
            if i != INPUT:
                users.setdefault(i, []).append(node.name)
    ready = [index[n] for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    names = list(nodes)
    order: dict[str, Node] = {}
    while ready:  # Kahn's algorithm, keeping file order where the graph allows
        name = names[heapq.heappop(ready)]
        order[name] = nodes[name]
        for user in users.get(name, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, index[user])
    if len(order) < len(nodes):
        stuck = [n for n in nodes.values() if n.name not in order]
        raise SpecError(
            f"the layers form a cycle through {', '.join(n.name for n in stuck[:6])}",
            stuck[0].source,
            stuck[0].path,
            "a from: reference points forward to a layer that depends on this one",
        )
    return order
