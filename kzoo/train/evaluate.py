"""Evaluation with test-time augmentation and ensembles of models.

``kzoo evaluate RUN [RUN ...] [--tta flip,crop]`` loads each run's
``model.keras`` and the test split its recipe names, and reports each
member's accuracy, then the ensemble's by the mean of the probabilities and
by majority vote (ties go to the class with the larger mean probability).

Test-time augmentation averages the probabilities over the image and its
views: ``flip`` (left-right mirror) and ``crop`` (the image shifted by
``shift`` pixels in each of the four diagonal directions, zero-padded).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from kzoo.errors import SpecError, clip
from kzoo.keras.scores import is_logits, to_probabilities
from kzoo.saved import image_shape, load_saved, meta
from kzoo.tasks import task_of
from kzoo.train.recipe import resolve_recipe
from kzoo.train.rundir import RECIPE

TTA = ("flip", "crop")


def views(images: Any, tta: list[str], shift: int = 2) -> list[Any]:

    bad = [t for t in tta if t not in TTA]
    if bad:
        raise SpecError(f"unknown test-time augmentation {', '.join(bad)}", hint="flip, crop")
    out = [images]
    if "flip" in tta:
        out.append(tf.image.flip_left_right(images))
    if "crop" in tta:
        rows, cols = images.shape[1], images.shape[2]
        padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
        for dr, dc in ((0, 0), (0, 2 * shift), (2 * shift, 0), (2 * shift, 2 * shift)):
            out.append(padded[:, dr : dr + rows, dc : dc + cols, :])
    return out


def main_output(outputs: Any) -> np.ndarray:
    """The first output as a NumPy array, on any backend (a torch tensor that tracks gradients included)."""
    import keras

    main = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.stop_gradient(main)))


def probabilities(model: Any, images: Any, tta: list[str], logits: bool) -> np.ndarray:
    """A batch's class probabilities, averaged over its test-time augmentation views (``logits``: the model's
    outputs are logits, :func:`kzoo.keras.scores.is_logits`)."""
    each = [to_probabilities(main_output(model(np.asarray(v), training=False)), logits) for v in views(images, tta)]
    return np.mean(each, axis=0)


def dataset_probabilities(model: Any, dataset: Any, tta: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (averaged over the TTA views) and labels of a batched dataset."""
    probs, labels, logits = [], [], is_logits(model)
    for images, y in dataset:
        probs.append(probabilities(model, images, tta, logits))
        labels.append(np.asarray(y))
    return np.concatenate(probs), np.concatenate(labels)


def ensemble(probs: list[np.ndarray], labels: np.ndarray) -> dict[str, Any]:
    """Each member's accuracy, and the ensemble's by mean probability and by majority vote."""
    members = [float((p.argmax(1) == labels).mean()) for p in probs]
    mean = np.mean(probs, axis=0)
    votes = np.stack([p.argmax(1) for p in probs], axis=1)
    counts = np.stack([(votes == c).sum(1) for c in range(mean.shape[1])], axis=1)
    # Majority vote; ties broken by the mean probability (a tiny, strictly smaller weight).
    majority = (counts + mean * 1e-3).argmax(1)
    return {
        "members": members,
        "mean_probability": float((mean.argmax(1) == labels).mean()),
        "majority_vote": float((majority == labels).mean()),
        "test_images": int(len(labels)),
    }


def _recipe(path: Path) -> Any:

    if path.is_dir() and (path / RECIPE).is_file():
        return resolve_recipe(None, path / RECIPE)[0]
    return None


def evaluate(runs: list[str], data: str | None = None, tta: list[str] | None = None, batch_size: int = 64) -> dict:
    """Evaluate run directories (or .keras files) on their test split, alone and together.

    Every run is scored on the data its recipe names (or ``data``); an ensemble's members must have been
    trained on the same data with the same classes, else a SpecError says which differ.
    """

    if not runs:
        raise SpecError("evaluate needs at least one run directory or .keras file")
    views(np.zeros((1, 2, 2, 1), "float32"), tta or [])  # an unknown TTA name fails before any loading
    models, specs, unflipped = [], [], []
    for run in runs:
        path = Path(run)
        models.append(load_saved(path))
        recipe = _recipe(path)
        specs.append(None if recipe is None else recipe.data)
        if recipe is not None and recipe.augment.flip not in ("horizontal", "both"):
            unflipped.append(str(run))
    if "flip" in (tta or []) and unflipped:
        print(
            f"kzoo: note: --tta flip shows {', '.join(unflipped)} mirrored images its training never flipped "
            "(augment.flip); for digits or text a mirrored image is another image, and accuracy may drop",
            file=sys.stderr,
        )
    known = [s for s in specs if s is not None]
    base = known[0] if known else resolve_recipe()[0].data
    if data:
        base = base.model_copy(update={"source": data})
    elif any(s.model_dump() != base.model_dump() for s in known):
        which = ", ".join(f"{r}: {s.source}" for r, s in zip(runs, specs, strict=True) if s is not None)
        raise SpecError(
            f"the runs were trained on different data ({which})",
            hint="give --data SOURCE to score them all on one source",
        )
    shapes = {image_shape(m, str(r)) for m, r in zip(models, runs, strict=True)}
    if len(shapes) != 1:
        raise SpecError(f"the models take different inputs: {sorted(shapes)}")
    names = [meta(m).get("class_names") for m in models]
    if len(models) > 1 and any(n != names[0] for n in names):
        raise SpecError("the models know different classes: an ensemble needs the same classes in the same order")
    tasks = {task_of(meta(m)).name for m in models}
    if len(tasks) != 1:
        raise SpecError(f"the models do different tasks ({', '.join(sorted(tasks))}): evaluate one kind at a time")
    task = task_of(tasks.pop())
    task.refuse_tta(tta)
    splits = task.load_data(base, shapes.pop())
    for run, known_names in zip(runs, names, strict=True):
        same_classes(known_names, splits.class_names, str(run), splits.source)
    classes = [task.classes_of(m) for m in models]
    if any(c != splits.classes for c in classes):
        raise SpecError(f"{splits.source} has {splits.classes} classes, but a model scores {classes[0]}")
    report = task.score(models, splits, list(names[0] or splits.class_names), list(tta or []), batch_size)
    report.setdefault("test_images", splits.test_size)
    report.update(task=task.name, tta=list(tta or []), data=splits.source, models=[str(r) for r in runs])
    return report


def same_classes(model_names: list[str] | None, data_names: list[str], model: str, source: str) -> None:
    """Refuse to score a model on data whose classes it names otherwise (a count alone would let "cat, dog" be
    scored against "dog, cat"). Numbers 0..K-1 are no names: a source or model without names is not judged."""
    numbered = lambda names: list(names) == [str(i) for i in range(len(names))]  # noqa: E731
    if not model_names or numbered(model_names) or numbered(data_names) or list(model_names) == list(data_names):
        return
    if sorted(model_names) == sorted(data_names):
        problem = "the same classes in another order"
    else:
        problem = f"other classes ({', '.join(sorted(set(data_names) - set(model_names))[:5])} are new to it)"
    raise SpecError(
        f"{source} has {problem}: {model} knows {clip(', '.join(model_names), 80)}; the data has "
        f"{clip(', '.join(data_names), 80)}",
        hint="score a model on data with its own classes (kzoo finetune adapts a model to new classes)",
    )


def report_text(report: dict) -> str:
    """The report as text, as its task writes it."""
    return task_of(report.get("task") or "classification").report_text(report)
