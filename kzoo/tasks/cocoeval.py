"""Detection scores by COCO's own evaluation (pycocotools' COCOeval), the numbers detection papers report.

Ground truth and detections are handed to pycocotools as COCO's JSON records, in pixels of the model's input
size (the test images as the model sees them; IoU does not change when an axis is stretched, the small, medium
and large area ranges are those of that size). kzoo computes no precision or recall of its own: mAP@[.5:.95],
mAP@.5 and the rest are COCOeval's ``stats``; a class's AP is the mean of COCOeval's accumulated precision
for that class (over IoU thresholds and recall points, ignoring the -1 of points it has none for), as
detectron2 tabulates it.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

STATS = [
    "map",
    "map50",
    "map75",
    "map_small",
    "map_medium",
    "map_large",
    "mar1",
    "mar10",
    "mar100",
    "mar_small",
    "mar_medium",
    "mar_large",
]


def _pixels(box: np.ndarray, rows: int, cols: int) -> list[float]:
    """y0, x0, y1, x1 fractions -> COCO's [x, y, width, height] in pixels."""
    y0, x0, y1, x1 = (float(v) for v in box)
    return [x0 * cols, y0 * rows, (x1 - x0) * cols, (y1 - y0) * rows]


def ground_truth(truth: list[np.ndarray], names: list[str], size: tuple[int, int]) -> dict[str, Any]:
    """COCO's dataset record of the test images' boxes ((k, 5): class, y0, x0, y1, x1); category id = class + 1."""
    rows, cols = size
    annotations = []
    for i, boxes in enumerate(truth):
        for b in boxes:
            if b[0] < 0:
                continue
            x, y, w, h = _pixels(b[1:], rows, cols)
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(b[0]) + 1,
                 "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}
            )  # fmt: skip
    return {
        "images": [{"id": i + 1, "width": cols, "height": rows} for i in range(len(truth))],
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": n} for k, n in enumerate(names)],
    }


def results(found: list[np.ndarray], size: tuple[int, int]) -> list[dict[str, Any]]:
    """COCO's result records of detections ((k, 6): class, score, y0, x0, y1, x1) per test image."""
    rows, cols = size
    return [
        {"image_id": i + 1, "category_id": int(d[0]) + 1, "bbox": _pixels(d[2:], rows, cols), "score": float(d[1])}
        for i, dets in enumerate(found)
        for d in dets
    ]


def evaluate(truth: list[np.ndarray], found: list[np.ndarray], names: list[str], size: tuple[int, int]) -> dict:
    """COCOeval's summary (``map``, ``map50``, ... as :data:`STATS`) and AP@[.5:.95] and AP@.5 by class name
    (None for a class with no test objects). pycocotools' own printing goes to stderr."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth(truth, names, size)
        gt.createIndex()
        records = results(found, size)
        if not records or not gt.dataset["annotations"]:
            return {
                **dict.fromkeys(STATS, 0.0 if gt.dataset["annotations"] else float("nan")),
                "per_class": {n: None for n in names},
                "per_class50": {n: None for n in names},
                "detections": len(records),
                "objects": len(gt.dataset["annotations"]),
            }
        dt = gt.loadRes(records)
        run = COCOeval(gt, dt, "bbox")
        run.evaluate()
        run.accumulate()
        run.summarize()
    precision = run.eval["precision"]  # (IoU thresholds, recall points, classes, areas, max detections)
    per, per50 = {}, {}
    for k, name in enumerate(names):
        every = precision[:, :, k, 0, -1]
        per[name] = float(every[every > -1].mean()) if (every > -1).any() else None
        first = precision[0, :, k, 0, -1]
        per50[name] = float(first[first > -1].mean()) if (first > -1).any() else None
    return {
        **{k: float(v) for k, v in zip(STATS, run.stats, strict=True)},
        "per_class": per,
        "per_class50": per50,
        "detections": len(records),
        "objects": len(gt.dataset["annotations"]),
    }
