"""Class scores: which outputs hold probabilities, which logits, which neither (kzoo.score_kind, kzoo.keras.scores)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kzoo import score_kind
from kzoo.errors import KzooError, Mark, SpecError
from kzoo.keras.scores import output_kind, to_probabilities
from kzoo.ops.functions import ACTIVATIONS


def test_every_registered_activation_is_probabilities_logits_or_refused():
    for name in ACTIVATIONS.names():
        if name in score_kind.PROBABILITIES:
            assert score_kind.kind(name, "out") == "probabilities"
        elif name in score_kind.LOGITS:
            assert score_kind.kind(name, "out") == "logits"
        else:
            with pytest.raises(KzooError, match=f"ends in {name}, which gives no class probabilities"):
                score_kind.kind(name, "out")
    assert score_kind.PROBABILITIES | score_kind.LOGITS <= set(ACTIVATIONS.names())
    with pytest.raises(SpecError) as err:
        score_kind.kind("relu", "fc8", Mark("m.yaml", 7, 5), "layers[3].dense")
    assert (err.value.line, err.value.path) == (7, "layers[3].dense") and "softmax" in err.value.hint


def _model(*top):
    x = keras.Input((6,))
    h = keras.layers.Dense(4, name="fc")(x)
    for layer in top:
        h = layer(h)
    return keras.Model(x, h)


@pytest.mark.parametrize(
    "top, expected",
    [
        ([keras.layers.Dense(3, activation="softmax")], "probabilities"),
        ([keras.layers.Dense(3)], "logits"),
        ([keras.layers.Dense(3), keras.layers.Softmax()], "probabilities"),
        ([keras.layers.Dense(3), keras.layers.Activation("softmax")], "probabilities"),
        ([keras.layers.Dense(3, activation="softmax"), keras.layers.Dropout(0.5)], "probabilities"),
        ([keras.layers.Dense(3), keras.layers.Dropout(0.5)], "logits"),
    ],
)
def test_the_output_kind_is_read_off_the_last_activation(top, expected):
    assert output_kind(_model(*top)) == expected


def test_a_nested_head_is_looked_into_and_other_activations_are_refused():
    inner_in = keras.Input((4,))
    head = keras.Model(inner_in, keras.layers.Dense(3, activation="softmax")(inner_in), name="head")
    assert output_kind(_model(head)) == "probabilities"
    linear = keras.Model(inner_in, keras.layers.Dense(3)(inner_in), name="linear_head")
    assert output_kind(_model(linear)) == "logits"
    with pytest.raises(KzooError, match="'dense_relu' ends in relu"):
        output_kind(_model(keras.layers.Dense(3, activation="relu", name="dense_relu")))
    with pytest.raises(KzooError, match="ends in sigmoid"):
        output_kind(_model(keras.layers.Dense(3), keras.layers.Activation("sigmoid")))


def test_logits_become_keras_softmax_probabilities():
    z = np.random.default_rng(0).normal(0, 30, (5, 7)).astype("float32")
    p = to_probabilities(z, logits=True)
    np.testing.assert_allclose(p, np.asarray(keras.ops.softmax(z)), rtol=1e-5, atol=1e-7)
    assert to_probabilities(p, logits=False) is not None and np.allclose(to_probabilities(p, False), p)


def test_a_linear_output_trains_on_the_loss_of_its_softmax():
    """compile_model gives a logits output Keras' cross-entropy from logits: the same loss, gradients and
    accuracy as the softmax model with the same weights (before: the logits were read as probabilities)."""
    from kzoo.train.fit import compile_model
    from kzoo.train.recipe import Recipe

    x = np.random.default_rng(1).normal(size=(64, 6)).astype("float32")
    y = np.random.default_rng(2).integers(0, 3, 64)
    keras.utils.set_random_seed(0)
    linear = _model(keras.layers.Dense(3, name="out"))
    soft = _model(keras.layers.Dense(3, name="out", activation="softmax"))
    soft.set_weights(linear.get_weights())
    for model in (linear, soft):
        compile_model(model, Recipe())
    np.testing.assert_allclose(linear.evaluate(x, y, verbose=0), soft.evaluate(x, y, verbose=0), rtol=1e-5)
    linear.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    soft.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(linear.get_weights(), soft.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
