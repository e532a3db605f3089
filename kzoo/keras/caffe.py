"""kzoo's Keras layers for Caffe's semantics: explicit symmetric padding, pooling that rounds up, per-channel
scale and bias, Caffe's Power, and a weighted sum.

All use ``keras.ops`` only and are registered for serialization. The ops that make them
(``conv``/``maxpool``/``avgpool`` with ``pad`` or ``ceil_mode``, ``scale``, ``bias``, ``power``,
``add`` with ``coeffs``) use Keras's own layers whenever these features are off.
"""

from __future__ import annotations

import keras
from keras import ops

from kzoo.window_math import pooled_size


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, (int, float)) else (int(value[0]), int(value[1]))


@keras.saving.register_keras_serializable(package="kzoo")
class PaddedConv2D(keras.layers.Conv2D):
    """``Conv2D`` on the input padded with ``pad`` = (rows, cols) zeros on both sides (Caffe's ``pad``).

    The weights are a ``Conv2D``'s (same names and shapes). ``padding`` must be "valid".
    """

    def __init__(self, *args, pad=(0, 0), **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = _pair(pad)

    def _padded(self, shape):
        rows, cols = (None if d is None else d + 2 * p for d, p in zip(shape[1:3], self.pad, strict=True))
        return (shape[0], rows, cols, *shape[3:])

    def build(self, input_shape):
        super().build(self._padded(input_shape))

    def call(self, inputs):
        (pr, pc) = self.pad
        return super().call(ops.pad(inputs, [[0, 0], [pr, pr], [pc, pc], [0, 0]]))

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(self._padded(input_shape))

    def get_config(self):
        return {**super().get_config(), "pad": list(self.pad)}


@keras.saving.register_keras_serializable(package="kzoo")
class Pooling2D(keras.layers.Layer):
    """Caffe's max or average pooling: ``pad`` on both sides, the pooled size rounded up (``ceil_mode``).

    Max pooling ignores the padding. Average pooling divides by the window's part
    inside the padded input (the padding counts, the rounding-up overhang does not),
    as Caffe's ``AVE`` does. Channels last; the input's rows and columns may be unknown until it runs.
    """

    def __init__(self, kind="max", pool_size=(2, 2), strides=None, pad=(0, 0), ceil_mode=False, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("max", "avg"):
            raise ValueError(f"kind must be 'max' or 'avg', received: kind={kind!r}")
        self.kind = kind
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.pad = _pair(pad)
        self.ceil_mode = bool(ceil_mode)

    def _count(self, size, axis):
        """Pooled length along ``axis`` (0 rows, 1 cols) of ``size``: an int, or a scalar tensor when the size is
        known only when the model runs (an input of any size)."""
        k, s, p = self.pool_size[axis], self.strides[axis], self.pad[axis]
        if isinstance(size, int):
            return pooled_size(size, k, s, p, self.ceil_mode)
        span = size + 2 * p - k
        n = (span + s - 1) // s + 1 if self.ceil_mode else span // s + 1
        if self.ceil_mode:  # Caffe's rule: no window starts inside the trailing padding
            n = n - ops.cast((n - 1) * s >= size + p, n.dtype)
        return n

    def call(self, inputs):
        # Pad by ``pad`` and by a stride less one more after (enough for every window rounding up adds), pool
        # "valid", keep the pooled length: windows start at the same places, and any extra ones are cut off.
        dims = ops.shape(inputs)
        rows, cols = (inputs.shape[i] if inputs.shape[i] is not None else dims[i] for i in (1, 2))
        out_r, out_c = self._count(rows, 0), self._count(cols, 1)
        (pr, pc), (sr, sc) = self.pad, self.strides
        widths = [[0, 0], [pr, pr + sr - 1], [pc, pc + sc - 1], [0, 0]]
        if self.kind == "max":
            lowest = -3.0e38  # below any activation: the padding never wins a window
            x = ops.pad(inputs, widths, constant_values=lowest)
            return ops.max_pool(x, self.pool_size, self.strides, "valid")[:, :out_r, :out_c, :]
        x = ops.pad(inputs, widths)
        inside = ops.pad(ops.ones_like(inputs[..., :1]), [[0, 0], [pr, pr], [pc, pc], [0, 0]], constant_values=1)
        mask = ops.pad(inside, [[0, 0], [0, sr - 1], [0, sc - 1], [0, 0]])  # Caffe counts the pad, not the overhang
        total = ops.average_pool(x, self.pool_size, self.strides, "valid")
        share = ops.average_pool(mask, self.pool_size, self.strides, "valid")
        return (total / share)[:, :out_r, :out_c, :]

    def compute_output_shape(self, input_shape):
        rows, cols = (None if d is None else self._count(d, i) for i, d in enumerate(input_shape[1:3]))
        return (input_shape[0], rows, cols, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "pad": list(self.pad),
            "ceil_mode": self.ceil_mode,
        }


@keras.saving.register_keras_serializable(package="kzoo")
class ChannelScale(keras.layers.Layer):
    """y = gamma_c * x (+ beta_c): Caffe's ``Scale`` with one learned factor (and bias) per channel."""

    def __init__(self, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        ch = input_shape[-1]
        self.gamma = self.add_weight(shape=(ch,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(ch,), initializer="zeros", name="beta") if self.use_bias else None

    def call(self, inputs):
        out = inputs * self.gamma
        return out + self.beta if self.beta is not None else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="kzoo")
class ChannelBias(keras.layers.Layer):
    """y = x + beta_c: Caffe's ``Bias`` with one learned bias per channel."""

    def build(self, input_shape):
        self.beta = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="beta")

    def call(self, inputs):
        return inputs + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kzoo")
class Power(keras.layers.Layer):
    """y = (shift + scale * x) ** power: Caffe's ``Power`` (no weights)."""

    def __init__(self, power=1.0, scale=1.0, shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.power, self.scale, self.shift = float(power), float(scale), float(shift)

    def call(self, inputs):
        x = inputs * self.scale + self.shift if (self.scale, self.shift) != (1.0, 0.0) else inputs
        return ops.power(x, self.power) if self.power != 1.0 else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "power": self.power, "scale": self.scale, "shift": self.shift}


@keras.saving.register_keras_serializable(package="kzoo")
class WeightedSum(keras.layers.Layer):
    """sum_i coeffs_i * x_i over inputs of one shape: Caffe's ``Eltwise SUM`` with coefficients."""

    def __init__(self, coeffs=(1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.coeffs = [float(c) for c in coeffs]

    def call(self, inputs):
        if len(inputs) != len(self.coeffs):
            raise ValueError(f"WeightedSum has {len(self.coeffs)} coefficients for {len(inputs)} inputs")
        total = inputs[0] * self.coeffs[0]
        for c, x in zip(self.coeffs[1:], inputs[1:], strict=True):
            total = total + x * c
        return total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "coeffs": self.coeffs}
