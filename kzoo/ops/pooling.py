"""Pooling: ``maxpool``, ``avgpool``, ``l2pool``, ``global_avgpool``, ``global_maxpool``.

``stride`` defaults to the pool size (non-overlapping); AlexNet's
overlapping pooling is ``{pool: 3, stride: 2}``. ``l2pool`` is the square
root of the mean of squares over the window (Sermanet et al. 2012).

YAML::

    - maxpool: {pool: 3, stride: 2, padding: same}
    - maxpool: {pool: 3, stride: 2, pad: 1, ceil_mode: true}   # Caffe's padding and rounding-up
    - maxpool: 2            # shorthand for {pool: 2}
    - global_avgpool
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kzoo.ops.base import Op, OpArgs, Pad, ShapeError, Size, Stats, Tensor, pair, register_op, slide, spatial


class PoolArgs(OpArgs):
    pool: Size = Field(2, description="window size, rows and cols")
    stride: Size | None = Field(None, description="step between windows (default: the window size)")
    padding: Literal["valid", "same"] = Field("valid", description="valid: no padding; same: ceil(n / stride)")
    pad: Pad = Field(0, description="Caffe's pad on both sides (rows, cols); needs padding: valid")
    ceil_mode: bool = Field(False, description="round the pooled size up, as Caffe does (PyTorch's ceil_mode)")

    def caffe(self) -> bool:
        return self.ceil_mode or pair(self.pad) != (0, 0)


class _Pool(Op):
    Args = PoolArgs
    primary = "pool"
    keras_class = ""

    def infer(self, args: PoolArgs, inputs: list[Tensor]) -> Stats:
        stride = args.pool if args.stride is None else args.stride
        _, _, out = slide(inputs[0], self.name, args.pool, stride, args.padding, 1, args.pad, args.ceil_mode)
        return Stats(out)

    def keras_kwargs(self, args: PoolArgs) -> dict[str, Any]:
        stride = args.pool if args.stride is None else args.stride
        return dict(pool_size=pair(args.pool), strides=pair(stride), padding=args.padding)

    def keras_layer(self, args: PoolArgs, name: str) -> Any:
        import keras

        if args.caffe():
            from kzoo.keras.caffe import Pooling2D

            kind = "max" if self.name == "maxpool" else "avg"
            stride = args.pool if args.stride is None else args.stride
            return Pooling2D(kind, pair(args.pool), pair(stride), pair(args.pad), args.ceil_mode, name=name)
        return getattr(keras.layers, self.keras_class)(name=name, **self.keras_kwargs(args))


@register_op
class MaxPool(_Pool):
    """Max pooling over a window (Keras ``MaxPooling2D``)."""

    name = "maxpool"
    keras_class = "MaxPooling2D"


@register_op
class AvgPool(_Pool):
    """Average pooling over a window (Keras ``AveragePooling2D``)."""

    name = "avgpool"
    keras_class = "AveragePooling2D"


@register_op
class L2Pool(_Pool):
    """sqrt(mean(x^2)) over each window (kzoo ``L2Pooling2D``)."""

    name = "l2pool"

    def infer(self, args: PoolArgs, inputs: list[Tensor]) -> Stats:
        if args.caffe():
            raise ShapeError("l2pool has no pad or ceil_mode (Caffe has no L2 pooling)", "use padding: same or valid")
        return super().infer(args, inputs)

    def keras_layer(self, args: PoolArgs, name: str) -> Any:
        from kzoo.keras.layers import L2Pooling2D

        return L2Pooling2D(name=name, **self.keras_kwargs(args))


class GlobalArgs(OpArgs):
    keepdims: bool = Field(False, description="keep rows and cols as 1x1 (else a vector per image)")


class _Global(Op):
    Args = GlobalArgs
    keras_class = ""

    def infer(self, args: GlobalArgs, inputs: list[Tensor]) -> Stats:
        _, _, ch = spatial(inputs[0], self.name)
        shape = (1, 1, ch) if args.keepdims else (ch,)
        return Stats(Tensor(shape, None, inputs[0].jump))

    def keras_layer(self, args: GlobalArgs, name: str) -> Any:
        import keras

        return getattr(keras.layers, self.keras_class)(keepdims=args.keepdims, name=name)


@register_op
class GlobalAvgPool(_Global):
    """Mean over all positions (Keras ``GlobalAveragePooling2D``)."""

    name = "global_avgpool"
    keras_class = "GlobalAveragePooling2D"


@register_op
class GlobalMaxPool(_Global):
    """Max over all positions (Keras ``GlobalMaxPooling2D``)."""

    name = "global_maxpool"
    keras_class = "GlobalMaxPooling2D"
