"""kzoo's Keras layers against direct NumPy computations."""

from __future__ import annotations

import numpy as np
import pytest


def lrn_numpy(a, n, k, alpha, beta, mode):
    c = a.shape[-1]
    out = np.empty_like(a)
    for i in range(c):
        lo, hi = max(0, i - n // 2), min(c, i + n - n // 2)
        total = (a[..., lo:hi] ** 2).sum(-1)
        scale = alpha / n if mode == "mean" else alpha
        out[..., i] = a[..., i] / (k + scale * total) ** beta
    return out


@pytest.mark.parametrize("mode", ["mean", "sum"])
@pytest.mark.parametrize("n", [3, 5])
def test_lrn_matches_the_paper_formula(mode, n):
    from kzoo.keras.layers import LocalResponseNormalization

    a = np.random.default_rng(0).normal(size=(2, 3, 3, 9)).astype("float32") * 3
    layer = LocalResponseNormalization(n=n, k=2.0, alpha=1e-2, beta=0.75, alpha_mode=mode)
    np.testing.assert_allclose(np.asarray(layer(a)), lrn_numpy(a, n, 2.0, 1e-2, 0.75, mode), rtol=1e-5)


def test_lrn_sum_mode_equals_tf_nn_lrn():
    tf = pytest.importorskip("tensorflow", reason="tf.nn.lrn is the TensorFlow reference")
    from kzoo.keras.layers import LocalResponseNormalization

    a = np.random.default_rng(1).normal(size=(1, 4, 4, 16)).astype("float32")
    ref = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    got = LocalResponseNormalization(n=5, k=2.0, alpha=1e-4, beta=0.75, alpha_mode="sum")(a)
    np.testing.assert_allclose(np.asarray(got), ref.numpy(), rtol=1e-6)


def test_l2_pooling_is_root_mean_square():
    from kzoo.keras.layers import L2Pooling2D

    a = np.random.default_rng(2).normal(size=(1, 4, 6, 2)).astype("float32")
    got = np.asarray(L2Pooling2D((2, 2), (2, 2))(a))
    want = np.sqrt((a.reshape(1, 2, 2, 3, 2, 2) ** 2).mean(axis=(2, 4)))
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("LocalResponseNormalization", {"n": 3, "alpha_mode": "sum"}),
        ("L2Pooling2D", {"pool_size": (3, 3), "strides": (1, 1)}),
    ],
)
def test_config_round_trip(cls, kwargs):
    import keras

    import kzoo.keras.layers as layers

    layer = getattr(layers, cls)(**kwargs)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
