"""The builder: a graph becomes a functional ``keras.Model``, one layer per node.

Nothing is decided here: every argument (initializers and activations
included) comes from the node, which expansion made concrete; what training adds
to layers (the recipe's weight decay) comes in through ``configure``. A model whose
weights cannot fit in memory is refused before Keras allocates them
(:mod:`kzoo.graph.budget`). The saved-model format is :mod:`kzoo.saved`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kzoo.graph import INPUT, Graph
from kzoo.graph.budget import check_weights
from kzoo.ops import OPS
from kzoo.saved import graph_meta, meta, set_meta

if TYPE_CHECKING:
    import keras


def build_graph(
    graph: Graph, front: Any = None, input_tensor: Any = None, configure: Callable[[Any], None] | None = None
) -> keras.Model:
    """The Keras model of an analysed graph.

    ``front`` (a Keras layer, e.g. the training recipe's normalisation) is applied to the input first.
    ``input_tensor`` (a Keras tensor, e.g. another model's output) is used as the input instead of a new
    ``keras.Input``; the model's inputs are then those it comes from. ``configure(layer)`` is called on each
    layer before it is connected (kzoo.train.optim.kernel_decay: the recipe's weight decay).
    """
    check_weights(graph)
    import keras

    import kzoo.keras  # noqa: F401  (registers kzoo's custom objects)

    model_input = keras.Input(shape=graph.input_shape, name=INPUT) if input_tensor is None else input_tensor
    tensors = {INPUT: front(model_input) if front is not None else model_input}
    for node in graph.nodes.values():
        layer = OPS.get(node.op).keras_layer(node.args, node.name)
        if configure is not None:
            configure(layer)
        ins = [tensors[i] for i in node.inputs]
        tensors[node.name] = layer(ins if OPS.get(node.op).max_inputs != 1 else ins[0])
    outputs = [tensors[o] for o in graph.outputs]
    inputs = model_input if input_tensor is None else keras.utils.get_source_inputs(input_tensor)
    model = keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name=graph.name)
    set_meta(model, graph_meta(graph))
    return model


def rebuild_with_front(model: Any, graph: Graph, front: Any) -> keras.Model:
    """``graph`` built again with ``front`` (e.g. a normalisation layer) after its input, ``model``'s weights
    copied into it layer by layer by name (``model`` is ``graph`` built without the front)."""
    fronted = build_graph(graph, front=front)
    for layer in model.layers:
        if layer.weights:
            fronted.get_layer(layer.name).set_weights(layer.get_weights())
    set_meta(fronted, meta(model))
    return fronted
