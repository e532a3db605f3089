"""Build: a graph becomes a functional ``keras.Model``, one layer per node.

Nothing is decided here: every argument (initializers and activations
included) comes from the node, which expansion made concrete.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError, SpecError
from kzoo.files import atomic_path
from kzoo.graph import INPUT, Graph, analyse
from kzoo.ops import OPS
from kzoo.spec.resolve import Spec


def build_graph(graph: Graph, front: Any = None, weight_decay: float = 0.0) -> Any:
    """The Keras model of an analysed graph.

    ``front`` (a Keras layer, e.g. the training recipe's normalisation) is
    applied to the input first; ``weight_decay`` λ adds L2(λ/2)·||w||² for
    every conv and dense kernel that has no ``weight_decay`` of its own (so
    SGD's step gains −ηλw).
    """
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
    return keras.Model(model_input, outputs[0] if len(outputs) == 1 else outputs, name=graph.name)


def load_saved(path: str | Path) -> Any:
    """A saved model: a ``.keras`` file, or a run directory of kzoo train (its ``model.keras``), uncompiled."""
    import keras

    import kzoo.keras  # noqa: F401  (kzoo's serializable objects)

    path = Path(path)
    file = path / "model.keras" if path.is_dir() else path
    if not file.is_file():
        raise SpecError(f"no model at {file}", hint="give a .keras file or a run directory of kzoo train")
    try:
        return keras.saving.load_model(file, compile=False)
    except Exception as exc:  # Keras raises several types for a bad file
        raise KzooError(f"could not load {file}: {exc}") from None


def rebuild_with_front(model: Any, graph: Graph, front: Any) -> Any:
    """``graph`` built again with ``front`` (e.g. a normalisation layer) after its input, ``model``'s weights
    copied into it layer by layer by name (``model`` is ``graph`` built without the front)."""
    fronted = build_graph(graph, front=front)
    for layer in model.layers:
        if layer.weights:
            fronted.get_layer(layer.name).set_weights(layer.get_weights())
    return fronted


def build(source: str | Path | Spec | Graph, overrides: Mapping[str, Any] | None = None, **params: Any) -> Any:
    """Build a Keras model from a YAML file (or a spec or graph).

    >>> model = kzoo.build("architectures/vgg16.yaml", classes=10)
    """
    graph = source if isinstance(source, Graph) else analyse(source, {**(overrides or {}), **params}, "kzoo.build()")
    return build_graph(graph)


def save_atomic(model: Any, out: Path) -> Path:
    """Save to a temporary file beside ``out``, then rename: never half-written."""
    if out.suffix != ".keras":
        raise KzooError(f"the output file must end in .keras, got {out}")
    with atomic_path(out) as tmp:
        model.save(tmp)
    return out
