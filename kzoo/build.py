"""Build: a graph becomes a functional ``keras.Model``, one layer per node.

Nothing is decided here: every argument (initializers and activations
included) comes from the node, which expansion made concrete.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError
from kzoo.graph import INPUT, Graph, analyse
from kzoo.ops import OPS
from kzoo.spec.resolve import Spec


def build_graph(graph: Graph, front: Any = None, weight_decay: float = 0.0) -> Any:
    """The Keras model of an analysed graph.

    ``front`` (a Keras layer, e.g. the training recipe's normalisation) is
    applied to the input first; ``weight_decay`` λ adds L2(λ/2)·||w||² for
    every conv and dense kernel that has no ``weight_decay`` of its own (so
    SGD's step gains −ηλw).
    """
    import keras

    import kzoo.keras  # noqa: F401  (registers kzoo's custom objects)

    model_input = keras.Input(shape=graph.input_shape, name=INPUT)
    tensors = {INPUT: front(model_input) if front is not None else model_input}
    for node in graph.nodes.values():
        layer = OPS.get(node.op).keras_layer(node.args, node.name)
        if weight_decay and getattr(layer, "kernel_regularizer", False) is None:  # a layer's own lambda wins
            layer.kernel_regularizer = keras.regularizers.L2(weight_decay / 2)
        ins = [tensors[i] for i in node.inputs]
        tensors[node.name] = layer(ins if OPS.get(node.op).max_inputs != 1 else ins[0])
    outputs = [tensors[o] for o in graph.outputs]
    return keras.Model(model_input, outputs[0] if len(outputs) == 1 else outputs, name=graph.name)


def build(source: str | Path | Spec | Graph, overrides: Mapping[str, Any] | None = None, **params: Any) -> Any:
    """Build a Keras model from a YAML file (or a spec or graph).

    >>> model = kzoo.build("architectures/vgg16.yaml", classes=10)
    """
    graph = source if isinstance(source, Graph) else analyse(source, {**(overrides or {}), **params}, "kzoo.build()")
    return build_graph(graph)


def save_atomic(model: Any, out: Path) -> Path:
    """Save to a temporary file beside ``out``, then rename: never half-written."""
    if out.suffix != ".keras":
        raise KzooError(f"the output file must end in .keras, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
