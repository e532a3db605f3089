"""``kzoo predict``: classify new images with a trained model, naming the classes.

A model saved by kzoo (``kzoo train``, ``kzoo finetune``, ``kzoo build -o``)
carries its class names and how its images were prepared (size, channels,
padding) inside the ``.keras`` file; its normalisation is a layer of the
model. So an image of any size and mode (grey, RGB, RGBA, palette, 16-bit) is
decoded by Pillow, converted to the model's channels, resized and padded
exactly as training prepared its data, and scored; test-time augmentation
(``flip``, ``crop``) averages over the image's views.

>>> kzoo.predict("runs/shapes/model.keras", ["photo.jpg"], top=3)
{'model': ..., 'classes': [...], 'predictions': [{'file': 'photo.jpg', 'top': [{'class': 'circle', 'p': 0.97}, ...]}]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from kzoo.api import Fraction, Images, ModelLike, Positive
from kzoo.errors import SpecError
from kzoo.keras.scores import is_logits
from kzoo.saved import image_shape, load_saved, meta
from kzoo.tasks import task_of
from kzoo.tasks.detection import IOU, SCORE
from kzoo.train.images import IMAGE_SUFFIXES, list_images


def image_files(paths: list[str | Path]) -> list[Path]:
    """The images named: files as given, folders searched recursively (sorted)."""

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise SpecError(f"{p}: no image files", hint=f"images end in {', '.join(sorted(IMAGE_SUFFIXES))}")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise SpecError(f"no such image or folder: {p}")
    return out


def model_input(model: Any, meta: dict[str, Any]) -> tuple[tuple[int, int], int, int]:
    """(rows, cols), channels and padding of the model's images."""
    shape = image_shape(model, "the model")
    pad = int((meta.get("input") or {}).get("pad", 0))
    return (shape[0], shape[1]), shape[2], pad


def open_model(model: str | Path) -> Any:
    """A saved model (``.keras`` file or run directory), or ``NAME[:RELEASE]`` of the zoo: the architecture with
    a release's weights (default ``imagenet``) and its input transform in front, knowing its class names and its
    resize and crop (kzoo weights NAME lists the releases)."""
    path = Path(model)
    if path.exists() or path.suffix == ".keras" or ":" not in str(model) and not _zoo_name(str(model)):
        return load_saved(path)
    from kzoo.pretrained import categories, front, input_meta
    from kzoo.saved import set_meta
    from kzoo.zoo import with_weights

    name, _, weights = str(model).partition(":")
    net, graph, release = with_weights(name, weights or "imagenet")
    if release is None:
        return net
    net = front(net, graph, release)
    shape = image_shape(net, str(model))
    names = categories(release)
    set_meta(net, {"input": input_meta(release, shape[:2], shape[2]), **({"class_names": names} if names else {})})
    return net


def _zoo_name(text: str) -> bool:
    from kzoo.zoo import aliases, list_architectures

    return text in list_architectures() or text in aliases()


def class_names(model: Any, meta: dict[str, Any]) -> list[str]:
    """The model's class names (saved with it), else "0".."K-1"."""
    k = task_of(meta).classes_of(model)
    names = meta.get("class_names")
    if isinstance(names, list) and len(names) == k:
        return [str(n) for n in names]
    return [str(i) for i in range(k)]


def predict(
    model: ModelLike,
    images: Images,
    top: Positive = 3,
    tta: list[Literal["flip", "crop"]] | None = None,
    batch_size: Positive = 32,
    output: str | Path | None = None,
    score: Fraction = SCORE,
    iou: Fraction = IOU,
) -> dict[str, Any]:
    """Top-``top`` classes with probabilities for each image (files or folders); ``model``: a path or a model.
    A segmentation model (kzoo.tasks) writes a mask and an overlay per image into ``output`` (default ``masks``)
    and gives each class's fraction of the pixels. A detector (kzoo.tasks.detection) gives each image's boxes
    whose class-specific score reaches ``score``, suppressed where they overlap by more than ``iou``, and writes
    an annotated copy of each image into ``output`` (default ``detections``)."""

    files = image_files(images)
    source = str(model) if isinstance(model, (str, Path)) else getattr(model, "name", "model")
    if isinstance(model, (str, Path)):
        model = open_model(model)
    info = meta(model)
    size, channels, pad = model_input(model, info)
    task = task_of(info)
    task.refuse_tta(tta)
    options = {
        "size": size, "channels": channels, "pad": pad, "resize": (info.get("input") or {}).get("resize"),
        "logits": is_logits(model), "top": top, "tta": tta, "batch_size": batch_size, "output": output,
        "score": score, "iou": iou,
    }  # fmt: skip
    result = task.predict(model, files, class_names(model, info), options)
    return {"model": source, **({"task": task.name} if task.name != "classification" else {}), **result}


def predictions_table(result: dict[str, Any]) -> str:
    """One line per image, as the model's task writes it (top classes, a mask, or boxes)."""
    return task_of(result.get("task") or "classification").table(result)
