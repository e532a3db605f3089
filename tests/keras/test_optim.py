"""The variable-momentum SGD: a ramped momentum really reaches the compiled update."""

from __future__ import annotations

import numpy as np
import pytest

from kzoo.train.callbacks import MomentumRamp
from kzoo.train.optim import SGD


def one_weight_model(jit):
    import keras

    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(x))
    model.compile(SGD(0.1, momentum=0.5, nesterov=False), loss=lambda y, p: keras.ops.mean(p), jit_compile=jit)
    return model


@pytest.mark.parametrize("jit", [False, True])
def test_ramped_momentum_is_used_by_the_compiled_step(jit):
    model = one_weight_model(jit)
    x = np.array([[1.0, 2.0, 3.0]], "float32")
    ramp = MomentumRamp(0.5, 0.9, steps=4)
    model.fit(x, np.zeros((1, 1)), epochs=6, batch_size=1, callbacks=[ramp], verbose=0, shuffle=False)
    # By hand: g = x (d mean(w.x) / dw), v <- mu v - lr g, w <- w + v, mu from the ramp at each step.
    w, v = np.ones(3), np.zeros(3)
    for step in range(6):
        mu = ramp.value(step)
        v = mu * v - 0.1 * x[0]
        w = w + v
    np.testing.assert_allclose(model.get_weights()[0][:, 0], w, rtol=1e-5)
    # A constant 0.5 would give a different answer: the test can fail.
    w_const, v = np.ones(3), np.zeros(3)
    for _ in range(6):
        v = 0.5 * v - 0.1 * x[0]
        w_const = w_const + v
    assert not np.allclose(w, w_const, rtol=1e-3)


def test_nesterov_update_matches_keras_sgd():
    import keras

    def run(opt):
        x = keras.Input((2,))
        m = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(x))
        m.compile(opt, loss="mse")
        m.fit(np.array([[1.0, -2.0]], "float32"), np.array([[3.0]]), epochs=5, verbose=0)
        return m.get_weights()[0]

    np.testing.assert_allclose(
        run(SGD(0.05, momentum=0.9, nesterov=True)),
        run(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
        rtol=1e-6,
    )


def test_momentum_zero_still_has_slots_and_the_variable_saves(tmp_path):
    import keras

    model = one_weight_model(False)
    model.optimizer.momentum = 0.0
    x = np.ones((1, 3), "float32")
    model.fit(x, np.zeros((1, 1)), epochs=1, verbose=0)
    assert len(model.optimizer.momentums) == 1
    model.optimizer.momentum_variable.assign(0.77)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", compile=True, safe_mode=False)
    assert isinstance(again.optimizer, SGD)
    assert float(np.asarray(again.optimizer.momentum_variable)) == pytest.approx(0.77)
