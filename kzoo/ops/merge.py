"""Merges of several inputs: ``add`` (element-wise sum) and ``concat`` (along channels).

They usually come from ``parallel: ... merge: add``, but can be written
directly with ``from:``::

    - concat: {from: [branch1, branch2, branch3]}
    - add: {from: [a, b], coeffs: [1, -1]}     # a weighted sum (Caffe's Eltwise SUM with coeff)
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kzoo.ops.base import Op, OpArgs, ShapeError, Stats, Tensor, register_op


def _merged_rf(inputs: list[Tensor]) -> tuple[int | None, int]:
    rf = None if any(t.rf is None for t in inputs) else max(t.rf for t in inputs)  # type: ignore[type-var]
    return rf, max(t.jump for t in inputs)


def same_shape(op: str, inputs: list[Tensor]) -> Tensor:
    """The merged tensor of element-wise inputs, or a ShapeError when their shapes differ."""
    shapes = [t.shape for t in inputs]
    if len(set(shapes)) != 1:
        raise ShapeError(
            f"{op} needs inputs of one shape, got {', '.join(map(str, shapes))}",
            "a shortcut needs a projection (1x1 conv with the same stride) where shapes change",
        )
    rf, jump = _merged_rf(inputs)
    return Tensor(shapes[0], rf, jump)


class AddArgs(OpArgs):
    coeffs: list[float] | None = Field(None, description="one factor per input (Caffe's Eltwise SUM coeff)")


@register_op
class Add(Op):
    """Element-wise sum of inputs of one shape (Keras ``Add``; with ``coeffs``, a weighted sum)."""

    name = "add"
    Args = AddArgs
    min_inputs = 2
    max_inputs = None

    def infer(self, args: AddArgs, inputs: list[Tensor]) -> Stats:
        if args.coeffs is not None and len(args.coeffs) != len(inputs):
            raise ShapeError(
                f"add has {len(args.coeffs)} coeffs for {len(inputs)} inputs", "give one coefficient per input"
            )
        return Stats(same_shape("add", inputs))

    def keras_layer(self, args: AddArgs, name: str) -> Any:
        import keras

        if args.coeffs is not None and any(c != 1.0 for c in args.coeffs):
            from kzoo.keras.caffe import WeightedSum

            return WeightedSum(args.coeffs, name=name)
        return keras.layers.Add(name=name)


@register_op
class Concat(Op):
    """Concatenation along the channel (last) axis (Keras ``Concatenate``)."""

    name = "concat"
    min_inputs = 2
    max_inputs = None

    def infer(self, args: OpArgs, inputs: list[Tensor]) -> Stats:
        heads = {t.shape[:-1] for t in inputs}
        if len(heads) != 1:
            raise ShapeError(
                "concat needs inputs that differ only in channels, got " + ", ".join(str(t.shape) for t in inputs),
                "give every branch the same stride and padding: same",
            )
        rf, jump = _merged_rf(inputs)
        channels = sum(t.shape[-1] for t in inputs)
        return Stats(Tensor(inputs[0].shape[:-1] + (channels,), rf, jump))

    def keras_layer(self, args: OpArgs, name: str) -> Any:
        import keras

        return keras.layers.Concatenate(axis=-1, name=name)
