"""Semantic segmentation: one class per pixel (FCN, U-Net).

* Output: the main output is (rows, cols, classes) at the input's rows and cols, ending in softmax
  (probabilities) or linear (scores), checked from the file before TensorFlow starts.
* Targets: masks of class indices (kzoo.tasks.masks: ``scenes``, ``folder:PATH``, ``voc:PATH``); 255 is
  ignored. Geometric augmentation (flips, crops, shifts, zoom, rotation) moves a mask with its image, resampled
  by nearest neighbour, and pixels brought in from outside the image are ignored; colour augmentation leaves
  masks alone.
* Loss: per-pixel cross-entropy averaged over the labelled pixels (Keras' ``ignore_class=255``).
* Metrics: pixel accuracy (``accuracy``) and mean IoU over the classes (``mean_iou``, Keras' MeanIoU with
  ``ignore_class``), as Long et al. 2015 report them (Section 5); ``kzoo evaluate`` adds IoU per class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kzoo import score_kind
from kzoo.errors import SpecError
from kzoo.tasks.base import Task
from kzoo.tasks.masks import IGNORE, VOC_CLASSES

SOURCES = "scenes, folder:PATH (images/ and masks/), voc:PATH or tfds:NAME"


class Segmentation(Task):
    name = "segmentation"
    sources = SOURCES

    def check_outputs(self, recipe: Any, graph: Any) -> None:
        self.check_one_output(graph)
        main = graph.outputs[0]
        node = graph.nodes[main]
        shape, given = node.shape, graph.input_shape
        if len(shape) != 3 or shape[:2] != tuple(given[:2]):
            raise SpecError(
                f"a segmentation output is (rows, cols, classes) at the input's size {given[0]}x{given[1]}; "
                f"{graph.name}'s {node.name!r} is {shape}",
                node.source,
                node.path,
                "upsample the scores to the input (upsample, conv_transpose) and crop: {from: [scores, input]}",
            )
        if recipe.loss == "map":
            raise SpecError("loss: map is for LeNet-5's RBF output", path="loss", hint="--set loss=crossentropy")
        activation, last = graph.final_activation(main)
        score_kind.kind(activation, last.name, last.source, last.path)

    def check_recipe(self, recipe: Any) -> None:
        if recipe.data.pad:
            raise SpecError(
                "data.pad is not used by segmentation (masks would need the same border)",
                path="data.pad",
                hint="--set data.pad=0",
            )
        if recipe.augment.elastic is not None:
            raise SpecError(
                "augment.elastic does not move masks yet; segmentation takes the affine augmentations",
                path="augment.elastic",
                hint="--set augment.elastic=null; flips, crops, shifts, zoom and rotation move masks",
            )

    def check_source(self, source: str) -> None:
        kind, _, rest = source.partition(":")
        if source == "scenes" or (kind == "tfds" and rest):
            return
        if kind not in ("folder", "voc") or not rest:
            raise SpecError(f"unknown segmentation data source {source!r}", path="data.source", hint=SOURCES)
        if not Path(rest).expanduser().is_dir():
            raise SpecError(f"{kind}: no such folder {rest}", path="data.source", hint=SOURCES)

    def known_classes(self, source: str) -> int | None:
        if source == "scenes":
            from kzoo.tasks.scenes import NAMES

            return len(NAMES)
        return len(VOC_CLASSES) if source.startswith("voc:") else None

    def load_data(self, spec: Any, input_shape: tuple[int, ...]) -> Any:
        from kzoo.tasks.masks import load

        self.check_source(spec.source)
        size = tuple(spec.image_size) if spec.image_size else tuple(input_shape[:2])
        return load(spec, size, input_shape[-1])

    def follow(self, targets: Any, transforms: Any, rows: int, cols: int) -> Any:
        import tensorflow as tf

        moved = tf.raw_ops.ImageProjectiveTransformV3(
            images=tf.cast(targets[..., None], tf.float32),
            transforms=transforms,
            output_shape=tf.constant([rows, cols], tf.int32),
            fill_value=tf.constant(float(IGNORE)),
            interpolation="NEAREST",
            fill_mode="CONSTANT",
        )
        return tf.cast(moved[..., 0], targets.dtype)

    def loss(self, recipe: Any, logits: bool, model: Any = None) -> Any:
        import keras

        return keras.losses.SparseCategoricalCrossentropy(from_logits=logits, ignore_class=IGNORE)

    def metrics(self, classes: int, model: Any = None) -> list[Any]:
        import keras

        from kzoo.keras.metrics import PixelAccuracy

        iou = keras.metrics.MeanIoU(classes, name="mean_iou", ignore_class=IGNORE, sparse_y_pred=False)
        return [PixelAccuracy(IGNORE), iou]

    def score(self, models: list[Any], splits: Any, names: list[str], tta: list[str], batch_size: int) -> dict:
        from kzoo.keras.scores import is_logits
        from kzoo.tasks import dense

        logits = [is_logits(m) for m in models]
        return dense.evaluate(models, splits.test.batch(batch_size), splits.classes, names, logits)

    def report_text(self, report: dict[str, Any]) -> str:
        from kzoo.tasks import dense

        return dense.report_text(report)

    def predict(self, model: Any, files: list[Any], names: list[str], options: dict[str, Any]) -> dict[str, Any]:
        from kzoo.keras.scores import is_logits
        from kzoo.tasks import dense

        size, channels, output = options["size"], options["channels"], Path(options["output"] or "masks")
        return dense.predict_masks(model, files, names, size, channels, is_logits(model), output)

    def table(self, result: dict[str, Any]) -> str:
        from kzoo.tasks import dense

        return dense.masks_table(result)


from kzoo.tasks import register_task  # noqa: E402

register_task(Segmentation)
