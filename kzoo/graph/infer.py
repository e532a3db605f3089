"""Static analysis: one walk over the graph computes every node's output
shape, trainable and non-trainable parameters, multiply-adds and receptive
field, without TensorFlow or Keras. An impossible shape is a SpecError that
names the layer and its YAML line.

An input of any size (rows or cols None) is walked twice, at the example size
and at twice it: the first walk gives the figures (multiply-adds are those of
the example size), an output size that differs between the walks is None in
``node.shape``, and weights that differ are an error, since a layer whose
weights depend on the input size (a dense layer after flatten) cannot take any
size.
"""

from __future__ import annotations

from typing import Any

from kzoo.errors import SpecError
from kzoo.graph.node import INPUT, Graph, Node
from kzoo.ops import OPS, ShapeError, Stats, Tensor


def infer(graph: Graph) -> Graph:
    """Fill ``node.stats`` (and ``node.free_shape`` for an input of any size) for every node; return the graph."""
    example = graph.example_shape
    for node, stats in zip(graph.nodes.values(), _walk(graph, example, ""), strict=True):
        node.stats = stats
        node.free_shape = None
    if not graph.any_size:
        return graph
    larger = tuple(2 * d if free is None else d for d, free in zip(example, graph.input_shape, strict=True))
    at = f" at {larger[0]}x{larger[1]}, which an input of any size must take"
    for node, other in zip(graph.nodes.values(), _walk(graph, larger, at), strict=True):
        _compare(node, other, example)
    return graph


def _walk(graph: Graph, shape: tuple[int, ...], at: str) -> Any:
    tensors = {INPUT: Tensor(shape, 1, 1)}
    for node in graph.nodes.values():
        try:
            stats = OPS.get(node.op).infer(node.args, [tensors[i] for i in node.inputs])
        except ShapeError as exc:
            ins = ", ".join(f"{i} {tensors[i].shape}" for i in node.inputs)
            raise SpecError(
                f"layer {node.name!r}: {exc.message} (input: {ins}){at}", node.source, node.path, exc.hint
            ) from None
        tensors[node.name] = stats.out
        yield stats


def _compare(node: Node, other: Stats, example: tuple[int, ...]) -> None:
    mine = node.stats
    assert mine is not None
    if (mine.trainable, mine.non_trainable) != (other.trainable, other.non_trainable):
        raise SpecError(
            f"layer {node.name!r} has {mine.trainable + mine.non_trainable:,} weights at {example[0]}x{example[1]} "
            f"and {other.trainable + other.non_trainable:,} at twice that size: its weights depend on the input "
            "size, so the input cannot be of any size",
            node.source,
            node.path,
            "give the input a fixed size, or pool globally before the dense layers "
            "(kzoo.load(..., include_top=False, pooling='avg'))",
        )
    a, b = mine.out.shape, other.out.shape
    node.free_shape = tuple(x if x == y else None for x, y in zip(a, b, strict=True)) if a != b else None
