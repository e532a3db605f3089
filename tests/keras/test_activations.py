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
