"""Evaluation with test-time augmentation and ensembles of models.

``kzoo evaluate RUN [RUN ...] [--tta flip,crop]`` loads each run's
``model.keras`` and the test split its recipe names, and reports each
member's accuracy, then the ensemble's by the mean of the probabilities and
by majority vote (ties go to the class with the larger mean probability).

Test-time augmentation averages the probabilities over the image and its
variants: ``flip`` (left-right mirror) and ``crop`` (the image shifted by
``shift`` pixels in each of the four diagonal directions, zero-padded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError

TTA = ("flip", "crop")


def variants(images: Any, tta: list[str], shift: int = 2) -> list[Any]:
    import tensorflow as tf

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
    return np.asarray(outputs[0] if isinstance(outputs, (list, tuple)) else outputs)


def predict(model: Any, dataset: Any, tta: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (averaged over the TTA variants) and labels of a batched dataset."""
    probs, labels = [], []
    for images, y in dataset:
        views = [main_output(model(v, training=False)) for v in variants(images, tta)]
        probs.append(np.mean(views, axis=0))
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


def evaluate(runs: list[str], data: str | None = None, tta: list[str] | None = None, batch_size: int = 64) -> dict:
    """Evaluate run directories (or .keras files) on their test split, alone and together."""
    from kzoo.build import load_saved
    from kzoo.train.data import load_data
    from kzoo.train.recipe import resolve_recipe

    if not runs:
        raise SpecError("evaluate needs at least one run directory or .keras file")
    models, recipe = [], None
    for run in runs:
        path = Path(run)
        models.append(load_saved(path))
        if recipe is None and path.is_dir() and (path / "recipe.yaml").is_file():
            recipe, _ = resolve_recipe(None, path / "recipe.yaml")
    if recipe is None:
        recipe, _ = resolve_recipe()
    spec = recipe.data.model_copy(update={"source": data}) if data else recipe.data
    shapes = {tuple(m.input.shape[1:]) for m in models}
    if len(shapes) != 1:
        raise SpecError(f"the models take different inputs: {sorted(shapes)}")
    splits = load_data(spec, shapes.pop())
    test = splits.test.batch(batch_size)
    results = [predict(m, test, tta or []) for m in models]
    labels = results[0][1]
    report = ensemble([p for p, _ in results], labels)
    report.update(tta=list(tta or []), data=splits.source, models=[str(r) for r in runs])
    return report


def print_report(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    tta = f" with test-time augmentation ({', '.join(report['tta'])})" if report["tta"] else ""
    print(f"test accuracy on {report['test_images']} images of {report['data']}{tta}:")
    for model, acc in zip(report["models"], report["members"], strict=True):
        print(f"  {acc:.4f}  {model}")
    if len(report["members"]) > 1:
        print(f"  {report['mean_probability']:.4f}  ensemble, mean of probabilities")
        print(f"  {report['majority_vote']:.4f}  ensemble, majority vote")
