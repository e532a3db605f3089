"""The optimizers a recipe names (``sgd``, ``rmsprop``, ``adagrad``, ``adadelta``, ``adam``).

``sgd`` is kzoo's SGD (kzoo.keras.optimizers), whose momentum is a variable a ramp can move.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from kzoo.errors import SpecError
from kzoo.keras.optimizers import SGD

__all__ = ["SGD", "make_optimizer"]


def make_optimizer(spec: Any, learning_rate: float) -> Any:
    """The optimizer a recipe names (``sgd``, ``rmsprop``, ``adagrad``, ``adadelta``, ``adam``)."""
    name = spec.name
    if name == "sgd":
        return SGD(learning_rate, momentum=spec.momentum, nesterov=spec.nesterov)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, rho=spec.rho, momentum=spec.momentum, epsilon=spec.epsilon)
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate, epsilon=spec.epsilon)
    if name == "adadelta":
        return keras.optimizers.Adadelta(learning_rate, rho=spec.rho, epsilon=spec.epsilon)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=spec.beta_1, beta_2=spec.beta_2, epsilon=spec.epsilon)
    raise SpecError(f"unknown optimizer {name!r}")


def kernel_decay(weight_decay: float) -> Callable[[Any], None] | None:
    """The recipe's weight decay as the builder's ``configure``: λ adds L2(λ/2)·||w||² for every conv and dense
    kernel that has no ``weight_decay`` of its own (a layer's own λ wins), so SGD's step gains −ηλw. None for 0."""
    if not weight_decay:
        return None

    def configure(layer: Any) -> None:
        if getattr(layer, "kernel_regularizer", False) is None:
            layer.kernel_regularizer = keras.regularizers.L2(weight_decay / 2)

    return configure
