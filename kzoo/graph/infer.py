"""Static analysis: one walk over the graph computes every node's output
shape, trainable and non-trainable parameters, multiply-adds and receptive
field, without TensorFlow or Keras. An impossible shape is a SpecError that
names the layer and its YAML line.
"""

from __future__ import annotations

from kzoo.errors import SpecError
from kzoo.graph.node import INPUT, Graph
from kzoo.ops import OPS, ShapeError, Tensor


def infer(graph: Graph) -> Graph:
    """Fill ``node.stats`` for every node (in place) and return the graph."""
    tensors = {INPUT: Tensor(graph.input_shape, 1, 1)}
    for node in graph.nodes.values():
        op = OPS.get(node.op)
        try:
            node.stats = op.infer(node.args, [tensors[i] for i in node.inputs])
        except ShapeError as exc:
            ins = ", ".join(f"{i} {tensors[i].shape}" for i in node.inputs)
            raise SpecError(
                f"layer {node.name!r}: {exc.message} (input: {ins})", node.source, node.path, exc.hint
            ) from None
        tensors[node.name] = node.stats.out
    return graph
