"""kzoo's Keras activations: serializable callables written with ``keras.ops``.

Each is a small class with ``get_config`` so a parametrised activation
(``leaky_relu`` with its ``beta``) survives ``model.save``/``load_model``.
"""

from __future__ import annotations

import keras
from keras import ops


class _Activation:
    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> _Activation:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


@keras.saving.register_keras_serializable(package="kzoo")
class LecunTanh(_Activation):
    """Scaled tanh of LeCun et al. 1998 (Efficient BackProp): f(x) = 1.7159 tanh(2x/3).

    Chosen so that f(±1) = ±1 and the effective gain is near 1 where the
    inputs are normalised; its second derivative peaks at x = 1.
    """

    __name__ = "lecun_tanh"

    def __call__(self, x):
        return 1.7159 * ops.tanh(x * (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="kzoo")
class LeakyReLU(_Activation):
    """f(x) = x for x > 0, beta·x otherwise (Maas et al. 2013); beta in [0, 1]."""

    __name__ = "leaky_relu"

    def __init__(self, beta: float = 0.01):
        self.beta = float(beta)

    def __call__(self, x):
        return ops.leaky_relu(x, negative_slope=self.beta)

    def get_config(self) -> dict:
        return {"beta": self.beta}


@keras.saving.register_keras_serializable(package="kzoo")
class ELU(_Activation):
    """f(x) = x for x > 0, alpha·(exp(x) − 1) otherwise (Clevert et al. 2016)."""

    __name__ = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def __call__(self, x):
        return ops.elu(x, alpha=self.alpha)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


@keras.saving.register_keras_serializable(package="kzoo")
class MapSoftmax(_Activation):
    """The posterior of LeCun et al.'s MAP criterion (1998, Section II-C, Eq. 9): a softmax with a rubbish class.

    For scores x_i (LeNet-5's RBF units give x_i = −y_i, minus the penalties),
    p_i = exp(x_i) / (exp(−j) + Σ_k exp(x_k)): the classes' share of a softmax
    over the K classes and one more whose penalty is the constant j. The K values
    sum to less than 1 (the rest is the rubbish class), and −log p_correct is
    exactly Eq. 9: y_correct + log(exp(−j) + Σ_k exp(−y_k)).
    """

    __name__ = "map_softmax"
    LOG_FLOOR = -80.0  # probabilities below e^-80 (1.8e-35) read as e^-80, so float32 never rounds them to 0

    def __init__(self, j: float = 1.0):
        self.j = float(j)

    def __call__(self, x):
        rubbish = ops.full_like(x[..., :1], -self.j)
        top = ops.maximum(ops.max(x, axis=-1, keepdims=True), rubbish)  # stable: subtract the largest score
        log_z = top + ops.log(ops.exp(rubbish - top) + ops.sum(ops.exp(x - top), axis=-1, keepdims=True))
        log_p = x - log_z
        # The floor lifts the value only: the gradient stays that of log_p, so -log p keeps Eq. 9's gradient
        # where the penalties are large (an untrained LeNet-5's are about 100: e^-100 is 0 in float32).
        log_p = log_p + ops.stop_gradient(ops.maximum(self.LOG_FLOOR - log_p, 0.0))
        return ops.exp(log_p)

    def get_config(self) -> dict:
        return {"j": self.j}
