"""Per-channel and element-wise ops from Caffe: ``scale``, ``bias``, ``power``, ``multiply``, ``maximum``.

``scale`` multiplies each channel by a learned factor (and adds a learned bias
unless ``bias: false``): Caffe's ``Scale``, which follows its ``BatchNorm``.
``bias`` adds a learned bias per channel (Caffe's ``Bias``). ``power`` is
(shift + scale·x)^power with no weights (Caffe's ``Power``). ``multiply`` and
``maximum`` merge inputs of one shape element-wise (Caffe's ``Eltwise PROD``
and ``MAX``; ``add: {coeffs: [...]}`` is its ``SUM`` with coefficients).

YAML::

    - scale                              # gamma * x + beta, per channel
    - scale: {bias: false}
    - bias
    - power: {power: 2, scale: 0.5, shift: 1}
    - multiply: {from: [gate, features]}
    - maximum: {from: [a, b]}
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kzoo.ops.base import Op, OpArgs, SameShape, Stats, Tensor, register_op
from kzoo.ops.merge import same_shape


class ScaleArgs(OpArgs):
    bias: bool = Field(True, description="also learn a per-channel shift beta")


@register_op
class Scale(Op):
    """Learned per-channel factor (and bias): Caffe's ``Scale`` (kzoo ``ChannelScale``)."""

    name = "scale"
    Args = ScaleArgs

    def infer(self, args: ScaleArgs, inputs: list[Tensor]) -> Stats:
        ch = inputs[0].shape[-1]
        return Stats(inputs[0], trainable=ch * (2 if args.bias else 1), madds=_size(inputs[0]))

    def keras_layer(self, args: ScaleArgs, name: str) -> Any:
        from kzoo.keras.caffe import ChannelScale

        return ChannelScale(use_bias=args.bias, name=name)


@register_op
class Bias(Op):
    """Learned per-channel bias: Caffe's ``Bias`` (kzoo ``ChannelBias``)."""

    name = "bias"

    def infer(self, args: OpArgs, inputs: list[Tensor]) -> Stats:
        return Stats(inputs[0], trainable=inputs[0].shape[-1])

    def keras_layer(self, args: OpArgs, name: str) -> Any:
        from kzoo.keras.caffe import ChannelBias

        return ChannelBias(name=name)


class PowerArgs(OpArgs):
    power: float = Field(1.0, description="the exponent of (shift + scale x)")
    scale: float = Field(1.0, description="the factor of x")
    shift: float = Field(0.0, description="added after scaling")


@register_op
class Power(SameShape):
    """(shift + scale * x) ** power, no weights: Caffe's ``Power`` (kzoo ``Power``)."""

    name = "power"
    Args = PowerArgs

    def keras_layer(self, args: PowerArgs, name: str) -> Any:
        from kzoo.keras.caffe import Power as PowerLayer

        return PowerLayer(args.power, args.scale, args.shift, name=name)


class _Elementwise(Op):
    min_inputs = 2
    max_inputs = None
    keras_class = ""

    def infer(self, args: OpArgs, inputs: list[Tensor]) -> Stats:
        return Stats(same_shape(self.name, inputs))

    def keras_layer(self, args: OpArgs, name: str) -> Any:
        import keras

        return getattr(keras.layers, self.keras_class)(name=name)


@register_op
class Multiply(_Elementwise):
    """Element-wise product of inputs of one shape (Keras ``Multiply``; Caffe's ``Eltwise PROD``)."""

    name = "multiply"
    keras_class = "Multiply"


@register_op
class Maximum(_Elementwise):
    """Element-wise maximum of inputs of one shape (Keras ``Maximum``; Caffe's ``Eltwise MAX``)."""

    name = "maximum"
    keras_class = "Maximum"


def _size(t: Tensor) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n
