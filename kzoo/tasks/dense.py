"""Segmentation's predictions and scores: masks written as palette PNGs with overlays, and IoU per class.

Scores come from one confusion matrix over every labelled pixel of the test split (pixels labelled 255 are
left out), as Long et al. 2015 define them (Section 5), with n_ij the pixels of class i predicted as j and
t_i = sum_j n_ij:

* pixel accuracy  sum_i n_ii / sum_i t_i
* IoU of class i  n_ii / (t_i + sum_j n_ji - n_ii)   (None for a class neither in the labels nor predicted)
* mean IoU        the mean of the classes' IoU, over the classes that have one
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kzoo.tasks.masks import IGNORE


def palette(classes: int = 256) -> np.ndarray:
    """PASCAL VOC's colour map (class 0 black, 1 dark red, 2 dark green, ...; 255 white-ish), (256, 3) uint8."""
    colours = np.zeros((256, 3), "uint8")
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours[i] = (r, g, b)
    return colours


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts of labelled pixels: row the label, column the prediction."""
    keep = labels != IGNORE
    index = labels[keep].astype("int64") * classes + predicted[keep].astype("int64")
    return np.bincount(index, minlength=classes * classes).reshape(classes, classes)


def scores(matrix: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Pixel accuracy, mean IoU and IoU by class name, from a confusion matrix."""
    hits = np.diag(matrix).astype("float64")
    union = matrix.sum(0) + matrix.sum(1) - hits
    iou = [float(h / u) if u else None for h, u in zip(hits, union, strict=True)]
    present = [v for v in iou if v is not None]
    total = matrix.sum()
    return {
        "pixel_accuracy": float(hits.sum() / total) if total else float("nan"),
        "mean_iou": float(np.mean(present)) if present else float("nan"),
        "iou": dict(zip(names, iou, strict=True)),
        "pixels": int(total),
    }


def evaluate(models: list[Any], test: Any, classes: int, names: list[str], logits: list[bool]) -> dict[str, Any]:
    """Each model's scores on a batched test split of (image, mask), and, for several, their mean probabilities'."""
    from kzoo.keras.scores import to_probabilities

    members = [np.zeros((classes, classes), "int64") for _ in models]
    together = np.zeros((classes, classes), "int64")
    for images, masks in test:
        labels = np.asarray(masks)
        probs = [to_probabilities(m(images, training=False), raw) for m, raw in zip(models, logits, strict=True)]
        for k, p in enumerate(probs):
            members[k] += confusion(labels, p.argmax(-1), classes)
        if len(models) > 1:
            together += confusion(labels, np.mean(probs, 0).argmax(-1), classes)
    report = {"members": [scores(m, names) for m in members]}
    if len(models) > 1:
        report["ensemble"] = scores(together, names)
    return report


def write_png(array: np.ndarray, path: Path, colours: np.ndarray | None = None) -> None:
    """A uint8 image (or, with ``colours``, a palette image of indices) written atomically."""
    from PIL import Image

    from kzoo.files import atomic_path

    if colours is not None:  # Image.fromarray(..., "P") does not keep the values
        data = np.ascontiguousarray(array, "uint8")
        image = Image.frombytes("P", (data.shape[1], data.shape[0]), data.tobytes())
        image.putpalette(colours.flatten().tolist())
    else:
        image = Image.fromarray(array.astype("uint8"))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def overlay(image: np.ndarray, mask: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """The image (uint8 RGB) with every non-background pixel tinted half-way to its class colour."""
    rgb = image if image.shape[-1] == 3 else np.repeat(image, 3, -1)
    tinted = (rgb.astype("float32") * 0.5 + colours[mask].astype("float32") * 0.5).astype("uint8")
    return np.where((mask > 0)[..., None], tinted, rgb)


def predict_masks(
    model: Any, files: list[Path], names: list[str], size: tuple[int, int], channels: int, logits: bool, output: Path
) -> dict[str, Any]:
    """A mask per image at the image's own size (the model's probabilities, at its input size, resized back
    bilinearly), written to ``output`` as ``STEM.png`` (palette) and ``STEM_overlay.png``; per image the fraction
    of its pixels in each class."""
    import tensorflow as tf

    from kzoo.keras.scores import to_probabilities
    from kzoo.train.images import decode, prepare

    colours = palette()
    output.mkdir(parents=True, exist_ok=True)
    rows = []
    used: set[str] = set()
    for f in files:
        pixels = decode(f, channels)
        x = prepare(pixels.astype("float32")[None] / 255.0, size, channels)
        probs = to_probabilities(model(x, training=False), logits)
        probs = tf.image.resize(probs, pixels.shape[:2], method="bilinear")
        mask = np.asarray(probs)[0].argmax(-1).astype("uint8")
        stem = f.stem if f.stem not in used else f"{f.stem}_{len(used)}"
        used.add(stem)
        write_png(mask, output / f"{stem}.png", colours)
        write_png(overlay(pixels, mask, colours), output / f"{stem}_overlay.png")
        counts = np.bincount(mask.ravel(), minlength=len(names))
        rows.append(
            {
                "file": str(f),
                "mask": str(output / f"{stem}.png"),
                "overlay": str(output / f"{stem}_overlay.png"),
                "size": list(mask.shape),
                "fractions": {n: float(c / mask.size) for n, c in zip(names, counts, strict=False) if c},
            }
        )
    return {"classes": names, "predictions": rows, "output": str(output)}


def masks_table(result: dict[str, Any]) -> str:
    """One line per image: the file, its mask, and its classes by the fraction of pixels they cover."""
    lines = []
    for r in result["predictions"]:
        parts = sorted(r["fractions"].items(), key=lambda kv: -kv[1])
        classes = "  ".join(f"{k} {v:.3f}" for k, v in parts[:5])
        lines.append(f"{r['file']} -> {r['mask']}  {classes}")
    return "\n".join(lines)


def report_text(report: dict[str, Any]) -> str:
    lines = [f"segmentation of {report['test_images']} test images of {report['data']}:"]
    for model, s in zip(report["models"], report["members"], strict=True):
        lines.append(f"  mean IoU {s['mean_iou']:.4f}  pixel accuracy {s['pixel_accuracy']:.4f}  {model}")
    if "ensemble" in report:
        s = report["ensemble"]
        lines.append(f"  mean IoU {s['mean_iou']:.4f}  pixel accuracy {s['pixel_accuracy']:.4f}  ensemble")
    per = ", ".join(f"{k} {v:.3f}" for k, v in report["members"][0]["iou"].items() if v is not None)
    lines.append(f"IoU per class: {per}")
    return "\n".join(lines)
