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


def test_partial_conv_reads_only_its_table_and_holds_only_connected_weights():
    from kzoo.keras.lenet import PartialConv2D

    table = [[0], [1, 2], [0, 1, 2]]
    layer = PartialConv2D(3, (3, 3), table, kernel_initializer="he_normal")
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 3)).astype("float32")
    y = np.asarray(layer(x))
    assert layer.kernel.shape == (9 * 6,)
    full = np.zeros((3, 3, 3, 3), "float32")
    flat, pos = np.asarray(layer.kernel), 0
    for j, row in enumerate(table):
        for c in row:
            full[:, :, c, j] = flat[pos : pos + 9].reshape(3, 3)
            pos += 9
    want = np.zeros((2, 4, 4, 3), "float32")
    for r in range(4):
        for c in range(4):
            want[:, r, c, :] = np.einsum("bijk,ijkl->bl", x[:, r : r + 3, c : c + 3, :], full)
    np.testing.assert_allclose(y, want + np.asarray(layer.bias), rtol=1e-5, atol=1e-5)
    x2 = x.copy()
    x2[..., 0] += 1.0  # map 1 does not read input map 0
    np.testing.assert_allclose(np.asarray(layer(x2))[..., 1], y[..., 1], rtol=1e-6)


def test_partial_conv_initializer_sees_each_maps_real_fan_in():
    from kzoo.keras.lenet import PartialConv2D

    table = [[0]] * 200 + [[0, 1, 2, 3]] * 200
    layer = PartialConv2D(400, (5, 5), table, kernel_initializer="lecun_normal")
    layer.build((None, 9, 9, 4))
    w = np.asarray(layer.kernel)
    assert w[: 200 * 25].var() == pytest.approx(1 / 25, rel=0.1)
    assert w[200 * 25 :].var() == pytest.approx(1 / 100, rel=0.1)


def test_trainable_subsampling_is_coefficient_times_window_sum_plus_bias():
    from kzoo.keras.lenet import TrainableSubsampling

    layer = TrainableSubsampling((2, 2), mode="sum", activation="tanh")
    x = np.random.default_rng(4).normal(size=(1, 4, 4, 2)).astype("float32")
    layer.build(x.shape)
    layer.coefficient.assign(np.array([0.5, -2.0], "float32"))
    layer.bias.assign(np.array([0.1, 0.2], "float32"))
    window_sum = x.reshape(1, 2, 2, 2, 2, 2).sum(axis=(2, 4))
    want = np.tanh(window_sum * np.array([0.5, -2.0]) + np.array([0.1, 0.2]))
    np.testing.assert_allclose(np.asarray(layer(x)), want, rtol=1e-5)


def test_rbf_is_minus_squared_distance_to_fixed_prototypes():
    from kzoo.keras.initializers import digit_bitmaps
    from kzoo.keras.lenet import EuclideanRBF

    layer = EuclideanRBF(10)
    x = digit_bitmaps().T[[3, 7]]  # inputs equal to the prototypes of 3 and 7
    y = np.asarray(layer(x))
    assert list(y.argmax(axis=1)) == [3, 7] and y[0, 3] == 0.0
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 1


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("PartialConv2D", {"filters": 2, "kernel_size": (3, 3), "table": [[0], [0, 1]]}),
        ("TrainableSubsampling", {"mode": "mean"}),
        ("EuclideanRBF", {"units": 10}),
    ],
)
def test_lenet_layers_config_round_trip(cls, kwargs):
    import keras

    import kzoo.keras.lenet as lenet

    layer = getattr(lenet, cls)(**kwargs)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
