"""An SGD whose momentum is a variable, which Keras lacks.

Keras 3.15's ``SGD.momentum`` is a Python float: a callback that changes it
reads back the new value, but the compiled train step keeps the old one, and
``SGD(momentum=0.0)`` creates no momentum slots at all. :class:`SGD` keeps the
momentum in a ``keras.Variable`` (saved with the optimizer) and always has
its slots, so a momentum ramp (kzoo.train.callbacks.MomentumRamp) can move it.

    v <- mu v - eta g;   w <- w + v             (classical)
    w <- w + mu v - eta g                       (Nesterov, as Keras writes it)

Two protected members of ``keras.optimizers.Optimizer`` are used, as Keras' own
optimizers use them (checked with Keras 3.15.1): ``_track_variable`` (so the
momentum variable is saved with the optimizer) and ``_get_variable_index`` (the
slot of a variable). ``tests/keras/test_private_keras.py`` checks both exist and
behave so on the installed Keras: an upgrade that changes them fails that test.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class SGD(keras.optimizers.SGD):
    """SGD with (Nesterov) momentum held in a variable that callbacks can assign."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=0.0, nesterov=nesterov, **kwargs)
        with keras.name_scope(self.name, caller=self):
            self.momentum_variable = keras.Variable(
                float(momentum), name="momentum", dtype="float32", trainable=False, aggregation="only_first_replica"
            )
        self._track_variable(self.momentum_variable)

    @property
    def momentum(self):  # read by Keras' SGD code and get_config; the variable is the truth
        var = getattr(self, "momentum_variable", None)
        return 0.0 if var is None else float(ops.convert_to_numpy(var))

    @momentum.setter
    def momentum(self, value):
        if getattr(self, "momentum_variable", None) is not None:
            self.momentum_variable.assign(float(value))

    def build(self, variables):
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        mu = ops.cast(self.momentum_variable, variable.dtype)
        self.assign(m, ops.subtract(ops.multiply(m, mu), ops.multiply(gradient, learning_rate)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, mu), ops.multiply(gradient, learning_rate)))
        else:
            self.assign_add(variable, m)

    def get_config(self):
        config = super().get_config()
        config["momentum"] = self.momentum
        return config
