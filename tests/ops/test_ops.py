"""Every registered op: schema and defaults, and static rule vs the Keras layer."""

from __future__ import annotations

import numpy as np
import pytest

from kzoo.ops import OPS, Tensor

# One sample per op: (args, input shapes). The test below checks this table
# against the registry, so a new op cannot go untested.
SAMPLES = {
    "conv": ({"filters": 6, "kernel": [3, 5], "stride": 2, "padding": "same", "groups": 2}, [(11, 13, 4)]),
    "dense": ({"units": 7}, [(5,)]),
    "maxpool": ({"pool": 3, "stride": 2}, [(11, 12, 3)]),
    "avgpool": ({"pool": 2, "padding": "same"}, [(7, 7, 2)]),
    "l2pool": ({"pool": 2}, [(8, 8, 3)]),
    "global_avgpool": ({}, [(5, 5, 4)]),
    "global_maxpool": ({"keepdims": True}, [(5, 5, 4)]),
    "flatten": ({}, [(3, 4, 5)]),
    "reshape": ({"shape": [2, 3, 5]}, [(30,)]),
    "dropout": ({"rate": 0.3}, [(4, 4, 2)]),
    "batchnorm": ({"epsilon": 1e-5}, [(4, 4, 6)]),
    "lrn": ({"n": 5, "alpha_mode": "sum"}, [(4, 4, 8)]),
    "zeropad": ({"padding": [[1, 2], [0, 3]]}, [(4, 5, 2)]),
    "activation": ({"fn": {"name": "relu"}}, [(3, 3, 2)]),
    "add": ({}, [(4, 4, 3), (4, 4, 3)]),
    "concat": ({}, [(4, 4, 3), (4, 4, 5)]),
    "partial_conv": ({"filters": 3, "kernel": 3, "table": [[0], [0, 2], [0, 1, 2]]}, [(6, 6, 3)]),
    "subsample": ({"pool": 2}, [(6, 6, 4)]),
    "rbf": ({"units": 10}, [(84,)]),
    "scale": ({"bias": False}, [(4, 4, 3)]),
    "bias": ({}, [(4, 4, 3)]),
    "power": ({"power": 2.0, "scale": 0.5, "shift": 1.0}, [(4, 4, 3)]),
    "multiply": ({}, [(4, 4, 3), (4, 4, 3), (4, 4, 3)]),
    "maximum": ({}, [(4, 4, 3), (4, 4, 3)]),
    "conv_transpose": ({"filters": 5, "kernel": [4, 3], "stride": 2}, [(5, 6, 3)]),
    "upsample": ({"factor": [2, 3], "interpolation": "bilinear"}, [(4, 5, 3)]),
    "crop": ({"offset": [1, 2]}, [(9, 10, 3), (6, 5, 7)]),
}

# Caffe's variants of existing ops: explicit padding, rounding-up pooling, within-channel LRN, weighted sums
VARIANTS = [
    ("conv", {"filters": 4, "kernel": [3, 5], "stride": 2, "pad": [1, 2]}, [(11, 13, 3)]),
    ("conv", {"filters": 4, "kernel": 3, "pad": 2, "dilation": 2}, [(9, 9, 3)]),
    ("maxpool", {"pool": 3, "stride": 2, "ceil_mode": True}, [(12, 13, 3)]),
    ("maxpool", {"pool": 3, "stride": 2, "pad": 1, "ceil_mode": True}, [(14, 14, 3)]),
    ("avgpool", {"pool": 3, "stride": 2, "pad": [1, 0], "ceil_mode": True}, [(10, 9, 2)]),
    ("avgpool", {"pool": 2, "stride": 3, "pad": 1}, [(10, 10, 2)]),
    ("lrn", {"n": 3, "region": "within"}, [(5, 5, 4)]),
    ("add", {"coeffs": [1.0, -0.5]}, [(4, 4, 3), (4, 4, 3)]),
    ("scale", {}, [(7,)]),
    ("conv_transpose", {"filters": 3, "kernel": 4, "stride": 2, "padding": "same", "use_bias": False}, [(5, 6, 3)]),
    ("upsample", {}, [(4, 5, 3), (9, 7, 2)]),  # to the second input's size
    ("crop", {}, [(6, 6, 2), (6, 6, 1)]),
]


def test_samples_cover_the_registry():
    assert sorted(SAMPLES) == OPS.names()


@pytest.mark.parametrize("name", OPS.names())
def test_schema_defaults_validate_and_primary_exists(name):
    op = OPS.get(name)
    args = op.Args.model_validate(_args(name))
    for field, info in op.Args.model_fields.items():
        if not info.is_required():
            default = info.get_default(call_default_factory=True)
            assert op.Args.model_validate({**_args(name), field: default}) == args.model_copy(update={field: default})
    if op.primary is not None:
        assert op.primary in op.Args.model_fields
    assert op.summary(), f"op {name} needs a docstring: its first line is the user documentation"


def _args(name):
    from kzoo.ops import FnRef

    args = dict(SAMPLES[name][0])
    if "fn" in args:
        args["fn"] = FnRef(**args["fn"])
    return args


@pytest.mark.parametrize("name", OPS.names())
def test_static_rule_matches_keras(name):
    import keras

    op = OPS.get(name)
    args = op.Args.model_validate(_args(name))
    shapes = SAMPLES[name][1]
    stats = op.infer(args, [Tensor(s) for s in shapes])
    layer = op.keras_layer(args, f"t_{name}")
    inputs = [keras.Input(shape=s) for s in shapes]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    assert tuple(out.shape[1:]) == stats.out.shape
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == stats.trainable
    assert sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights) == stats.non_trainable
    assert layer.name == f"t_{name}"


@pytest.mark.parametrize("name, raw, shapes", VARIANTS, ids=[f"{v[0]}-{i}" for i, v in enumerate(VARIANTS)])
def test_caffe_variants_static_rule_matches_keras(name, raw, shapes):
    import keras

    op = OPS.get(name)
    args = op.Args.model_validate(raw)
    stats = op.infer(args, [Tensor(s) for s in shapes])
    layer = op.keras_layer(args, "t")
    inputs = [keras.Input(shape=s) for s in shapes]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    assert tuple(out.shape[1:]) == stats.out.shape
    x = [np.random.default_rng(0).normal(size=(2, *s)).astype("float32") for s in shapes]
    y = keras.Model(inputs, out).predict(x if len(x) > 1 else x[0], verbose=0)
    assert y.shape[1:] == stats.out.shape and np.isfinite(y).all()  # the run agrees with the static shape
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == stats.trainable


@pytest.mark.parametrize(
    "name, raw, shape, hint",
    [
        ("conv", {"filters": 2, "kernel": 3, "pad": 1, "padding": "same"}, (8, 8, 1), "padding: valid"),
        ("maxpool", {"pool": 2, "pad": 2}, (8, 8, 1), "smaller than the window"),
        ("l2pool", {"pool": 2, "ceil_mode": True}, (8, 8, 1), "Caffe has no L2"),
        ("add", {"coeffs": [1.0]}, None, "coeffs"),
    ],
)
def test_caffe_variant_mistakes(name, raw, shape, hint):
    from kzoo.ops import ShapeError

    op = OPS.get(name)
    inputs = [Tensor(shape)] if shape else [Tensor((2, 2, 1)), Tensor((2, 2, 1))]
    with pytest.raises(ShapeError, match=hint):
        op.infer(op.Args.model_validate(raw), inputs)


def test_caffe_pooled_sizes():
    from kzoo.window_math import pooled_size

    # GoogLeNet at 227: Caffe's rounding up gives 57-28-14-7 where Keras' "same" gives 57-29-15-8
    sizes, n = [], 114
    for _ in range(4):
        n = pooled_size(n, 3, 2, 0, True)
        sizes.append(n)
    assert sizes == [57, 28, 14, 7]
    assert pooled_size(112, 3, 2, 0, True) == 56 and pooled_size(112, 3, 2, 0, False) == 55
    assert pooled_size(14, 3, 2, 1, True) == 8 and pooled_size(5, 2, 2, 1, True) == 3  # no window in the padding


def test_conv_multiply_adds_and_receptive_field():
    op = OPS.get("conv")
    args = op.Args.model_validate({"filters": 64, "kernel": 7, "stride": 2, "padding": "same"})
    stats = op.infer(args, [Tensor((224, 224, 3))])
    assert stats.madds == 112 * 112 * 64 * 7 * 7 * 3  # torchvision/ResNet-paper counting
    assert (stats.out.rf, stats.out.jump) == (7, 2)
    pool = OPS.get("maxpool")
    after = pool.infer(pool.Args.model_validate({"pool": 3, "stride": 2, "padding": "same"}), [stats.out])
    assert (after.out.rf, after.out.jump) == (7 + 2 * 2, 4)


def test_dense_counts():
    op = OPS.get("dense")
    stats = op.infer(op.Args.model_validate({"units": 10, "use_bias": False}), [Tensor((84,))])
    assert (stats.trainable, stats.madds) == (840, 840)
