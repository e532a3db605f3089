"""Weighted layers: ``conv`` (2-D convolution) and ``dense``.

Both carry ``init`` (kernel), ``bias_init``, ``activation`` and ``use_bias``;
expansion fills them from scoped ``defaults`` so that after expansion every
conv and dense node names its initializer and activation explicitly.

Multiply-adds are counted as torchvision and the ResNet paper count them:
one per weight per output position (bias additions not counted).

YAML::

    - conv: {filters: 64, kernel: 3, stride: 1, padding: same, init: he_normal, activation: relu}
    - conv: {filters: 64, kernel: 7, stride: 2, pad: 3}   # Caffe's pad: 3 zeros on every side
    - dense: {units: 4096, activation: relu}
    - dense: 10          # shorthand for {units: 10}
    - dense: {units: 10, weight_decay: 5.0e-4}   # this layer's L2 lambda (0: the recipe's)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kzoo.ops.base import (
    FnRef,
    Op,
    OpArgs,
    Pad,
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


class WeightedArgs(OpArgs):
    use_bias: bool = Field(True, description="add a learned bias per output")
    weight_decay: float = Field(0.0, ge=0, description="this layer's L2 coefficient lambda (0: the recipe's)")
    init: FnRef = fn("glorot_uniform", "the kernel's initializer (see Initializers)")
    bias_init: FnRef = fn("zeros", "the bias's initializer")
    activation: FnRef = fn("linear", "applied to the output (see Activations)")


class ConvArgs(WeightedArgs):
    filters: PosInt = Field(description="number of output channels")
    kernel: Size = Field(description="window size: rows and cols (one number for both, or [rows, cols])")
    stride: Size = Field(1, description="step between windows, rows and cols")
    padding: Literal["valid", "same"] = Field(
        "valid", description="valid: no padding; same: pad so that the output has ceil(n / stride) rows and cols"
    )
    pad: Pad = Field(0, description="zeros added on both sides, rows and cols (Caffe's pad; needs padding: valid)")
    dilation: Size = Field(1, description="spacing between the kernel's taps (1: a plain conv)")
    groups: PosInt = Field(1, description="channel groups, each convolved on its own (AlexNet's two GPUs: 2)")


def keras_fn(spec: FnRef, registry: Any) -> Any:
    return registry.get(spec.name).make(dict(spec.args))


def weighted_kwargs(args: WeightedArgs) -> dict[str, Any]:
    import keras

    from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS

    return dict(
        kernel_regularizer=keras.regularizers.L2(args.weight_decay / 2) if args.weight_decay else None,
        use_bias=args.use_bias,
        kernel_initializer=keras_fn(args.init, INITIALIZERS),
        bias_initializer=keras_fn(args.bias_init, INITIALIZERS),
        activation=keras_fn(args.activation, ACTIVATIONS),
    )


@register_op
class Conv(Op):
    """2-D convolution (Keras ``Conv2D``), channels last."""

    name = "conv"
    Args = ConvArgs

    def infer(self, args: ConvArgs, inputs: list[Tensor]) -> Stats:
        out_r, out_c, out = slide(inputs[0], "conv", args.kernel, args.stride, args.padding, args.dilation, args.pad)
        ch = inputs[0].shape[2]
        if ch % args.groups or args.filters % args.groups:
            raise ShapeError(
                f"groups={args.groups} must divide both the input channels ({ch}) and filters ({args.filters})"
            )
        if pair(args.stride) != (1, 1) and pair(args.dilation) != (1, 1):
            raise ShapeError("a convolution cannot be both strided and dilated (Keras refuses it)")
        kr, kc = pair(args.kernel)
        per_out = kr * kc * (ch // args.groups)
        weights = per_out * args.filters + (args.filters if args.use_bias else 0)
        out = out.with_shape((out_r, out_c, args.filters))
        return Stats(out, trainable=weights, madds=out_r * out_c * args.filters * per_out)

    def keras_layer(self, args: ConvArgs, name: str) -> Any:
        import keras

        from kzoo.keras.caffe import PaddedConv2D

        padded = pair(args.pad) != (0, 0)
        return (PaddedConv2D if padded else keras.layers.Conv2D)(
            args.filters,
            pair(args.kernel),
            strides=pair(args.stride),
            padding=args.padding,
            dilation_rate=pair(args.dilation),
            groups=args.groups,
            name=name,
            **({"pad": pair(args.pad)} if padded else {}),
            **weighted_kwargs(args),
        )


class DenseArgs(WeightedArgs):
    units: PosInt = Field(description="number of output units")


@register_op
class Dense(Op):
    """Fully connected layer (Keras ``Dense``) over the last axis."""

    name = "dense"
    Args = DenseArgs
    primary = "units"

    def infer(self, args: DenseArgs, inputs: list[Tensor]) -> Stats:
        t = inputs[0]
        n_in = t.shape[-1]
        positions = 1
        for d in t.shape[:-1]:
            positions *= d
        weights = n_in * args.units + (args.units if args.use_bias else 0)
        out = Tensor(t.shape[:-1] + (args.units,), t.rf, t.jump)
        return Stats(out, trainable=weights, madds=positions * n_in * args.units)

    def keras_layer(self, args: DenseArgs, name: str) -> Any:
        import keras

        return keras.layers.Dense(args.units, name=name, **weighted_kwargs(args))
