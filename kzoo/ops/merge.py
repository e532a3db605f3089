"""Merges of several inputs: ``add`` (element-wise sum) and ``concat`` (along channels).

They usually come from ``parallel: ... merge: add``, but can be written
directly with ``from:``::

    - concat: {from: [branch1, branch2, branch3]}
"""

from __future__ import annotations

from typing import Any

from kzoo.ops.base import Op, OpArgs, ShapeError, Stats, Tensor, register_op


def _merged_rf(inputs: list[Tensor]) -> tuple[int | None, int]:
    rf = None if any(t.rf is None for t in inputs) else max(t.rf for t in inputs)  # type: ignore[type-var]
    return rf, max(t.jump for t in inputs)


@register_op
class Add(Op):
    """Element-wise sum of inputs of one shape (Keras ``Add``)."""

    name = "add"
    min_inputs = 2
    max_inputs = None

    def infer(self, args: OpArgs, inputs: list[Tensor]) -> Stats:
        shapes = [t.shape for t in inputs]
        if len(set(shapes)) != 1:
            raise ShapeError(
                f"add needs inputs of one shape, got {', '.join(map(str, shapes))}",
                "a shortcut needs a projection (1x1 conv with the same stride) where shapes change",
            )
        rf, jump = _merged_rf(inputs)
        return Stats(Tensor(shapes[0], rf, jump))

    def keras_layer(self, args: OpArgs, name: str) -> Any:
        import keras

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
