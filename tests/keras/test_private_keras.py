"""Every reliance of kzoo on a protected Keras member, checked on the installed Keras.

kzoo.keras.history reads a symbolic tensor's ``_keras_history`` and a layer's
``_inbound_nodes`` (to walk a model back from its output through nested models);
kzoo.keras.optimizers uses ``Optimizer._track_variable`` and ``_get_variable_index``
(as Keras' own optimizers do); kzoo.train.compat replaces two trainer functions (its
own test pins their source). An upgrade of Keras that changes any of these fails here.
"""

from __future__ import annotations

import keras
import numpy as np

from kzoo.keras.history import KERAS_VERSION, producer
from kzoo.keras.optimizers import SGD


def test_the_keras_version_is_the_one_these_were_checked_on():
    assert keras.__version__.startswith(KERAS_VERSION + "."), (
        f"Keras {keras.__version__}: re-check kzoo/keras/history.py and kzoo/keras/optimizers.py, then update "
        "KERAS_VERSION"
    )


def test_producer_walks_back_through_a_nested_model():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    x = keras.Input((5,))
    h = keras.layers.Dense(4, name="pre")(x)
    out = keras.layers.Activation("softmax", name="soft")(inner(h))
    model = keras.Model(x, out)
    layer, inputs = producer(model.outputs[0])
    assert layer.name == "soft" and len(inputs) == 1
    layer, inputs = producer(inputs[0])
    assert layer.name == "inner" and inputs[0] is h  # the tensor the nested model was called on, not its Input
    layer, inputs = producer(inputs[0])
    assert layer.name == "pre" and inputs[0] is x


def test_the_sgd_momentum_variable_is_tracked_and_slots_are_found():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    opt = SGD(0.1, momentum=0.5)
    model.compile(opt, "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    assert any(v is opt.momentum_variable for v in opt.variables)  # saved with the optimizer
    kernel = model.layers[0].kernel
    assert opt.momentums[opt._get_variable_index(kernel)].shape == kernel.shape
