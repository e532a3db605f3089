"""Which layer made a symbolic tensor, from which inputs: Keras 3's private node history, in one place.

Keras 3 has no public way to walk a functional model backwards from a tensor when
the path crosses a nested model: ``layer.input`` of a nested model is its own inner
``Input``, not the tensor it was called on, and ``layer.output`` fails for a layer
used twice. kzoo needs the walk to find a network's classifier (``kzoo finetune``
cuts below it) and whether its output is a softmax. Measured with Keras 3.15.1: a
symbolic tensor's ``_keras_history`` is ``(operation, node_index, tensor_index)``,
and ``operation._inbound_nodes[node_index].input_tensors`` are the tensors that
call consumed. ``tests/keras/test_private_keras.py`` pins the Keras version this was
checked against and checks the walk on a nested model, so an upgrade of Keras
fails that test (and this module is re-checked) rather than silently misbehaving.
"""

from __future__ import annotations

from typing import Any

KERAS_VERSION = "3.15"  # the minor version the private attributes below were checked on


def producer(tensor: Any) -> tuple[Any, list[Any]]:
    """(the layer that computed ``tensor``, the tensors it was called on in that call)."""
    history = tensor._keras_history
    layer = history.operation
    return layer, list(layer._inbound_nodes[history.node_index].input_tensors)


def inner_output(tensor: Any) -> Any | None:
    """For a tensor a nested model computed, that model's own output tensor it stands for; else None."""
    history = tensor._keras_history
    outputs = getattr(history.operation, "outputs", None)
    if not isinstance(outputs, (list, tuple)) or not hasattr(history.operation, "layers"):
        return None
    return outputs[history.tensor_index]
