"""Normalisation: ``batchnorm`` and ``lrn``.

``batchnorm`` is Keras ``BatchNormalization`` over the channel axis: 2C
trainable (gamma, beta) and 2C non-trainable (moving mean and variance)
weights. ``lrn`` is local response normalisation across channels
(Krizhevsky et al. 2012, section 3.3)::

    b_c = a_c / (k + alpha/n * sum_{c' in window(c, n)} a_c'^2) ** beta

over the n channels centred on c (``alpha_mode: mean``, as Caffe and
GoogLeNet use it), or with the un-divided alpha of Krizhevsky et al.'s paper
and ``tf.nn.lrn`` (``alpha_mode: sum``). Keras has no LRN, so kzoo's
``LocalResponseNormalization`` is written with ``keras.ops``.

YAML::

    - batchnorm: {epsilon: 1.001e-5}
    - lrn: {n: 5, k: 2, alpha: 1e-4, beta: 0.75, alpha_mode: sum}   # AlexNet
    - lrn: {n: 3, k: 1, alpha: 5e-5, beta: 0.75, region: within}    # Caffe's WITHIN_CHANNEL (n x n window)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kzoo.ops.base import Op, OpArgs, SameShape, Stats, Tensor, register_op


class BatchNormArgs(OpArgs):
    momentum: float = Field(0.99, ge=0, le=1, description="moving averages: m <- momentum m + (1 - momentum) x")
    epsilon: float = Field(1e-3, gt=0, description="added to the variance before its square root")
    center: bool = Field(True, description="learn a shift beta")
    scale: bool = Field(True, description="learn a factor gamma")


@register_op
class BatchNorm(Op):
    """Batch normalisation over channels (Keras ``BatchNormalization``)."""

    name = "batchnorm"
    Args = BatchNormArgs

    def infer(self, args: BatchNormArgs, inputs: list[Tensor]) -> Stats:
        ch = inputs[0].shape[-1]
        trainable = ch * (int(args.center) + int(args.scale))
        return Stats(inputs[0], trainable=trainable, non_trainable=2 * ch)

    def keras_layer(self, args: BatchNormArgs, name: str) -> Any:
        import keras

        return keras.layers.BatchNormalization(
            axis=-1, momentum=args.momentum, epsilon=args.epsilon, center=args.center, scale=args.scale, name=name
        )


class LRNArgs(OpArgs):
    n: int = Field(5, ge=1, description="channels in the window (odd)")
    k: float = Field(2.0, description="the constant of the denominator, k + alpha sum(x^2)")
    alpha: float = Field(1e-4, ge=0, description="the squares' weight")
    beta: float = Field(0.75, description="the denominator's exponent")
    alpha_mode: Literal["mean", "sum"] = Field(
        "mean", description="mean: alpha/n times the sum (Caffe, GoogLeNet); sum: alpha times it (Krizhevsky, tf.nn)"
    )
    region: Literal["across", "within"] = Field(
        "across", description="across channels, or within one channel's n x n window (Caffe's WITHIN_CHANNEL)"
    )


@register_op
class LRN(SameShape):
    """Local response normalisation across channels (kzoo ``LocalResponseNormalization``)."""

    name = "lrn"
    Args = LRNArgs

    def keras_layer(self, args: LRNArgs, name: str) -> Any:
        from kzoo.keras.layers import LocalResponseNormalization

        return LocalResponseNormalization(
            n=args.n,
            k=args.k,
            alpha=args.alpha,
            beta=args.beta,
            alpha_mode=args.alpha_mode,
            region=args.region,
            name=name,
        )
