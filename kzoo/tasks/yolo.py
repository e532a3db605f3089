"""YOLO v1's output, loss and decoding (Redmon, Divvala, Girshick & Farhadi, CVPR 2016, Section 2).

The network's output is an S x S grid; each cell holds B predictors of ``x, y, sqrt(w), sqrt(h), confidence``
then C class scores: (S, S, 5B + C). x and y are the box centre's offset within its cell (0-1), w and h the
box's size as fractions of the image, predicted as their square roots (Section 2.2); the confidence is trained
towards the IoU of the predicted box with the object it is responsible for, the class scores towards the
object's class (sum-squared error throughout, as the paper's loss, Eq. 3).

* :class:`YoloLoss` — Eq. 3 with λ_coord = 5 and λ_noobj = 0.5. The cell holding an object's centre is
  responsible for it (the last listed object where several centres share a cell, as darknet's loop leaves it);
  of its B predictors, the one whose box has the largest IoU with the object is responsible. Targets are the
  padded boxes of kzoo.tasks.boxes, (M, 5): class (-1 none), y0, x0, y1, x1 as fractions.
* :class:`CellAccuracy` — the fraction of cells judged right: a cell with an object's centre whose best
  confidence is at least 0.5 and whose best class is the object's, or an empty cell whose confidences are
  all below 0.5. A quick check during training; detection is scored by COCO's mAP (kzoo.tasks.cocoeval).
* :func:`decode` and :func:`nms` — outside the graph, in NumPy: boxes with class-specific scores
  (confidence x class probability, Eq. 1), thresholded, then per-class non-maximum suppression.

Both Keras objects use ``keras.ops`` only and are registered, so a saved detector reloads after ``import kzoo``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

LAMBDA_COORD = 5.0
LAMBDA_NOOBJ = 0.5


def _targets(y_true: Any, grid: int, classes: int) -> tuple[Any, Any, Any]:
    """Per cell (batch, S*S): whether an object's centre is in it, and the object's (class one-hot, cx, cy in
    cell units, w, h); cells are row-major."""
    cls, y0, x0, y1, x1 = (y_true[..., k] for k in range(5))
    valid = ops.cast(cls >= 0, "float32")
    cy, cx = (y0 + y1) / 2.0, (x0 + x1) / 2.0
    row = ops.clip(ops.floor(cy * grid), 0, grid - 1)
    col = ops.clip(ops.floor(cx * grid), 0, grid - 1)
    cell = ops.cast(row * grid + col, "int32")
    in_cell = ops.one_hot(cell, grid * grid) * valid[..., None]  # (batch, M, S*S)
    most = ops.shape(y_true)[1]
    order = ops.cast(ops.arange(most) + 1, "float32")[None, :, None]
    last = ops.one_hot(ops.argmax(in_cell * order, axis=1), most)  # (batch, S*S, M): the last object per cell
    has = ops.max(in_cell, axis=1)  # (batch, S*S)
    pick = last * has[..., None]
    attrs = ops.concatenate(
        [
            ops.one_hot(ops.cast(ops.maximum(cls, 0), "int32"), classes),
            (cx * grid)[..., None],
            (cy * grid)[..., None],
            (x1 - x0)[..., None],
            (y1 - y0)[..., None],
        ],
        axis=-1,
    )
    chosen = ops.einsum("bcm,bmk->bck", pick, attrs)
    return has, chosen[..., :classes], chosen[..., classes:]


def _corners(cx: Any, cy: Any, w: Any, h: Any) -> tuple[Any, Any, Any, Any]:
    return cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0


def iou(a: tuple, b: tuple) -> Any:
    """IoU of boxes given as (x0, y0, x1, y1) tuples of arrays that broadcast."""
    w = ops.maximum(ops.minimum(a[2], b[2]) - ops.maximum(a[0], b[0]), 0.0)
    h = ops.maximum(ops.minimum(a[3], b[3]) - ops.maximum(a[1], b[1]), 0.0)
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ops.maximum(union, 1e-9)


def _split(y_pred: Any, boxes: int) -> tuple[Any, Any, int]:
    grid = int(y_pred.shape[1])
    flat = ops.reshape(y_pred, (-1, grid * grid, int(y_pred.shape[-1])))
    return ops.reshape(flat[..., : 5 * boxes], (-1, grid * grid, boxes, 5)), flat[..., 5 * boxes :], grid


def _cell_origin(grid: int) -> tuple[Any, Any]:
    index = ops.arange(grid * grid)
    return ops.cast(index % grid, "float32")[None, :, None], ops.cast(index // grid, "float32")[None, :, None]


@keras.saving.register_keras_serializable(package="kzoo")
class YoloLoss(keras.losses.Loss):
    """YOLO v1's sum-squared error (Eq. 3) per image, averaged over the batch."""

    def __init__(
        self,
        boxes: int = 2,
        lambda_coord: float = LAMBDA_COORD,
        lambda_noobj: float = LAMBDA_NOOBJ,
        name: str = "yolo_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.boxes, self.lambda_coord, self.lambda_noobj = int(boxes), float(lambda_coord), float(lambda_noobj)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = ops.cast(y_pred, "float32")
        pred, scores, grid = _split(y_pred, self.boxes)
        has, cls, box = _targets(ops.cast(y_true, "float32"), grid, int(scores.shape[-1]))
        col, row = _cell_origin(grid)
        tx, ty = box[..., 0:1] - col, box[..., 1:2] - row  # offsets within the cell
        tw, th = box[..., 2:3], box[..., 3:4]
        px, py, sw, sh, conf = (pred[..., k] for k in range(5))
        predicted = _corners((col + px) / grid, (row + py) / grid, sw * sw, sh * sh)
        truth = _corners((col + tx) / grid, (row + ty) / grid, tw, th)
        overlap = iou(predicted, truth)  # (batch, S*S, B)
        responsible = ops.one_hot(ops.argmax(overlap, axis=-1), self.boxes) * has[..., None]
        coord = (px - tx) ** 2 + (py - ty) ** 2 + (sw - ops.sqrt(tw)) ** 2 + (sh - ops.sqrt(th)) ** 2
        loss = self.lambda_coord * ops.sum(responsible * coord, axis=(1, 2))
        loss += ops.sum(responsible * (conf - ops.stop_gradient(overlap)) ** 2, axis=(1, 2))
        loss += self.lambda_noobj * ops.sum((1.0 - responsible) * conf**2, axis=(1, 2))
        loss += ops.sum(has[..., None] * (scores - cls) ** 2, axis=(1, 2))
        return loss

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "boxes": self.boxes,
            "lambda_coord": self.lambda_coord,
            "lambda_noobj": self.lambda_noobj,
        }


@keras.saving.register_keras_serializable(package="kzoo")
class CellAccuracy(keras.metrics.Mean):
    """The fraction of grid cells judged right (object found with its class, or empty and left empty)."""

    def __init__(self, boxes: int = 2, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.boxes = int(boxes)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        pred, scores, grid = _split(ops.cast(y_pred, "float32"), self.boxes)
        has, cls, _ = _targets(ops.cast(y_true, "float32"), grid, int(scores.shape[-1]))
        found = ops.cast(ops.max(pred[..., 4], axis=-1) >= 0.5, "float32")
        same = ops.cast(ops.argmax(scores, axis=-1) == ops.argmax(cls, axis=-1), "float32")
        right = has * found * same + (1.0 - has) * (1.0 - found)
        super().update_state(ops.mean(right, axis=-1), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "boxes": self.boxes}


# -- outside the graph ------------------------------------------------------------------------------------------
def decode(output: np.ndarray, boxes: int, score: float = 0.2) -> list[np.ndarray]:
    """Per image of a batch of outputs (n, S, S, 5B + C): its candidate boxes (k, 6) of class, score, y0, x0, y1,
    x1 (fractions of the image, clipped to it), those whose class-specific score reaches ``score``."""
    n, grid = output.shape[0], output.shape[1]
    flat = output.reshape(n, grid * grid, -1).astype("float64")
    pred = flat[..., : 5 * boxes].reshape(n, grid * grid, boxes, 5)
    probs = flat[..., 5 * boxes :]
    index = np.arange(grid * grid)
    col, row = (index % grid)[None, :, None], (index // grid)[None, :, None]
    cx, cy = (col + pred[..., 0]) / grid, (row + pred[..., 1]) / grid
    w, h = pred[..., 2] ** 2, pred[..., 3] ** 2
    corners = np.clip(np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1), 0.0, 1.0)
    specific = pred[..., 4:5] * probs[:, :, None, :]  # (n, S*S, B, C): Pr(class | object) Pr(object) IoU
    out = []
    for i in range(n):
        cell, b, c = np.nonzero(specific[i] >= score)
        rows = np.column_stack([c, specific[i][cell, b, c], corners[i][cell, b]])
        keep = (rows[:, 4] > rows[:, 2]) & (rows[:, 5] > rows[:, 3])  # a box with area
        out.append(rows[keep].astype("float32").reshape(-1, 6))
    return out


def nms(found: np.ndarray, threshold: float = 0.5, most: int = 100) -> np.ndarray:
    """Greedy non-maximum suppression per class: by descending score, a box is dropped when its IoU with a kept
    box of its class exceeds ``threshold``; at most ``most`` boxes, best first. ``found`` is (k, 6) as
    :func:`decode` gives. (In NumPy so that predictions need no TensorFlow: the JAX and PyTorch backends.)"""
    order = np.argsort(-found[:, 1], kind="stable")
    found = found[order]
    y0, x0, y1, x1 = found[:, 2], found[:, 3], found[:, 4], found[:, 5]
    area = (y1 - y0) * (x1 - x0)
    kept: list[int] = []
    alive = np.ones(len(found), bool)
    for i in range(len(found)):
        if not alive[i]:
            continue
        kept.append(i)
        if len(kept) == most:
            break
        h = np.clip(np.minimum(y1[i], y1) - np.maximum(y0[i], y0), 0, None)
        w = np.clip(np.minimum(x1[i], x1) - np.maximum(x0[i], x0), 0, None)
        inter = h * w
        overlap = inter / np.maximum(area[i] + area - inter, 1e-12)
        alive &= ~((overlap > threshold) & (found[:, 0] == found[i, 0]))
    return found[kept]


def detections(output: np.ndarray, boxes: int, score: float, threshold: float) -> list[np.ndarray]:
    """Decoded, thresholded and suppressed boxes (k, 6) per image."""
    return [nms(d, threshold) for d in decode(output, boxes, score)]


def follow_boxes(targets: Any, transforms: Any, rows: int, cols: int) -> Any:
    """Padded boxes (batch, M, 5) after their images were resampled by ``transforms`` (ImageProjectiveTransformV3's
    output -> input maps): each box's corners mapped to the output, its extent taken (a rotated box grows to hold
    its corners), clipped to the image; a box that keeps less than :data:`VISIBLE` of its area, or a side under
    one pixel, is dropped (class -1)."""
    import tensorflow as tf

    t = tf.cast(transforms, tf.float32)
    a, b, c, d, e, f = (t[:, k][:, None, None] for k in range(6))  # input x = a x' + b y' + c, y = d x' + e y' + f
    det = a * e - b * d
    cls, y0, x0, y1, x1 = (targets[..., k] for k in range(5))
    # corners in pixel-index coordinates (a pixel's centre at its index), as the transform maps them
    xs = tf.stack([x0, x1, x0, x1], -1) * cols - 0.5
    ys = tf.stack([y0, y0, y1, y1], -1) * rows - 0.5
    u, v = xs - c, ys - f
    xo, yo = (e * u - b * v) / det, (a * v - d * u) / det
    nx0 = (tf.reduce_min(xo, -1) + 0.5) / cols
    nx1 = (tf.reduce_max(xo, -1) + 0.5) / cols
    ny0 = (tf.reduce_min(yo, -1) + 0.5) / rows
    ny1 = (tf.reduce_max(yo, -1) + 0.5) / rows
    whole = (nx1 - nx0) * (ny1 - ny0)
    cx0, cx1 = tf.clip_by_value(nx0, 0.0, 1.0), tf.clip_by_value(nx1, 0.0, 1.0)
    cy0, cy1 = tf.clip_by_value(ny0, 0.0, 1.0), tf.clip_by_value(ny1, 0.0, 1.0)
    seen = (cx1 - cx0) * (cy1 - cy0)
    keep = (cls >= 0) & (seen >= VISIBLE * whole) & ((cx1 - cx0) * cols >= 1.0) & ((cy1 - cy0) * rows >= 1.0)
    moved = tf.stack([cls, cy0, cx0, cy1, cx1], -1)
    none = tf.constant([-1.0, 0.0, 0.0, 0.0, 0.0])
    return tf.where(keep[..., None], moved, none)


VISIBLE = 0.25  # the fraction of a box's area that must stay in the image after augmentation for it to be kept
