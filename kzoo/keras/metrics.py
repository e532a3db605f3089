"""kzoo's Keras metrics for dense prediction (``keras.ops`` only, registered for serialization).

Keras has ``MeanIoU`` with ``ignore_class``; its accuracies take no ignore label, so the pixel accuracy of
segmentation (Long et al. 2015, Section 5: sum_i n_ii / sum_i t_i, pixels labelled 255 left out) is here.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class PixelAccuracy(keras.metrics.Metric):
    """The fraction of labelled pixels whose most probable class is their label; ``ignore_class`` pixels do not
    count. ``y_true``: (batch, rows, cols) class indices; ``y_pred``: (batch, rows, cols, classes) scores."""

    def __init__(self, ignore_class=255, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = ignore_class
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        labelled = ops.cast(ops.not_equal(y_true, self.ignore_class), "float32")
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32") * labelled
        self.correct.assign_add(ops.sum(hit))
        self.total.assign_add(ops.sum(labelled))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}
