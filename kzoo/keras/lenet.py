"""The layers of LeNet-5 as published (LeCun et al. 1998), with ``keras.ops`` only.

* :class:`PartialConv2D` — C3: each output map sees only the input maps its
  row of the connection table names (Table I), so the layer holds exactly the
  connected weights (1,516 parameters for C3, not 2,416).
* :class:`TrainableSubsampling` — S2/S4: the sum of each 2x2 window, times a
  trainable coefficient, plus a trainable bias, per map (2 parameters a map).
* :class:`EuclideanRBF` — the output layer: y_i = Σ_j (x_j − w_ij)²; returned
  as −y_i (larger is better), so a softmax over it is a probability.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kzoo.keras.initializers import DigitBitmaps


@keras.saving.register_keras_serializable(package="kzoo")
class PartialConv2D(keras.layers.Layer):
    """A convolution whose output map j reads only the input maps ``table[j]``.

    Args:
        filters: output maps (= len(table)).
        kernel_size, strides, padding: as in ``Conv2D``.
        table: for each output map, the list of input maps it reads.
        kernel_initializer: drawn for the maps of each fan-in together, with shape
            (rows, cols, len(table[j]), maps), so fan-in rules see the real fan-in.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        table,
        strides=(1, 1),
        padding="valid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        activation=None,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        if len(table) != filters:
            raise ValueError(f"table needs one row per filter: received {len(table)} rows for filters={filters}")
        self.filters, self.table = int(filters), [list(map(int, row)) for row in table]
        self.kernel_size, self.strides, self.padding = tuple(kernel_size), tuple(strides), padding
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        rows, cols = self.kernel_size
        channels = input_shape[-1]
        bad = [c for row in self.table for c in row if not 0 <= c < channels]
        if bad:
            raise ValueError(f"table names input maps {bad} but the input has {channels} channels")
        index = np.zeros((rows, cols, channels, self.filters), "int32")
        position = 1  # 0 is the zero that disconnected entries read
        for j, row in enumerate(self.table):
            for c in row:
                index[:, :, c, j] = np.arange(position, position + rows * cols).reshape(rows, cols)
                position += rows * cols
        self._index = index
        self.kernel = self.add_weight(
            name="kernel", shape=(position - 1,), initializer=self._grouped_init, regularizer=self.kernel_regularizer
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)

    def _grouped_init(self, shape, dtype=None):
        # One draw per group of maps with the same fan-in: Keras initializers
        # repeat their values across calls, so per-map draws would be equal.
        rows, cols = self.kernel_size
        sizes = sorted({len(row) for row in self.table})
        draws, taken = {}, dict.fromkeys(sizes, 0)
        for g in sizes:
            count = sum(len(row) == g for row in self.table)
            w = self.kernel_initializer((rows, cols, g, count), dtype=dtype)
            draws[g] = ops.transpose(w, (3, 2, 0, 1))  # (map, input, row, col)
        parts = []
        for row in self.table:
            parts.append(ops.reshape(draws[len(row)][taken[len(row)]], (-1,)))
            taken[len(row)] += 1
        return ops.concatenate(parts)

    def call(self, inputs):
        padded = ops.concatenate([ops.zeros((1,), dtype=self.kernel.dtype), self.kernel])
        # Rows of a (P, 1) table gathered by a 1-D index, then reshaped: an embedding lookup on the torch backend,
        # which exports to ONNX (a gather with a 4-D index goes through torch's ravel, which ONNX has no op for).
        rows = ops.take(ops.expand_dims(padded, -1), ops.convert_to_tensor(self._index.reshape(-1)), axis=0)
        kernel = ops.reshape(rows, self._index.shape)
        outputs = ops.conv(inputs, kernel, strides=self.strides, padding=self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        conv = keras.layers.Conv2D(self.filters, self.kernel_size, self.strides, self.padding)
        return conv.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            table=self.table,
            strides=self.strides,
            padding=self.padding,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            activation=keras.activations.serialize(self.activation),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class TrainableSubsampling(keras.layers.Layer):
    """LeNet's subsampling: act(coefficient_c · pool(x)_c + bias_c), pool = window sum or mean."""

    def __init__(
        self,
        pool_size=(2, 2),
        strides=None,
        padding="valid",
        mode="sum",
        activation=None,
        coefficient_initializer="ones",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in ("sum", "mean"):
            raise ValueError(f"mode must be 'sum' or 'mean', received: mode={mode!r}")
        self.pool_size = tuple(pool_size)
        self.strides = tuple(strides) if strides is not None else self.pool_size
        self.padding, self.mode = padding, mode
        self.activation = keras.activations.get(activation)
        self.coefficient_initializer = keras.initializers.get(coefficient_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(
            name="coefficient", shape=(channels,), initializer=self.coefficient_initializer
        )
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer=self.bias_initializer)

    def call(self, inputs):
        pooled = ops.average_pool(inputs, self.pool_size, self.strides, self.padding)
        if self.mode == "sum":
            pooled = pooled * float(self.pool_size[0] * self.pool_size[1])
        return self.activation(pooled * self.coefficient + self.bias)

    def compute_output_shape(self, input_shape):
        return keras.layers.AveragePooling2D(self.pool_size, self.strides, self.padding).compute_output_shape(
            input_shape
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            pool_size=self.pool_size,
            strides=self.strides,
            padding=self.padding,
            mode=self.mode,
            activation=keras.activations.serialize(self.activation),
            coefficient_initializer=keras.initializers.serialize(self.coefficient_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class EuclideanRBF(keras.layers.Layer):
    """Euclidean radial basis units: output_i = −Σ_j (x_j − w_ji)².

    With ``trainable_prototypes=False`` (the paper) the prototypes w stay as
    initialised (LeCun et al. used 7x12 bitmaps of the characters:
    ``digit_bitmaps``).
    """

    def __init__(self, units, kernel_initializer=None, trainable_prototypes=False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or DigitBitmaps())
        self.trainable_prototypes = bool(trainable_prototypes)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="prototypes",
            shape=(input_shape[-1], self.units),
            initializer=self.kernel_initializer,
            trainable=self.trainable_prototypes,
        )

    def call(self, inputs):
        diff = ops.expand_dims(inputs, -1) - self.kernel
        return -ops.sum(ops.square(diff), axis=-2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            trainable_prototypes=self.trainable_prototypes,
        )
        return config
