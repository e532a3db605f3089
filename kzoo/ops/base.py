"""What an op is: argument schema, static rule and Keras constructor together.

An op is registered under its YAML name in :data:`OPS`. Its ``Args`` is a
pydantic model (strict, unknown keys rejected) whose defaults are the op's
defaults; its :meth:`Op.infer` computes the output shape, parameter counts,
multiply-adds and receptive field without TensorFlow or Keras; its
:meth:`Op.keras_layer` imports Keras lazily and builds one layer.

A plugin adds a layer type with one subclass::

    @kzoo.register_op
    class Swish(kzoo.ops.Op):
        name = "swish_gate"
        class Args(kzoo.ops.OpArgs):
            pass
        def infer(self, args, inputs):
            return Stats(inputs[0])
        def keras_layer(self, args, name):
            ...
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kzoo.errors import KzooError
from kzoo.registry import Registry
from kzoo.window_math import conv_size, pooled_size


class OpArgs(BaseModel):
    """Base of every op's argument model: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, frozen=True, allow_inf_nan=False)


class FnRef(BaseModel):
    """A named function (initializer or activation) with its arguments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    name: str
    args: dict[str, Any] = Field(default_factory=dict)

    def to_yaml(self) -> Any:
        return {self.name: dict(self.args)} if self.args else self.name


def fn(name: str, description: str | None = None, **args: Any) -> Any:
    """A FnRef field of an op's ``Args`` with its default and description
    (``init: FnRef = fn("he_normal", "the kernel's initializer")``)."""
    return Field(default_factory=lambda: FnRef(name=name, args=args), description=description)


PosInt = Annotated[int, Field(ge=1)]
Pair = Annotated[list[PosInt], Field(min_length=2, max_length=2)]
Size = PosInt | Pair  # an int for both spatial axes, or [rows, cols]
NonNeg = Annotated[int, Field(ge=0)]
Pad = NonNeg | Annotated[list[NonNeg], Field(min_length=2, max_length=2)]  # Caffe's pad: both sides, [rows, cols]


def pair(value: int | list[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


@dataclass(frozen=True)
class Tensor:
    """A node's output, statically: shape (no batch axis) and receptive field.

    ``rf`` is the receptive-field size in input pixels (None: the whole
    input); ``jump`` is the input-pixel distance between neighbouring outputs.
    """

    shape: tuple[int, ...]
    rf: int | None = 1
    jump: int = 1

    def with_shape(self, shape: tuple[int, ...]) -> Tensor:
        return replace(self, shape=shape)


@dataclass(frozen=True)
class Stats:
    """What one node adds: its output, weights and multiply-adds."""

    out: Tensor
    trainable: int = 0
    non_trainable: int = 0
    madds: int = 0


class ShapeError(KzooError):
    """Raised by :meth:`Op.infer`; the caller adds the node's YAML location."""


class Op:
    """One layer type of the language. Subclass, set ``name`` and ``Args``."""

    name: ClassVar[str]
    Args: ClassVar[type[OpArgs]] = OpArgs
    primary: ClassVar[str | None] = None  # `dropout: 0.5` means `dropout: {rate: 0.5}`
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1

    def infer(self, args: Any, inputs: list[Tensor]) -> Stats:
        raise NotImplementedError

    def keras_layer(self, args: Any, name: str) -> Any:
        raise NotImplementedError

    def summary(self) -> str:
        return (self.__doc__ or "").strip().splitlines()[0] if self.__doc__ else ""


class SameShape(Op):
    """Base of ops whose output has their input's shape (and no weights unless they say so)."""

    def infer(self, args: Any, inputs: list[Tensor]) -> Stats:
        return Stats(inputs[0])


OPS: Registry[Op] = Registry("op")


def register_op(cls: type[Op]) -> type[Op]:
    """Class decorator: register one instance of an :class:`Op` subclass."""
    OPS.register(cls.name, cls())
    return cls


def spatial(t: Tensor, op: str) -> tuple[int, int, int]:
    """The (rows, cols, channels) of an image tensor, or a ShapeError."""
    if len(t.shape) != 3:
        raise ShapeError(
            f"{op} needs an image input (rows, cols, channels), got shape {t.shape}",
            "flatten or global pooling happened earlier than this layer",
        )
    return t.shape  # type: ignore[return-value]


def window_out(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length of a sliding window, as Keras computes it."""
    if padding == "same":
        return -(-size // stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def slide(
    t: Tensor,
    op: str,
    kernel: Any,
    stride: Any,
    padding: str,
    dilation: Any = 1,
    pad: Any = 0,
    ceil_mode: bool | None = None,
) -> tuple[int, int, Tensor]:
    """Apply a sliding window to a tensor's rows and cols: new rows, cols, receptive field.

    ``pad`` (rows, cols on both sides) and ``ceil_mode`` are Caffe's: they need ``padding: valid``.
    ``ceil_mode`` None is a convolution (always rounded down); True/False a pooling.
    """
    rows, cols, ch = spatial(t, op)
    (kr, kc), (sr, sc), (dr, dc), (pr, pc) = pair(kernel), pair(stride), pair(dilation), pair(pad)
    if (pr or pc or ceil_mode) and padding != "valid":
        raise ShapeError(
            f"{op}: pad and ceil_mode are Caffe's explicit padding; they need padding: valid, got {padding}",
            "drop padding: same, or drop pad/ceil_mode",
        )
    if pr or pc or ceil_mode:
        if ceil_mode is None:
            out_r, out_c = conv_size(rows, kr, sr, pr, dr), conv_size(cols, kc, sc, pc, dc)
        else:
            out_r, out_c = pooled_size(rows, kr, sr, pr, ceil_mode), pooled_size(cols, kc, sc, pc, ceil_mode)
    else:
        out_r = window_out(rows, kr, sr, padding, dr)
        out_c = window_out(cols, kc, sc, padding, dc)
    if ceil_mode is not None and (pr >= kr or pc >= kc):
        raise ShapeError(f"{op}: pad {pr}x{pc} must be smaller than the window {kr}x{kc}", "as Caffe requires")
    if out_r < 1 or out_c < 1:
        raise ShapeError(
            f"output would be {out_r}x{out_c}: input {rows}x{cols}, window {kr}x{kc}, "
            f"stride {sr}x{sc}, padding {padding}" + (f", pad {pr}x{pc}" if pr or pc else ""),
            "the input is too small for this many downsampling layers; use a larger input or padding: same",
        )
    k_eff = (max(kr, kc) - 1) * max(dr, dc) + 1
    rf = None if t.rf is None else t.rf + (k_eff - 1) * t.jump
    return out_r, out_c, Tensor((out_r, out_c, ch), rf, t.jump * max(sr, sc))
