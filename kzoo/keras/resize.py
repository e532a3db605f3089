"""kzoo's Keras layers for dense prediction: resizing to another tensor's size, and Caffe's Crop.

``keras.ops`` only (every backend), registered for serialization. Sizes may be
known only at run time (a fully convolutional network takes any image size).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class ResizeLike(keras.layers.Layer):
    """Resize the first input's rows and cols to the second's (``keras.ops.image.resize``).

    Args:
        interpolation: "nearest" or "bilinear".
    """

    def __init__(self, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', received: {interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        x, ref = inputs
        shape = ops.shape(ref)
        return ops.image.resize(x, (shape[1], shape[2]), interpolation=self.interpolation)

    def compute_output_shape(self, input_shape):
        (batch, _, _, ch), (_, rows, cols, _) = input_shape
        return (batch, rows, cols, ch)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


@keras.saving.register_keras_serializable(package="kzoo")
class Crop2D(keras.layers.Layer):
    """Caffe's Crop layer: cut the first input to the second's rows and cols, from ``offset`` (rows, cols)."""

    def __init__(self, offset=(0, 0), **kwargs):
        super().__init__(**kwargs)
        self.offset = (int(offset[0]), int(offset[1]))

    def call(self, inputs):
        x, ref = inputs
        shape = ops.shape(ref)
        top, left = self.offset
        return x[:, top : top + shape[1], left : left + shape[2], :]

    def compute_output_shape(self, input_shape):
        (batch, _, _, ch), (_, rows, cols, _) = input_shape
        return (batch, rows, cols, ch)

    def get_config(self):
        return {**super().get_config(), "offset": list(self.offset)}
