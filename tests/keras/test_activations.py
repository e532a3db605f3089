"""Activations: values against their formulas, arguments, serialization."""

from __future__ import annotations

import numpy as np
import pytest

from kzoo.ops import ACTIVATIONS

X = np.linspace(-4, 4, 41, dtype="float32").reshape(1, 41)

# name -> (args, numpy formula); checked against the registry below.
FORMULAS = {
    "relu": ({}, lambda x: np.maximum(x, 0)),
    "leaky_relu": ({"beta": 0.1}, lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": ({"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    "sigmoid": ({}, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": ({}, np.tanh),
    "lecun_tanh": ({}, lambda x: 1.7159 * np.tanh(2 * x / 3)),
    "hard_tanh": ({}, lambda x: np.clip(x, -1, 1)),
    "softmax": ({}, lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    "linear": ({}, lambda x: x),
    # LeCun et al. 1998, Eq. 9: a softmax over the classes and a rubbish class of score -j
    "map_softmax": ({"j": 2.0}, lambda x: np.exp(x) / (np.exp(-2.0) + np.exp(x).sum(axis=-1, keepdims=True))),
}


def test_formulas_cover_the_registry():
    assert sorted(FORMULAS) == ACTIVATIONS.names()


def make(name, **args):
    import keras

    fn = ACTIVATIONS.get(name)
    obj = fn.make(fn.Args.model_validate(args).model_dump())
    return keras.activations.get(obj)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_values_match_formula(name):
    args, formula = FORMULAS[name]
    got = np.asarray(make(name, **args)(X))
    np.testing.assert_allclose(got, formula(X), rtol=1e-5, atol=1e-6)


def test_lecun_tanh_maps_one_to_one():
    assert float(np.asarray(make("lecun_tanh")(np.array([1.0], "float32")))[0]) == pytest.approx(1.0, abs=2e-4)


def test_leaky_relu_beta_range_is_enforced():
    from pydantic import ValidationError

    fn = ACTIVATIONS.get("leaky_relu")
    for beta in (-0.1, 1.5):
        with pytest.raises(ValidationError):
            fn.Args.model_validate({"beta": beta})


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_serialization_round_trip_in_a_layer(name):
    import keras

    import kzoo.keras  # noqa: F401

    layer = keras.layers.Dense(3, activation=make(name, **FORMULAS[name][0]))
    again = keras.layers.Dense.from_config(layer.get_config())
    x = np.ones((2, 4), "float32")
    layer.build((None, 4))
    again.build((None, 4))
    again.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(layer(x)), rtol=1e-6)


def test_map_softmax_is_stable_and_its_nll_is_eq_9():
    """-log p_correct of map_softmax on scores -y equals y_D + log(e^-j + sum_i e^-y_i) (Eq. 9), also for
    penalties far too large for a naive exp."""
    from kzoo.keras.losses import NegativeLogLikelihood

    rng = np.random.default_rng(0)
    for scale in (1.0, 500.0):
        y = rng.uniform(0, scale, (6, 10))  # RBF penalties
        labels = rng.integers(0, 10, 6)
        j = 1.5
        p = np.asarray(make("map_softmax", j=j)(-y.astype("float32")), np.float64)
        assert np.isfinite(p).all() and (p.sum(axis=-1) < 1).all()
        low = np.minimum(y.min(axis=-1), j)  # log-sum-exp computed stably in float64
        eq9 = y[np.arange(6), labels] - low + np.log(np.exp(low - j) + np.exp(low[:, None] - y).sum(axis=-1))
        per_sample = -np.log(p[np.arange(6), labels])
        np.testing.assert_allclose(per_sample, np.minimum(eq9, 80.0), rtol=1e-4)  # p >= e^-80, the floor
        loss = float(NegativeLogLikelihood()(labels, p.astype("float32")))
        assert loss == pytest.approx(per_sample.mean(), rel=1e-4)


def test_the_nll_of_a_softmax_is_keras_cross_entropy():
    import keras

    from kzoo.keras.losses import NegativeLogLikelihood

    x = np.random.default_rng(1).normal(0, 2, (8, 5)).astype("float32")
    p = np.asarray(keras.activations.softmax(x))
    labels = np.arange(8) % 5
    ours = float(NegativeLogLikelihood()(labels, p))
    assert ours == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(labels, p)), rel=1e-5)
    clone = keras.losses.deserialize(keras.losses.serialize(NegativeLogLikelihood()))
    assert float(clone(labels, p)) == pytest.approx(ours)


def test_map_softmax_keeps_eq_9s_gradient_where_exp_underflows():
    """An untrained LeNet-5's penalties are about 100 (e^-100 is 0 in float32): the floor at e^-80 lifts the
    value only, so d(-log p_D)/d(score_D) is still Eq. 9's, -(1 - p_D) = -1, and the others' p_i."""
    import tensorflow as tf

    from kzoo.keras.losses import NegativeLogLikelihood

    scores = tf.Variable(-np.array([[120.0, 150.0, 200.0]], "float32"))
    with tf.GradientTape() as tape:
        loss = NegativeLogLikelihood()(np.array([0]), make("map_softmax", j=1.0)(scores))
    grad = tape.gradient(loss, scores).numpy()
    np.testing.assert_allclose(grad, [[-1.0, 0.0, 0.0]], atol=1e-6)
    assert float(loss) == pytest.approx(80.0)  # the value is floored (Eq. 9's is 119)
