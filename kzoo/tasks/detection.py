"""Object detection: boxes with a class each (YOLO v1, on any backbone).

* Output: YOLO v1's grid, (S, S, 5B + C), linear (kzoo.tasks.yolo describes the layout); the file declares B as
  its ``boxes`` param, checked with the shape before TensorFlow starts.
* Targets: boxes (kzoo.tasks.boxes: ``scenes``, ``coco:PATH.json``, ``yolo:PATH``, ``tfds:NAME``). Geometric
  augmentation (flips, crops, shifts, zoom, rotation) moves the boxes with their image (clipped; dropped when
  they leave it); colour augmentation leaves them alone.
* Loss: YOLO v1's sum-squared error (λ_coord 5, λ_noobj 0.5). Metric during training: the grid cells judged
  right (``accuracy``); ``kzoo train`` adds COCO's test mAP (``test_map``, ``test_map50``) to its results, and
  ``kzoo evaluate`` gives COCO's table by class (kzoo.tasks.cocoeval).
* Predictions: decoded and suppressed outside the graph (``--score``, ``--iou``), as boxes in each image's own
  pixels, with an annotated copy of the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError
from kzoo.tasks.base import Task
from kzoo.tasks.boxes import SOURCES

SCORE, IOU = 0.2, 0.5  # darknet's YOLO v1 threshold for a class-specific score, and the usual NMS overlap


def boxes_of(params: dict[str, Any], what: str) -> int:
    """The ``boxes`` (B) param of a detector."""
    boxes = params.get("boxes")
    if not isinstance(boxes, int) or isinstance(boxes, bool) or boxes < 1:
        raise SpecError(f"{what}: a detector declares its predictors per cell as the param boxes (got {boxes!r})")
    return boxes


class Detection(Task):
    name = "detection"
    sources = SOURCES

    def check_outputs(self, recipe: Any, graph: Any) -> None:
        self.check_one_output(graph)
        node = graph.nodes[graph.outputs[0]]
        boxes = boxes_of(graph.meta["params"], graph.name)
        shape = node.shape
        if len(shape) != 3 or shape[0] != shape[1] or shape[2] is None or shape[2] <= 5 * boxes:
            raise SpecError(
                f"a detector's output is YOLO's grid (S, S, 5 x boxes + classes) = (S, S, {5 * boxes} + C); "
                f"{graph.name}'s {node.name!r} is {shape}",
                node.source,
                node.path,
                "end with dense: {units: S*S*(5*boxes+classes)} and reshape: [S, S, 5*boxes+classes]",
            )
        if recipe.loss != "crossentropy":
            raise SpecError(
                f"loss: {recipe.loss} is for LeNet-5's RBF output; a detector trains with YOLO's loss", path="loss",
                hint="--set loss=crossentropy (the default; detection replaces it with YOLO v1's)",
            )  # fmt: skip

    def check_recipe(self, recipe: Any) -> None:
        for field, value, why in (
            ("data.pad", recipe.data.pad, "boxes would need the same border"),
            ("augment.elastic", recipe.augment.elastic, "elastic distortion does not move boxes"),
            ("class_weights", recipe.class_weights, "YOLO's loss weighs its terms by λ_coord and λ_noobj"),
        ):
            if value:
                raise SpecError(
                    f"{field} is not used by detection ({why})", path=field, hint=f"--set {field}=null (or 0)"
                )

    def check_source(self, source: str) -> None:
        kind, _, rest = source.partition(":")
        if source == "scenes" or (kind == "tfds" and rest):
            return
        if kind not in ("coco", "yolo") or not rest:
            raise SpecError(f"unknown detection data source {source!r}", path="data.source", hint=SOURCES)
        path = Path(rest).expanduser()
        if kind == "coco" and not path.is_file():
            what = "is a folder, not a JSON file" if path.is_dir() else "no such file"
            raise SpecError(f"coco: {rest} {what}", path="data.source", hint="coco:PATH/annotations.json")
        if kind == "yolo" and not path.is_dir():
            raise SpecError(f"yolo: no such folder {rest}", path="data.source", hint="yolo:PATH (images/, labels/)")

    def known_classes(self, source: str) -> int | None:
        return 10 if source == "scenes" else None

    def load_data(self, spec: Any, input_shape: tuple[int, ...]) -> Any:
        from kzoo.tasks.boxes import load

        self.check_source(spec.source)
        size = tuple(spec.image_size) if spec.image_size else tuple(input_shape[:2])
        return load(spec, size, input_shape[-1])

    def follow(self, targets: Any, transforms: Any, rows: int, cols: int) -> Any:
        from kzoo.tasks.yolo import follow_boxes

        return follow_boxes(targets, transforms, rows, cols)

    def loss(self, recipe: Any, logits: bool, model: Any = None) -> Any:
        from kzoo.tasks.yolo import YoloLoss

        return YoloLoss(_boxes(model))

    def metrics(self, classes: int, model: Any = None) -> list[Any]:
        from kzoo.tasks.yolo import CellAccuracy

        return [CellAccuracy(_boxes(model))]

    def test_scores(self, model: Any, splits: Any, batch_size: int) -> dict[str, float]:
        found = evaluate_models([model], splits.test.batch(batch_size), splits.class_names, SCORE_ALL, IOU)
        return {"test_map": found["members"][0]["map"], "test_map50": found["members"][0]["map50"]}

    def classes_of(self, model: Any) -> int:
        """The classes a detector scores: its output's last axis less 5 per predictor."""
        return int(model.outputs[0].shape[-1]) - 5 * _boxes(model)

    def score(self, models: list[Any], splits: Any, names: list[str], tta: list[str], batch_size: int) -> dict:
        """COCO's evaluation of each model (every box scoring at least 0.001, as COCO's evaluation expects)."""
        return evaluate_models(models, splits.test.batch(batch_size), names, SCORE_ALL, IOU)

    def report_text(self, report: dict[str, Any]) -> str:
        return report_text(report)

    def predict(self, model: Any, files: list[Any], names: list[str], options: dict[str, Any]) -> dict[str, Any]:
        output = Path(options["output"] or "detections")
        return detect(
            model, files, names, options["size"], options["channels"], output, options["score"], options["iou"]
        )

    def table(self, result: dict[str, Any]) -> str:
        return detections_table(result)


SCORE_ALL = 0.001  # the score threshold for mAP: every candidate box counts (COCO keeps 100 per image)


def _boxes(model: Any) -> int:
    from kzoo.saved import meta

    return boxes_of(meta(model).get("params") or {}, getattr(model, "name", "the model"))


def evaluate_models(models: list, test: Any, names: list[str], score: float, iou: float) -> dict[str, Any]:
    """Each detector's COCO scores on a batched test split of (image, padded boxes)."""
    from kzoo.tasks import cocoeval, yolo

    truth: list[np.ndarray] = []
    found: list[list[np.ndarray]] = [[] for _ in models]
    size = None
    for images, boxes in test:
        size = tuple(int(v) for v in images.shape[1:3])
        truth.extend(b[b[:, 0] >= 0] for b in np.asarray(boxes))
        for k, m in enumerate(models):
            out = np.asarray(m(images, training=False))
            found[k].extend(yolo.detections(out, _boxes(m), score, iou))
    if size is None:
        raise SpecError("the test split holds no images")
    return {"members": [cocoeval.evaluate(truth, f, names, size) for f in found]}


def report_text(report: dict[str, Any]) -> str:
    lines = [f"detection on {report['test_images']} test images of {report['data']} (COCO's evaluation):"]
    for model, s in zip(report["models"], report["members"], strict=True):
        lines.append(f"  mAP@[.5:.95] {s['map']:.4f}  mAP@.5 {s['map50']:.4f}  mAP@.75 {s['map75']:.4f}  {model}")
    s = report["members"][0]
    width = max(len(n) for n in s["per_class"])
    lines.append(f"  {'class':<{width}}  AP@[.5:.95]  AP@.5")
    for name, ap in s["per_class"].items():
        ap50 = s["per_class50"][name]
        if ap is None:
            lines.append(f"  {name:<{width}}  (no test objects)")
        else:
            lines.append(f"  {name:<{width}}  {ap:11.4f}  {ap50:.4f}")
    return "\n".join(lines)


def colours(count: int) -> list[tuple[int, int, int]]:
    """A bright colour per class (matplotlib's tab10, then tab20), visible on dark and light images alike."""
    from matplotlib import colormaps

    table = list(colormaps["tab10"].colors) + list(colormaps["tab20"].colors)
    return [tuple(int(255 * v) for v in table[k % len(table)][:3]) for k in range(count)]


def draw(pixels: np.ndarray, found: list[dict[str, Any]], names: list[str]) -> np.ndarray:
    """The image (uint8) with each box outlined in its class's colour and labelled with its class and score."""
    from PIL import Image, ImageDraw

    palette = colours(len(names))
    image = Image.fromarray(pixels if pixels.shape[-1] == 3 else np.repeat(pixels, 3, -1))
    pen = ImageDraw.Draw(image)
    width = max(1, min(image.size) // 150)
    for d in found:
        colour = palette[names.index(d["class"])]
        x0, y0, x1, y1 = d["box"]
        pen.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=colour, width=width)
        pen.text((x0 + 2, y0 + 1), f"{d['class']} {d['score']:.2f}", fill=colour)
    return np.asarray(image)


def detect(
    model: Any, files: list[Path], names: list[str], size: tuple[int, int], channels: int, output: Path,
    score: float, iou: float,
) -> dict[str, Any]:  # fmt: skip
    """Each image's boxes (class, score, [x0, y0, x1, y1] in the image's own pixels), best first, and a copy of
    the image with them drawn, ``output/STEM.png``."""
    from kzoo.tasks import yolo
    from kzoo.tasks.dense import write_png
    from kzoo.train.images import decode, prepare

    boxes = _boxes(model)
    output.mkdir(parents=True, exist_ok=True)
    rows, used = [], set()
    for f in files:
        pixels = decode(f, channels)
        x = prepare(pixels.astype("float32")[None] / 255.0, size, channels)
        out = np.asarray(model(x, training=False))
        (kept,) = yolo.detections(out, boxes, score, iou)
        h, w = pixels.shape[:2]
        found = [
            {"class": names[int(d[0])], "score": float(d[1]),
             "box": [float(d[3]) * w, float(d[2]) * h, float(d[5]) * w, float(d[4]) * h]}
            for d in kept
        ]  # fmt: skip
        stem = f.stem if f.stem not in used else f"{f.stem}_{len(used)}"
        used.add(stem)
        picture = output / f"{stem}.png"
        write_png(draw(pixels, found, names), picture)
        rows.append({"file": str(f), "size": [h, w], "boxes": found, "picture": str(picture)})
    return {"classes": names, "score": score, "iou": iou, "predictions": rows, "output": str(output)}


def detections_table(result: dict[str, Any]) -> str:
    """One line per image: the file, its annotated copy, and its boxes."""
    lines = []
    for r in result["predictions"]:
        found = "  ".join(
            f"{b['class']} {b['score']:.2f} [{', '.join(f'{v:.0f}' for v in b['box'])}]" for b in r["boxes"][:6]
        )
        more = f"  (+{len(r['boxes']) - 6} more)" if len(r["boxes"]) > 6 else ""
        lines.append(f"{r['file']} -> {r['picture']}  {found or '(nothing found)'}{more}")
    return "\n".join(lines)


from kzoo.tasks import register_task  # noqa: E402

register_task(Detection)
