"""LeNet-5's own layer types (LeCun et al. 1998, Section II.B).

``partial_conv`` — a convolution with a connection table: output map j reads
only the input maps in ``table[j]`` (C3, Table I). Parameters:
Σ_j (rows·cols·len(table[j]) + 1).

``subsample`` — S2/S4: "the four inputs to a unit are added, then multiplied
by a trainable coefficient, and added to a trainable bias", then the
activation; 2 parameters per map. ``mode: mean`` averages instead of adding.

``rbf`` — Euclidean RBF output units, y_i = Σ_j (x_j − w_ij)², returned as
−y_i; the prototypes are fixed 7x12 bitmaps (``digit_bitmaps``) unless
``trainable: true``.

YAML::

    - partial_conv: {filters: 3, kernel: 5, table: [[0, 1], [1, 2], [0, 1, 2]]}
    - subsample: {pool: 2, activation: lecun_tanh}
    - rbf: {units: 10}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from kzoo.ops.base import (
    FnRef,
    Op,
    OpArgs,
    PosInt,
    ShapeError,
    Size,
    Stats,
    Tensor,
    fn,
    pair,
    register_op,
    slide,
)
from kzoo.ops.weighted import WeightedArgs, keras_fn, weighted_kwargs

Table = Annotated[list[Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]], Field(min_length=1)]


class PartialConvArgs(WeightedArgs):
    filters: PosInt = Field(description="number of output maps")
    kernel: Size = Field(description="window size, rows and cols")
    table: Table = Field(description="for each output map, the input maps it reads")
    stride: Size = Field(1, description="step between windows")
    padding: Literal["valid", "same"] = Field("valid", description="valid or same, as conv's")


@register_op
class PartialConv(Op):
    """Convolution with a connection table (kzoo ``PartialConv2D``; LeNet-5's C3)."""

    name = "partial_conv"
    Args = PartialConvArgs

    def infer(self, args: PartialConvArgs, inputs: list[Tensor]) -> Stats:
        out_r, out_c, out = slide(inputs[0], "partial_conv", args.kernel, args.stride, args.padding)
        ch = inputs[0].shape[2]
        if len(args.table) != args.filters:
            raise ShapeError(f"table has {len(args.table)} rows for {args.filters} filters", "one row per output map")
        bad = sorted({c for row in args.table for c in row if c >= ch})
        if bad:
            raise ShapeError(f"table names input maps {bad}, but the input has {ch} channels")
        kr, kc = pair(args.kernel)
        links = sum(len(row) for row in args.table)
        weights = kr * kc * links + (args.filters if args.use_bias else 0)
        return Stats(
            out.with_shape((out_r, out_c, args.filters)), trainable=weights, madds=out_r * out_c * kr * kc * links
        )

    def keras_layer(self, args: PartialConvArgs, name: str) -> Any:
        from kzoo.keras.lenet import PartialConv2D

        return PartialConv2D(
            args.filters,
            pair(args.kernel),
            args.table,
            strides=pair(args.stride),
            padding=args.padding,
            name=name,
            **weighted_kwargs(args),
        )


class SubsampleArgs(OpArgs):
    pool: Size = Field(2, description="window size, rows and cols")
    stride: Size | None = Field(None, description="step between windows (default: the window size)")
    padding: Literal["valid", "same"] = Field("valid", description="valid or same, as pooling's")
    mode: Literal["sum", "mean"] = Field("sum", description="the window's sum (LeNet-5's) or mean")
    init: FnRef = fn("constant", "each map's coefficient (0.25: an average)", value=0.25)
    bias_init: FnRef = fn("zeros", "each map's bias")
    activation: FnRef = fn("linear", "applied to coefficient x window + bias")


@register_op
class Subsample(Op):
    """Trainable subsampling: act(coef · window sum + bias) per map (kzoo ``TrainableSubsampling``)."""

    name = "subsample"
    Args = SubsampleArgs
    primary = "pool"

    def infer(self, args: SubsampleArgs, inputs: list[Tensor]) -> Stats:
        stride = args.pool if args.stride is None else args.stride
        _, _, out = slide(inputs[0], "subsample", args.pool, stride, args.padding)
        return Stats(out, trainable=2 * out.shape[-1])

    def keras_layer(self, args: SubsampleArgs, name: str) -> Any:
        from kzoo.keras.lenet import TrainableSubsampling
        from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS

        return TrainableSubsampling(
            pair(args.pool),
            pair(args.pool if args.stride is None else args.stride),
            args.padding,
            args.mode,
            activation=keras_fn(args.activation, ACTIVATIONS),
            coefficient_initializer=keras_fn(args.init, INITIALIZERS),
            bias_initializer=keras_fn(args.bias_init, INITIALIZERS),
            name=name,
        )


class RBFArgs(OpArgs):
    units: PosInt = Field(description="number of output units (classes)")
    init: FnRef = fn("digit_bitmaps", "the prototypes, one column per unit")
    trainable: bool = Field(False, description="learn the prototypes (LeNet-5 keeps them fixed)")


@register_op
class RBF(Op):
    """Euclidean RBF output units, returning −Σ (x − w)² (kzoo ``EuclideanRBF``; LeNet-5's output)."""

    name = "rbf"
    Args = RBFArgs
    primary = "units"

    def infer(self, args: RBFArgs, inputs: list[Tensor]) -> Stats:
        t = inputs[0]
        if len(t.shape) != 1:
            raise ShapeError(f"rbf needs a flat input, got shape {t.shape}", "flatten first")
        if args.init.name == "digit_bitmaps" and (t.shape[0], args.units) != (84, 10):
            raise ShapeError(
                f"digit_bitmaps prototypes are 84 pixels x 10 digits, not {t.shape[0]} x {args.units}",
                "use 84 inputs and 10 units, or another init",
            )
        weights = t.shape[0] * args.units
        stats = dict(trainable=weights) if args.trainable else dict(non_trainable=weights)
        return Stats(Tensor((args.units,), t.rf, t.jump), madds=weights, **stats)

    def keras_layer(self, args: RBFArgs, name: str) -> Any:
        from kzoo.keras.lenet import EuclideanRBF
        from kzoo.ops.functions import INITIALIZERS

        return EuclideanRBF(args.units, keras_fn(args.init, INITIALIZERS), args.trainable, name=name)
