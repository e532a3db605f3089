"""A Keras model's class scores: probabilities or logits (the rule is :mod:`kzoo.score_kind`), read off its layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from kzoo.keras.history import inner_output, producer
from kzoo.score_kind import kind

# Layers that pass scores through unchanged in kind: the activation that counts is the one before them.
PASS_THROUGH = ("Dropout", "Flatten", "Reshape", "Identity", "Cast")


def activation_name(layer: Any) -> str:
    """The name of the activation a layer ends in (``linear`` for a layer without one)."""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "linear"
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def output_kind(model: Any, index: int = 0) -> str:
    """``"probabilities"`` or ``"logits"`` for the model's output ``index``; a KzooError for anything else."""
    tensor = model.outputs[index]
    while True:
        inner = inner_output(tensor)  # a nested model's output: look inside it
        if inner is not None:
            tensor = inner
            continue
        layer, inputs = producer(tensor)
        if type(layer).__name__ in PASS_THROUGH and len(inputs) == 1:
            tensor = inputs[0]
            continue
        return kind(activation_name(layer), layer.name)


def is_logits(model: Any, index: int = 0) -> bool:
    return output_kind(model, index) == "logits"


def to_probabilities(scores: np.ndarray, logits: bool) -> np.ndarray:
    """Scores as probabilities: a (numerically stable) softmax over the last axis for logits, else as they are."""
    scores = np.asarray(scores)
    if not logits:
        return scores
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
