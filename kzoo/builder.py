"""The builder: a graph becomes a functional ``keras.Model``, one layer per node.

Nothing is decided here: every argument (initializers and activations
included) comes from the node, which expansion made concrete. A model whose
weights cannot fit in memory is refused before Keras allocates them
(:mod:`kzoo.graph.budget`).

Saved models (:func:`save_atomic`, :func:`load_saved`) are Keras' ``.keras``
files with one more member, ``kzoo.json``: what a model needs to be used on new
images — its class names and how images are prepared for it (size, channels,
padding) — so that a ``.keras`` file alone can classify a picture
(``kzoo predict``). Keras ignores the extra member when it loads the file.
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
from kzoo.graph import INPUT, Graph
from kzoo.graph.budget import check_weights
from kzoo.ops import OPS

if TYPE_CHECKING:
    import keras

META_MEMBER = "kzoo.json"
_META: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def build_graph(graph: Graph, front: Any = None, weight_decay: float = 0.0) -> keras.Model:
    """The Keras model of an analysed graph.

    ``front`` (a Keras layer, e.g. the training recipe's normalisation) is
    applied to the input first; ``weight_decay`` λ adds L2(λ/2)·||w||² for
    every conv and dense kernel that has no ``weight_decay`` of its own (so
    SGD's step gains −ηλw).
    """
    check_weights(graph)
    import keras

    import kzoo.keras  # noqa: F401  (registers kzoo's custom objects)

    model_input = keras.Input(shape=graph.input_shape, name=INPUT)
    tensors = {INPUT: front(model_input) if front is not None else model_input}
    for node in graph.nodes.values():
        layer = OPS.get(node.op).keras_layer(node.args, node.name)
        if weight_decay and getattr(layer, "kernel_regularizer", False) is None:  # a layer's own lambda wins
            layer.kernel_regularizer = keras.regularizers.L2(weight_decay / 2)
        ins = [tensors[i] for i in node.inputs]
        tensors[node.name] = layer(ins if OPS.get(node.op).max_inputs != 1 else ins[0])
    outputs = [tensors[o] for o in graph.outputs]
    model = keras.Model(model_input, outputs[0] if len(outputs) == 1 else outputs, name=graph.name)
    set_meta(model, graph_meta(graph))
    return model


def graph_meta(graph: Graph) -> dict[str, Any]:
    """What a model built from ``graph`` knows of itself before training."""
    return {"architecture": graph.name, "file": graph.file, "params": dict(graph.meta.get("params", {}))}


def set_meta(model: Any, meta: Mapping[str, Any]) -> None:
    """Attach kzoo's metadata (class names, input preparation) to a model in memory; saved by save_atomic."""
    _META[model] = {**_META.get(model, {}), **meta}


def meta(model: Any) -> dict[str, Any]:
    """The metadata attached to ``model`` (empty for a model kzoo did not build or load)."""
    try:
        return dict(_META.get(model, {}))
    except TypeError:
        return {}


def load_saved(path: str | Path) -> keras.Model:
    """A saved model: a ``.keras`` file, or a run directory of kzoo train (its ``model.keras``), uncompiled."""
    import keras

    import kzoo.keras  # noqa: F401  (kzoo's serializable objects)

    path = Path(path)
    file = path / "model.keras" if path.is_dir() else path
    if not file.is_file():
        raise SpecError(f"no model at {file}", hint="give a .keras file or a run directory of kzoo train")
    if not zipfile.is_zipfile(file):
        raise SpecError(f"{file} is not a .keras file (not a zip archive)", hint="give a model saved by Keras 3")
    try:
        model = keras.saving.load_model(file, compile=False)
    except Exception as exc:  # Keras raises several types for a bad file
        first = str(exc).strip().splitlines()
        raise KzooError(
            f"could not load {file}: {first[0] if first else type(exc).__name__}",
            "is it a .keras file saved by Keras 3 (kzoo build -o, kzoo train)?",
        ) from None
    set_meta(model, read_meta(file))
    return model


def read_meta(file: str | Path) -> dict[str, Any]:
    """The ``kzoo.json`` member of a saved model (empty when it has none)."""
    try:
        with zipfile.ZipFile(file) as z:
            if META_MEMBER not in z.namelist():
                return {}
            return json.loads(z.read(META_MEMBER).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return {}


def rebuild_with_front(model: Any, graph: Graph, front: Any) -> keras.Model:
    """``graph`` built again with ``front`` (e.g. a normalisation layer) after its input, ``model``'s weights
    copied into it layer by layer by name (``model`` is ``graph`` built without the front)."""
    fronted = build_graph(graph, front=front)
    for layer in model.layers:
        if layer.weights:
            fronted.get_layer(layer.name).set_weights(layer.get_weights())
    set_meta(fronted, meta(model))
    return fronted


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


BYTES_PER_WEIGHT = 4
