"""Initializers: empirical variance against each documented rule, seeds, config round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kzoo.ops import INITIALIZERS

SHAPE = (3, 3, 256, 512)  # a large conv kernel
FAN_IN, FAN_OUT = 3 * 3 * 256, 3 * 3 * 512

# name -> (args, expected mean, expected variance), from the formulas in
# kzoo/ops/functions.py's docstring; checked against the registry below.
RULES = {
    "lecun_normal": ({}, 0.0, 1 / FAN_IN),
    "lecun_uniform": ({}, 0.0, 1 / FAN_IN),
    "glorot_normal": ({}, 0.0, 2 / (FAN_IN + FAN_OUT)),
    "glorot_uniform": ({}, 0.0, 2 / (FAN_IN + FAN_OUT)),
    "he_normal": ({}, 0.0, 2 / FAN_IN),
    "he_uniform": ({}, 0.0, 2 / FAN_IN),
    "torch_legacy": ({}, 0.0, 1 / (3 * FAN_IN)),
    "orthogonal": ({"gain": 2.0}, 0.0, 4 / FAN_IN),  # orthonormal columns of length 2304, scaled by gain
    "zeros": ({}, 0.0, 0.0),
    "ones": ({}, 1.0, 0.0),
    "constant": ({"value": 0.25}, 0.25, 0.0),
    "variance_scaling": ({"scale": 3.0, "mode": "fan_out", "distribution": "uniform"}, 0.0, 3 / FAN_OUT),
    "xavier": ({}, 0.0, 1 / FAN_IN),  # Caffe's default variance_norm: fan_in, so lecun_uniform
    "msra": ({"variance_norm": "fan_out"}, 0.0, 2 / FAN_OUT),
    "gaussian": ({"std": 0.02, "mean": 0.1}, 0.1, 0.0004),
    "random_normal": ({"stddev": 0.01}, 0.0, 1e-4),
    "random_uniform": ({"minval": -0.3, "maxval": 0.3}, 0.0, 0.6**2 / 12),
    "digit_bitmaps": ({}, None, None),
    "random_sign": ({}, 0.0, 1.0),  # fixed +-1 bitmaps: tested on their own below
    "bilinear": ({}, None, None),  # an interpolation kernel: tested on their own below
}


def test_rules_cover_the_registry():
    assert sorted(RULES) == INITIALIZERS.names()


def make(name, **args):
    fn = INITIALIZERS.get(name)
    return fn.make(fn.Args.model_validate(args).model_dump(exclude_none=True))


@pytest.mark.parametrize("name", sorted(n for n in RULES if RULES[n][1] is not None))
def test_empirical_variance_matches_rule(name):
    args, mean, var = RULES[name]
    w = np.asarray(make(name, **args)(SHAPE))
    assert abs(w.mean() - mean) <= 5 * math.sqrt(var / w.size) + 1e-6  # five standard errors
    assert w.var() == pytest.approx(var, rel=0.03, abs=1e-12)


def test_torch_legacy_is_the_uniform_limit_one_over_sqrt_fan_in():
    w = np.asarray(make("torch_legacy", seed=1)(SHAPE))
    limit = 1 / math.sqrt(FAN_IN)
    assert w.max() <= limit and w.min() >= -limit and w.max() > 0.99 * limit


@pytest.mark.parametrize("name", [n for n in sorted(RULES) if "seed" in INITIALIZERS.get(n).Args.model_fields])
def test_seeded_initializers_are_deterministic(name):
    a = np.asarray(make(name, seed=7, **RULES[name][0])((64, 32)))
    b = np.asarray(make(name, seed=7, **RULES[name][0])((64, 32)))
    np.testing.assert_array_equal(a, b)


def test_digit_bitmaps_are_ten_distinct_plus_minus_one_digits():
    w = np.asarray(make("digit_bitmaps")((84, 10)))
    assert set(np.unique(w)) == {-1.0, 1.0}
    assert len({tuple(col) for col in w.T}) == 10
    with pytest.raises(ValueError, match=r"\(84, 10\)"):
        make("digit_bitmaps")((84, 5))


@pytest.mark.parametrize("name", sorted(RULES))
def test_config_round_trip(name):
    import keras

    import kzoo.keras  # noqa: F401

    init = make(name, **RULES[name][0])
    again = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert type(again) is type(init) and again.get_config() == init.get_config()


def test_caffe_fillers_are_the_keras_initializers_they_name():
    import keras

    same = {
        "xavier": keras.initializers.LecunUniform(seed=3),
        "msra": keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=3),
        "gaussian": keras.initializers.RandomNormal(0.0, 0.01, seed=3),
    }
    for name, reference in same.items():
        assert np.array_equal(np.asarray(make(name, seed=3)(SHAPE)), np.asarray(reference(SHAPE))), name


def test_bilinear_upsamples_each_channel_on_its_own_and_keeps_linear_ramps():
    """FCN's bilinear init: a stride-s transposed conv of kernel 2s, cropped by s/2, interpolates bilinearly.
    Checked on what bilinear interpolation must do: constants stay constant and a linear ramp stays a ramp with
    s times the slope (away from the border), and channels do not mix."""
    import keras

    w = np.asarray(make("bilinear")((4, 4, 3, 3)))
    assert np.all(w[:, :, 0, 1] == 0) and np.all(w[:, :, 2, 0] == 0)
    np.testing.assert_allclose(w[:, :, 1, 1], np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25]))
    for s in (2, 4, 8):
        layer = keras.layers.Conv2DTranspose(2, 2 * s, strides=s, use_bias=False, kernel_initializer=make("bilinear"))
        rows = np.arange(6, dtype="float32")
        x = np.stack([np.tile(rows[:, None], (1, 6)), np.full((6, 6), 3.0, "float32")], -1)[None]
        up = np.asarray(layer(x))[0, s // 2 : s // 2 + 6 * s, s // 2 : s // 2 + 6 * s]
        inner = up[s:-s, s:-s]
        np.testing.assert_allclose(inner[..., 1], 3.0, atol=1e-5)
        np.testing.assert_allclose(np.diff(inner[..., 0], axis=0), 1 / s, atol=1e-5)
        np.testing.assert_allclose(np.diff(inner[..., 0], axis=1), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(k, k, c, c\)"):
        make("bilinear")((4, 4, 3, 5))
