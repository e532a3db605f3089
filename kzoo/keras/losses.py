"""kzoo's Keras losses (keras.ops only; registered under package "kzoo").

* :class:`NegativeLogLikelihood` — −log p(correct class) of the model's output as it is, not renormalised.
  Keras's cross-entropy divides the output by its sum first, which would undo the rubbish class of
  :class:`kzoo.keras.activations.MapSoftmax`; on that output this loss is LeCun et al.'s MAP criterion
  (1998, Section II-C, Eq. 9), and on a plain softmax it equals the cross-entropy.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class NegativeLogLikelihood(keras.losses.Loss):
    """−log p[y] for integer labels y and probabilities p that may sum to less than 1."""

    def __init__(self, name: str = "map", reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        picked = ops.take_along_axis(y_pred, ops.expand_dims(labels, -1), axis=-1)[..., 0]
        return -ops.log(ops.clip(picked, 1e-37, 1.0))  # no floor of its own: map_softmax keeps p >= e^-80

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}
