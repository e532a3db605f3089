"""kzoo's Keras initializers (registered, so saved models reload).

The standard rules (LeCun, Glorot, He, orthogonal, variance scaling) are
Keras's own; kzoo adds only what Keras lacks.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kzoo")
class TorchLegacy(keras.initializers.VarianceScaling):
    """U[-1/sqrt(n_in), 1/sqrt(n_in)]: Var(w) = 1 / (3 n_in).

    The default of Lua Torch and early PyTorch ``nn.Linear``/``nn.Conv2d``
    (``reset_parameters``), kept to show the mistake the lectures warn about:
    with tanh, each layer multiplies the activation variance by about 1/3, so
    signals vanish in deep plain networks (Glorot & Bengio 2010, He et al.
    2015 derive the factor that keeps it at 1).

    Equal to ``variance_scaling(scale=1/3, mode=fan_in, distribution=uniform)``.

    YAML::

        conv: {filters: 64, kernel: 3, init: torch_legacy}
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, (int, type(None))) else None}
