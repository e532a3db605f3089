"""Checks of a run before anything heavy starts, and what a run records of its settings.

:func:`check_static` — the recipe against the model, before TensorFlow starts
(data source, image size, padding, crop padding, memory); :func:`check_data` — the
data against the recipe, before the model is built (the batch fits, validation and
test images exist where callbacks watch them); :func:`warn_if_tiny` — too few images
for the weights; :func:`settings` — what a rerun must agree with to resume;
:func:`input_meta` — the class names and input preparation a saved model carries.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from kzoo.errors import SpecError
from kzoo.graph.budget import check_training
from kzoo.report import digest
from kzoo.tasks import task_of

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.train.data import Splits
    from kzoo.train.recipe import Recipe

TINY_DATA = 5_000  # weights per training image above which training from scratch is warned about


# -- before TensorFlow ------------------------------------------------------------------------------------------
def check_static(recipe: Recipe, graph: Graph) -> None:
    """What the recipe must satisfy for this model, known without data or TensorFlow."""

    task = task_of(graph)
    task.check_source(recipe.data.source)
    task.check_recipe(recipe)
    shape = graph.input_shape
    if len(shape) != 3:
        raise SpecError(
            f"{graph.name} takes inputs of shape {shape}, not images", hint="kzoo train needs an image model"
        )
    rows, cols = training_shape(recipe, graph)[:2]
    d = recipe.data
    if d.image_size is not None and tuple(d.image_size) != (rows, cols):
        raise SpecError(
            f"data.image_size {d.image_size} differs from {graph.name}'s input {rows}x{cols}",
            path="data.image_size",
            hint=f"drop image_size (the model's input is used), or --param input=[{d.image_size[0]},{d.image_size[1]},"
            f"{shape[2]}]",
        )
    if min(rows, cols) - 2 * d.pad < 1:
        raise SpecError(
            f"data.pad {d.pad} leaves no image inside {rows}x{cols}",
            path="data.pad",
            hint=f"at most {(min(rows, cols) - 1) // 2}",
        )
    if recipe.augment.crop_padding > min(rows, cols) // 2:
        raise SpecError(
            f"augment.crop_padding {recipe.augment.crop_padding} is more than half the {rows}x{cols} input",
            path="augment.crop_padding",
            hint="a few pixels (4 for 32x32 images) is the usual padding",
        )
    task.check_outputs(recipe, graph)
    if recipe.class_weights is not None and len(graph.outputs) > 1:
        raise SpecError(
            f"class_weights weigh one output's targets; {graph.name} has {len(graph.outputs)} outputs",
            path="class_weights",
            hint="remove the extra outputs (include_aux=false), or class_weights",
        )
    check_training(graph, recipe.batch_size)


def check_data(recipe: Recipe, splits: Splits, replicas: int) -> None:
    """The data against the recipe: the batch fits, validation and test images exist where they are needed."""
    if splits.train_size < recipe.batch_size:
        held = f"validation_split {recipe.data.validation_split:g} and test_split {recipe.data.test_split:g}"
        raise SpecError(
            f"batch_size {recipe.batch_size} is larger than the {splits.train_size} training images",
            path="batch_size",
            hint=f"use a smaller batch_size, or hold out fewer images ({held}, where the source has no such split)",
        )
    if recipe.batch_size % replicas:
        raise SpecError(
            f"batch_size {recipe.batch_size} does not split over {replicas} replicas",
            path="batch_size",
            hint=f"use a multiple of {replicas}",
        )
    c, s = recipe.callbacks, recipe.schedule
    watchers = [
        name
        for name, monitor in (
            ("callbacks.early_stopping", c.early_stopping.monitor if c.early_stopping else ""),
            ("schedule.plateau", s.plateau.monitor if s.plateau else ""),
            ("callbacks.checkpoint", "val_accuracy" if c.checkpoint else ""),
        )
        if monitor.startswith("val_")
    ]
    if splits.val_size == 0 and watchers:
        raise SpecError(
            f"{splits.source} leaves no validation images (data.validation_split is 0), but {watchers[0]} watches them",
            path="data.validation_split",
            hint=f"set data.validation_split above 0, or turn {watchers[0]} off (--set {watchers[0]}=null)",
        )
    if isinstance(recipe.class_weights, list) and len(recipe.class_weights) != splits.classes:
        raise SpecError(
            f"class_weights has {len(recipe.class_weights)} weights, but {splits.source} has {splits.classes} classes",
            path="class_weights",
            hint=f"one weight per class ({', '.join(splits.class_names[:5])}, ...), or class_weights: balanced",
        )
    if splits.test_size == 0:
        raise SpecError(
            f"{splits.source} leaves no test images (data.test_split is 0)",
            path="data.test_split",
            hint="set data.test_split above 0, or give the source a test split",
        )


def warn_if_tiny(graph: Graph, splits: Splits) -> None:
    weights = graph.totals()["trainable_params"]
    if weights > TINY_DATA * splits.train_size:
        hint = (
            "a backbone pretrained as a classifier usually does better (kzoo finetune --from CLASSIFIER --to FILE)"
            if task_of(graph).name != "classification"
            else "fine-tuning a pretrained network usually does better "
            f"(kzoo finetune --from resnet18:imagenet --param include_top=false --data {splits.source})"
        )
        print(
            f"kzoo: warning: {splits.train_size} training images for {weights:,} weights: trained from scratch, "
            f"{graph.name} may overfit; {hint}",
            file=sys.stderr,
        )


def training_shape(recipe: Recipe, graph: Graph) -> tuple[int, ...]:
    """The shape images are prepared to: the model's input, or for an input of any size (None rows or cols),
    ``data.image_size`` where the recipe gives one, else the file's example size."""
    if not graph.any_size:
        return graph.input_shape
    size = recipe.data.image_size or graph.example_shape[:2]
    return (size[0], size[1], graph.input_shape[2])


def settings(recipe: Recipe, graph: Graph, splits: Splits) -> dict[str, Any]:
    """What a rerun into the same directory must agree with to resume."""

    plain = recipe.model_dump(mode="json", exclude={"verbose", "output"})
    arch = {
        "name": graph.name,
        "params": graph.meta["params"],
        "input": list(graph.input_shape),
        "digest": digest(graph),
    }
    data = {"source": splits.source, "classes": splits.class_names, "train_images": splits.train_size}
    return json.loads(json.dumps({"recipe": plain, "architecture": arch, "data": data}, default=str))


def input_meta(recipe: Recipe, graph: Graph, splits: Splits) -> dict[str, Any]:
    """How images are prepared for the model, and its classes: saved inside model.keras for kzoo predict."""
    return {
        "class_names": list(splits.class_names),
        "input": {
            "size": list(training_shape(recipe, graph)[:2]),
            "channels": graph.input_shape[2],
            "pad": recipe.data.pad,
        },
        "trained_on": splits.source,
    }


def preparation(recipe: Recipe, input_shape: tuple[int, ...], splits: Splits, name: str) -> str:
    """What is done to every image before the model sees it, said at the start of a run (nothing silently)."""
    rows, cols, channels = input_shape
    pad = recipe.data.pad
    steps = [f"resized to {rows - 2 * pad}x{cols - 2 * pad}"]
    if pad:
        steps.append(f"padded by {pad} to {rows}x{cols} (data.pad)")
    if splits.source_channels == 3 and channels == 1:
        steps.append(f"colour made grey ({name} takes 1 channel; --param input=[{rows},{cols},3] keeps colour)")
    elif splits.source_channels == 1 and channels == 3:
        steps.append("grey repeated over 3 channels")
    if recipe.preprocess.normalize:
        steps.append("normalised per channel")
    elif recipe.preprocess.scale:
        steps.append(f"scaled to {recipe.preprocess.scale}")
    return "images: " + ", ".join(steps)


def stopping(recipe: Recipe, splits: Splits) -> str | None:
    """How early stopping will judge this run (None when it is off)."""
    es = recipe.callbacks.early_stopping
    if es is None:
        return None
    patience, start = es.plan(recipe.epochs, splits.val_size)
    when = f", judging epochs from {start + 1} on" if start else ""
    size = f" ({splits.val_size} validation images)" if splits.val_size >= 0 else ""
    return f"early stopping: {es.monitor}, patience {patience}{when}{size}; the best epoch's weights are kept"
