"""The saved-model format: Keras' ``.keras`` files with one more member, ``kzoo.json`` (its schema:
:mod:`kzoo.saved_meta`).

``kzoo.json`` holds what a model needs to be used on new images - its class names and how images are prepared
for it (size, channels, padding) - so that a ``.keras`` file alone can classify a picture (``kzoo predict``).
Keras ignores the extra member when it loads the file. :func:`save_atomic` writes a file whole or not at all;
:func:`load_saved` reads a file or a run directory (its :data:`MODEL_FILE`); :func:`set_meta` and :func:`meta`
keep the metadata of a model in memory until it is saved.
"""

from __future__ import annotations

import json
import weakref
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzoo.errors import KzooError, SpecError
from kzoo.files import atomic_path, check_space
from kzoo.graph import Graph

if TYPE_CHECKING:
    import keras

META_MEMBER = "kzoo.json"
MODEL_FILE = "model.keras"  # a run directory's model (kzoo.train.rundir names the rest of its layout)
MAX_META_BYTES = 10 << 20  # class names of a large data set fit many times over
BYTES_PER_WEIGHT = 4
_META: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def graph_meta(graph: Graph) -> dict[str, Any]:
    """What a model built from ``graph`` knows of itself before training."""
    return {
        "architecture": graph.name,
        "file": graph.file,
        "params": dict(graph.meta.get("params", {})),
        "task": graph.meta.get("task", "classification"),
    }


def set_meta(model: Any, meta: Mapping[str, Any]) -> None:
    """Attach kzoo's metadata (class names, input preparation) to a model in memory; saved by save_atomic."""
    _META[model] = {**_META.get(model, {}), **meta}


def meta(model: Any) -> dict[str, Any]:
    """The metadata attached to ``model`` (empty for a model kzoo did not build or load)."""
    try:
        return dict(_META.get(model, {}))
    except TypeError:
        return {}


def image_shape(model: Any, what: str) -> tuple[int, int, int]:
    """The (rows, cols, channels) images are prepared to for ``model``: its one input's shape, where its rows or
    cols are None (any size), the size its kzoo metadata records. ``what`` names the caller in errors."""
    inputs = list(getattr(model, "inputs", None) or [])
    if len(inputs) != 1:
        raise SpecError(
            f"{what}: the model has {len(inputs)} inputs; kzoo takes models with one image input",
            hint="wrap it in a keras.Model with one image input",
        )
    shape = tuple(inputs[0].shape[1:])
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise SpecError(f"{what}: the model takes inputs of shape {shape}, not grey or RGB images")
    if None in shape[:2]:
        size = (meta(model).get("input") or {}).get("size")
        if not size:
            raise SpecError(
                f"{what}: the model takes images of any size ({shape}) and records no size to prepare them to",
                hint="build it with a fixed size (kzoo.load(..., input_shape=(224, 224, 3))), or train it with kzoo",
            )
        shape = (shape[0] or int(size[0]), shape[1] or int(size[1]), shape[2])
    return int(shape[0]), int(shape[1]), int(shape[2])


def load_saved(path: str | Path) -> keras.Model:
    """A saved model: a ``.keras`` file, or a run directory of kzoo train (its ``model.keras``), uncompiled."""
    import keras

    import kzoo.keras  # noqa: F401  (kzoo's serializable objects)

    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise SpecError(f"no model at {file}", hint="give a .keras file or a run directory of kzoo train")
    if not zipfile.is_zipfile(file):
        raise SpecError(f"{file} is not a .keras file (not a zip archive)", hint="give a model saved by Keras 3")
    info = read_meta(file)  # checked before Keras reads the rest
    try:
        model = keras.saving.load_model(file, compile=False)
    except Exception as exc:  # Keras raises several types for a bad file
        first = str(exc).strip().splitlines()
        raise KzooError(
            f"could not load {file}: {first[0] if first else type(exc).__name__}",
            "is it a .keras file saved by Keras 3 (kzoo build -o, kzoo train)?",
        ) from None
    from kzoo.saved_meta import check_against

    check_against(model, info, file)
    set_meta(model, info)
    return model


def read_meta(file: str | Path) -> dict[str, Any]:
    """The ``kzoo.json`` member of a saved model, validated (empty when it has none; a SpecError when damaged)."""
    from kzoo.saved_meta import HINT, parse

    try:
        with zipfile.ZipFile(file) as z:
            if META_MEMBER not in z.namelist():
                return {}
            if z.getinfo(META_MEMBER).file_size > MAX_META_BYTES:
                raise SpecError(f"{file}: kzoo.json is larger than {MAX_META_BYTES:,} bytes", hint=HINT)
            raw = z.read(META_MEMBER)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise SpecError(f"{file}: cannot read kzoo.json: {exc}", hint=HINT) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SpecError(f"{file}: kzoo.json is not valid JSON: {str(exc)[:200]}", hint=HINT) from None
    return parse(data, file)


def check_output(out: str | Path) -> Path:
    """The path a model is saved to: it must end in .keras and not be a directory."""
    out = Path(out)
    if out.suffix != ".keras":
        raise SpecError(f"the output file must end in .keras, got {out}", hint=f"e.g. -o {out.with_suffix('.keras')}")
    if out.is_dir():
        raise SpecError(f"{out} is a directory", hint="give the path of a .keras file")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise SpecError(f"cannot save under {parent}: it is a file, not a folder", hint="choose another path")
    return out


def save_atomic(model: Any, out: str | Path, graph: Graph | None = None, **more_meta: Any) -> Path:
    """Save to a temporary file beside ``out``, then rename: never half-written.

    The model's kzoo metadata (and ``more_meta``: class names, input preparation) goes into the file.
    """
    out = check_output(out)
    info = {**(graph_meta(graph) if graph is not None else {}), **meta(model), **more_meta}
    set_meta(model, info)
    check_space(out.parent, 3 * BYTES_PER_WEIGHT * model.count_params(), f"saving {out.name}")
    with atomic_path(out) as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(META_MEMBER, json.dumps({"kzoo": 1, **info}, indent=2, default=str))
    return out
