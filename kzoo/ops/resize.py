"""Ops of dense prediction: ``upsample``, ``conv_transpose`` and ``crop``.

What fully convolutional networks (Long, Shelhamer & Darrell, CVPR 2015) and
encoder-decoders need to bring coarse score maps back to the input's size.

* ``upsample`` enlarges rows and cols by ``factor`` (nearest neighbour or
  bilinear), or, given two inputs, resizes the first to the second's size.
* ``conv_transpose`` is the "deconvolution" (Keras ``Conv2DTranspose``): output
  ``(n - 1) * stride + kernel`` with ``padding: valid`` (Caffe's, pad 0),
  ``n * stride`` with ``padding: same``. FCN starts it as bilinear
  interpolation with ``init: bilinear``, which needs as many filters as input
  channels (each channel is interpolated on its own).
* ``crop`` is Caffe's Crop layer: two inputs, the first cut to the second's rows
  and cols, starting ``offset`` rows and cols in (FCN's prototxts crop the
  upsampled scores to the input this way).

YAML::

    - upsample: 2                                          # nearest neighbour, 2x
    - upsample: {factor: 8, interpolation: bilinear}
    - upsample: {from: [scores, input], interpolation: bilinear}   # to the input's size
    - conv_transpose: {filters: 21, kernel: 4, stride: 2, init: bilinear, use_bias: false}
    - crop: {from: [upscore, pool4], offset: 1}            # to pool4's rows and cols

Their receptive field follows the first input (an upsampled pixel sees what its
source pixel saw, plus the kernel's reach for ``conv_transpose``); the distance
between neighbouring outputs shrinks by the factor (never below one pixel).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kzoo.ops.base import (
    Op,
    OpArgs,
    Pad,
    PosInt,
    ShapeError,
    Size,
    Stats,
    Tensor,
    pair,
    register_op,
    spatial,
)
from kzoo.ops.weighted import WeightedArgs, weighted_kwargs


class UpsampleArgs(OpArgs):
    factor: Size | None = Field(None, description="rows and cols are multiplied by it (one input)")
    interpolation: Literal["nearest", "bilinear"] = Field("nearest", description="how new pixels are filled")


def _finer(t: Tensor, rows: int, cols: int, ch: int, factor: int, reach: int = 0) -> Tensor:
    rf = None if t.rf is None else t.rf + reach * max(1, t.jump // factor)
    return Tensor((rows, cols, ch), rf, max(1, t.jump // factor))


@register_op
class Upsample(Op):
    """Enlarge rows and cols by a factor, or to a second input's size (nearest or bilinear)."""

    name = "upsample"
    Args = UpsampleArgs
    primary = "factor"
    max_inputs = 2

    def infer(self, args: UpsampleArgs, inputs: list[Tensor]) -> Stats:
        rows, cols, ch = spatial(inputs[0], "upsample")
        if len(inputs) == 2:
            if args.factor is not None:
                raise ShapeError(
                    "upsample takes a factor or a second input to match, not both", "drop factor: or the second from:"
                )
            to_r, to_c, _ = spatial(inputs[1], "upsample's second input")
            return Stats(_finer(inputs[0], to_r, to_c, ch, max(1, to_r // rows)))
        if args.factor is None:
            raise ShapeError(
                "upsample needs factor: or a second input whose size it takes",
                "upsample: 2, or upsample: {from: [x, reference]}",
            )
        fr, fc = pair(args.factor)
        return Stats(_finer(inputs[0], rows * fr, cols * fc, ch, max(fr, fc)))

    def keras_layer(self, args: UpsampleArgs, name: str) -> Any:
        import keras

        if args.factor is None:
            from kzoo.keras.resize import ResizeLike

            return ResizeLike(args.interpolation, name=name)
        return keras.layers.UpSampling2D(pair(args.factor), interpolation=args.interpolation, name=name)


class ConvTransposeArgs(WeightedArgs):
    filters: PosInt = Field(description="number of output channels")
    kernel: Size = Field(description="window size, rows and cols")
    stride: Size = Field(1, description="the upsampling factor, rows and cols")
    padding: Literal["valid", "same"] = Field(
        "valid", description="valid: (n - 1) stride + kernel rows and cols (Caffe's); same: n stride"
    )


@register_op
class ConvTranspose(Op):
    """Transposed convolution, "deconvolution" (Keras ``Conv2DTranspose``), channels last."""

    name = "conv_transpose"
    Args = ConvTransposeArgs

    def infer(self, args: ConvTransposeArgs, inputs: list[Tensor]) -> Stats:
        rows, cols, ch = spatial(inputs[0], "conv_transpose")
        (kr, kc), (sr, sc) = pair(args.kernel), pair(args.stride)
        if args.padding == "same":
            out_r, out_c = rows * sr, cols * sc
        else:
            out_r, out_c = (rows - 1) * sr + kr, (cols - 1) * sc + kc
        if args.init.name == "bilinear" and ch != args.filters:
            raise ShapeError(
                f"init: bilinear interpolates each channel on its own: it needs filters equal to the input's "
                f"channels ({ch}), got {args.filters}",
                f"filters: {ch}, or another init",
            )
        per_in = kr * kc * args.filters
        weights = per_in * ch + (args.filters if args.use_bias else 0)
        reach = -(-max(kr, kc) // max(sr, sc)) - 1
        out = _finer(inputs[0], out_r, out_c, args.filters, max(sr, sc), reach)
        return Stats(out, trainable=weights, madds=rows * cols * ch * per_in)

    def keras_layer(self, args: ConvTransposeArgs, name: str) -> Any:
        import keras

        return keras.layers.Conv2DTranspose(
            args.filters,
            pair(args.kernel),
            strides=pair(args.stride),
            padding=args.padding,
            name=name,
            **weighted_kwargs(args),
        )


class CropArgs(OpArgs):
    offset: Pad = Field(
        0, description="rows and cols skipped at the top and left (one number for both, or [rows, cols])"
    )


@register_op
class Crop(Op):
    """Cut the first input to the second's rows and cols, from an offset (Caffe's Crop layer)."""

    name = "crop"
    Args = CropArgs
    min_inputs = 2
    max_inputs = 2

    def infer(self, args: CropArgs, inputs: list[Tensor]) -> Stats:
        rows, cols, ch = spatial(inputs[0], "crop")
        to_r, to_c, _ = spatial(inputs[1], "crop's second input")
        orow, ocol = pair(args.offset)
        if orow + to_r > rows or ocol + to_c > cols:
            raise ShapeError(
                f"crop: {to_r}x{to_c} from offset {orow}x{ocol} does not fit in {rows}x{cols}",
                "the first input must be at least the second's size plus the offset",
            )
        return Stats(inputs[0].with_shape((to_r, to_c, ch)))

    def keras_layer(self, args: CropArgs, name: str) -> Any:
        from kzoo.keras.resize import Crop2D

        return Crop2D(pair(args.offset), name=name)
