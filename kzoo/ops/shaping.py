"""Shape and regularisation ops: ``flatten``, ``reshape``, ``dropout``, ``zeropad``, ``activation``.

YAML::

    - zeropad: 3                      # 3 rows/cols of zeros on every side
    - zeropad: [[0, 1], [0, 1]]       # [[top, bottom], [left, right]]
    - flatten
    - reshape: [7, 7, 30]             # the same values as (7, 7, 30) per image (YOLO's grid)
    - dropout: 0.5                    # shorthand for {rate: 0.5}
    - activation: relu                # or a bare activation name: `- relu`
    - activation: {leaky_relu: {beta: 0.1}}
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from kzoo.ops.base import FnRef, Op, OpArgs, SameShape, ShapeError, Stats, Tensor, fn, register_op, spatial

NonNeg = Annotated[int, Field(ge=0)]
NonNegPair = Annotated[list[NonNeg], Field(min_length=2, max_length=2)]


@register_op
class Flatten(Op):
    """Flatten all but the batch axis (Keras ``Flatten``)."""

    name = "flatten"

    def infer(self, args: OpArgs, inputs: list[Tensor]) -> Stats:
        size = 1
        for d in inputs[0].shape:
            size *= d
        return Stats(Tensor((size,), None, inputs[0].jump))

    def keras_layer(self, args: OpArgs, name: str) -> Any:
        import keras

        return keras.layers.Flatten(name=name)


class ReshapeArgs(OpArgs):
    shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = Field(
        description="the output's shape without the batch, e.g. [7, 7, 30]; the same number of values"
    )


@register_op
class Reshape(Op):
    """The same values in another shape, batch axis kept (Keras ``Reshape``): a dense layer's units as a grid."""

    name = "reshape"
    Args = ReshapeArgs
    primary = "shape"

    def infer(self, args: ReshapeArgs, inputs: list[Tensor]) -> Stats:
        size = int(np.prod(inputs[0].shape))
        if int(np.prod(args.shape)) != size:
            raise ShapeError(
                f"reshape to {args.shape} ({int(np.prod(args.shape))} values) from {inputs[0].shape} ({size} values)"
            )
        return Stats(Tensor(tuple(args.shape), None, inputs[0].jump))

    def keras_layer(self, args: ReshapeArgs, name: str) -> Any:
        import keras

        return keras.layers.Reshape(tuple(args.shape), name=name)


class DropoutArgs(OpArgs):
    rate: float = Field(0.5, ge=0, lt=1, description="the fraction of values dropped while training")


@register_op
class Dropout(SameShape):
    """Dropout during training (Keras ``Dropout``); identity at inference."""

    name = "dropout"
    Args = DropoutArgs
    primary = "rate"

    def keras_layer(self, args: DropoutArgs, name: str) -> Any:
        import keras

        return keras.layers.Dropout(args.rate, name=name)


class ZeroPadArgs(OpArgs):
    padding: NonNeg | NonNegPair | Annotated[list[NonNegPair], Field(min_length=2, max_length=2)] = Field(
        1, description="zeros added: n on every side, [rows, cols], or [[top, bottom], [left, right]]"
    )


def pad_amounts(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    if isinstance(padding[0], int):
        return (padding[0], padding[0]), (padding[1], padding[1])
    return (padding[0][0], padding[0][1]), (padding[1][0], padding[1][1])


@register_op
class ZeroPad(Op):
    """Pad rows and columns with zeros (Keras ``ZeroPadding2D``)."""

    name = "zeropad"
    Args = ZeroPadArgs
    primary = "padding"

    def infer(self, args: ZeroPadArgs, inputs: list[Tensor]) -> Stats:
        rows, cols, ch = spatial(inputs[0], "zeropad")
        (t, b), (l, r) = pad_amounts(args.padding)
        return Stats(inputs[0].with_shape((rows + t + b, cols + l + r, ch)))

    def keras_layer(self, args: ZeroPadArgs, name: str) -> Any:
        import keras

        return keras.layers.ZeroPadding2D(pad_amounts(args.padding), name=name)


class ActivationArgs(OpArgs):
    fn: FnRef = fn("linear", "the activation (see Activations)")


@register_op
class Activation(SameShape):
    """An activation function as its own layer (Keras ``Activation``)."""

    name = "activation"
    Args = ActivationArgs
    primary = "fn"

    def keras_layer(self, args: ActivationArgs, name: str) -> Any:
        import keras

        from kzoo.ops.functions import ACTIVATIONS
        from kzoo.ops.weighted import keras_fn

        return keras.layers.Activation(keras_fn(args.fn, ACTIVATIONS), name=name)
