"""kzoo's Keras layers for what Keras 3 lacks: LRN and L2 pooling.

Both use ``keras.ops`` only, so they run on every backend, and are
registered for serialization.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, §3.3).

    b_c = a_c / (k + alpha' · Σ_{c' = c - n//2}^{c + n//2} a_{c'}²) ** beta,

    with alpha' = alpha / n (``alpha_mode="mean"``, Caffe and GoogLeNet) or
    alpha' = alpha (``alpha_mode="sum"``, the paper's formula and
    ``tf.nn.lrn``). Channels outside [0, C) count as zero. Channels last.

    Args:
        n: channels in the window (the paper's n = 5).
        k, alpha, beta: the paper's constants (AlexNet: 2, 1e-4, 0.75).
        alpha_mode: "mean" or "sum", as above.
        region: "across" (channels, as above) or "within" (Caffe's WITHIN_CHANNEL: the sum runs over an
            n x n spatial window of the same channel, zero-padded, and "mean" divides alpha by n²).
    """

    def __init__(self, n=5, k=2.0, alpha=1e-4, beta=0.75, alpha_mode="mean", region="across", **kwargs):
        super().__init__(**kwargs)
        if alpha_mode not in ("mean", "sum"):
            raise ValueError(f"alpha_mode must be 'mean' or 'sum', received: alpha_mode={alpha_mode!r}")
        if region not in ("across", "within"):
            raise ValueError(f"region must be 'across' or 'within', received: region={region!r}")
        self.n, self.k, self.alpha, self.beta, self.alpha_mode = int(n), float(k), float(alpha), float(beta), alpha_mode
        self.region = region

    def call(self, inputs):
        squared = ops.square(inputs)
        if self.region == "within":
            half = self.n // 2
            padded = ops.pad(squared, [[0, 0], [half, self.n - 1 - half], [half, self.n - 1 - half], [0, 0]])
            mean = ops.average_pool(padded, (self.n, self.n), (1, 1), "valid")
            scale = self.alpha if self.alpha_mode == "mean" else self.alpha * self.n * self.n
            return inputs / ops.power(self.k + scale * mean, self.beta)
        half = self.n // 2
        channels = ops.shape(inputs)[-1]
        pad = [[0, 0]] * (len(inputs.shape) - 1) + [[half, self.n - 1 - half]]
        padded = ops.pad(squared, pad)
        # A sum of n shifted slices: exact, and n is small (5 in every paper).
        total = padded[..., 0:channels]
        for i in range(1, self.n):
            total = total + padded[..., i : i + channels]
        scale = self.alpha / self.n if self.alpha_mode == "mean" else self.alpha
        return inputs / ops.power(self.k + scale * total, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            n=self.n, k=self.k, alpha=self.alpha, beta=self.beta, alpha_mode=self.alpha_mode, region=self.region
        )
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class L2Pooling2D(keras.layers.Layer):
    """L2 pooling: sqrt(mean(x²)) over each window (Sermanet et al. 2012). Channels last."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(pool_size)
        self.strides = tuple(strides) if strides is not None else self.pool_size
        self.padding = padding

    def call(self, inputs):
        mean_sq = ops.average_pool(ops.square(inputs), self.pool_size, self.strides, self.padding)
        # The floor keeps the gradient finite where a window is all zeros.
        return ops.sqrt(ops.maximum(mean_sq, 1e-12))

    def compute_output_shape(self, input_shape):
        return keras.layers.AveragePooling2D(self.pool_size, self.strides, self.padding).compute_output_shape(
            input_shape
        )

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, padding=self.padding)
        return config
