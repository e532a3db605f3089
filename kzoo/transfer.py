"""Moving weights between models, and adapting a trained network to new data.

:func:`port_weights` copies weights between architectures that match;
:func:`cut`, :func:`freeze`, :func:`attach_head` and :func:`unfreeze` are the
steps of fine-tuning (``kzoo finetune`` runs them; see kzoo/train/finetune.py).

kzoo's VGG, ResNet and Inception files build the same graphs as
keras.applications, so a trained keras.applications model's weights copy
into the kzoo model layer by layer. Layers are matched by name where every
weighted layer of the destination has a namesake in the source (VGG,
ResNet), otherwise by structure: the weighted layers in graph order
(Inception v3, whose keras.applications layers are unnamed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kzoo import score_kind
from kzoo.api import KerasModel, StrictBool
from kzoo.builder import build_graph
from kzoo.errors import KzooError, Mark, SpecError, did_you_mean
from kzoo.graph import analyse
from kzoo.keras.history import producer
from kzoo.lang.loader import YMap, YSeq, from_plain, load_file, loads
from kzoo.lang.resolve import Spec
from kzoo.lang.schema import ArchitectureFile
from kzoo.lang.validate import validate

if TYPE_CHECKING:
    pass

HEAD = "head"  # the name of the nested model attach_head adds


def _weighted(model: Any) -> list[Any]:
    return [layer for layer in model.layers if layer.weights]


def _shapes(layer: Any) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in layer.weights]


def _pairs(src: Any, dst: Any) -> list[tuple[Any, Any]]:
    s, d = _weighted(src), _weighted(dst)
    by_name = {layer.name: layer for layer in s}
    if all(layer.name in by_name for layer in d) and len(s) == len(d):
        return [(by_name[layer.name], layer) for layer in d]
    if len(s) != len(d):
        raise KzooError(
            f"cannot port weights: {src.name} has {len(s)} layers with weights, {dst.name} has {len(d)}; "
            "the architectures differ"
        )
    return list(zip(s, d, strict=True))


def adapt_kernel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """A first-layer kernel for another number of input channels.

    One channel: the sum over the RGB kernels (a grey image then gives the
    response a colour image of equal R, G, B would). More channels: the RGB
    kernels tiled and scaled by 3/channels (as timm adapts them), keeping the
    response to an input whose channels are equal exactly when channels is a
    multiple of 3, and roughly otherwise.
    """
    have = kernel.shape[2]
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    reps = -(-channels // have)
    return np.tile(kernel, (1, 1, reps, 1))[:, :, :channels, :] * (have / channels)


def port_weights(src: KerasModel, dst: KerasModel, adapt_channels: StrictBool = False) -> Any:
    """Copy every weight of ``src`` into the matching layer of ``dst`` (and return ``dst``).

    Raises :class:`KzooError` naming the first layer that does not match.
    With ``adapt_channels``, a first conv whose input channels differ is
    adapted by :func:`adapt_kernel` (for grey or multi-spectral inputs).
    """
    pairs = _pairs(src, dst)
    values = []
    for i, (a, b) in enumerate(pairs):
        weights = a.get_weights()
        if _shapes(a) != _shapes(b):
            first_conv = i == 0 and len(weights[0].shape) == 4 and _shapes(b)[0][:2] == weights[0].shape[:2]
            if adapt_channels and first_conv:
                weights = [adapt_kernel(weights[0], _shapes(b)[0][2]), *weights[1:]]
            if [tuple(w.shape) for w in weights] != _shapes(b):
                raise KzooError(
                    f"cannot port weights: layer {a.name!r} ({type(a).__name__}, {_shapes(a)}) of {src.name} "
                    f"does not match layer {b.name!r} ({type(b).__name__}, {_shapes(b)}) of {dst.name}"
                )
        if type(a).__name__ != type(b).__name__:
            raise KzooError(f"cannot port weights: {a.name!r} is a {type(a).__name__}, {b.name!r} a {type(b).__name__}")
        values.append(weights)
    for (_, b), weights in zip(pairs, values, strict=True):
        b.set_weights(weights)
    return dst


def get_layer(model: Any, name: str, what: str) -> Any:
    """``model``'s layer ``name``, or a SpecError (``what`` is the option that named it) with the nearest names."""
    try:
        return model.get_layer(name)
    except ValueError:
        hint = did_you_mean(name, [layer.name for layer in model.layers])
        raise SpecError(
            f"{what}: {model.name} has no layer {name!r}",
            hint=hint or f"see the layer names with: kzoo summary / model.summary() ({len(model.layers)} layers)",
        ) from None


def classifier(model: Any) -> Any:
    """The layer that classifies: the last layer with weights on the path to the (first) output."""
    return classifier_and_input(model)[0]


def classifier_and_input(model: Any) -> tuple[Any, Any]:
    """(the classifier layer, the tensor it was called on in ``model``)."""
    tensor = model.outputs[0]
    while True:
        layer, inputs = producer(tensor)
        if layer.weights:
            if len(inputs) != 1:
                raise KzooError(f"{model.name}'s classifier {layer.name!r} has several inputs; name one with cut=")
            return layer, inputs[0]  # (a nested model's own .input is its inner Input, not this tensor)
        if len(inputs) != 1:  # no weighted layer on a single path from the output
            raise KzooError(f"cannot find {model.name}'s classifier layer; name the feature layer with cut=")
        tensor = inputs[0]  # an activation, softmax or dropout after the classifier


def cut(model: Any, layer: str | None = None) -> Any:
    """The backbone: ``model`` from its input to ``layer``'s output.

    Without ``layer``, the network is cut below its classifier (the lectures'
    "chop off the last layer"): the backbone returns the classifier's input;
    a network that ends in feature maps (``include_top=False``) is kept whole.
    The backbone shares its layers (and weights) with ``model``.
    """
    if layer is None and len(model.outputs[0].shape) > 2:  # no classifier (include_top=False): all of it
        output, name = model.outputs[0], "the output"
    elif layer is None:
        top, output = classifier_and_input(model)
        name = f"below {top.name}"
    else:
        output, name = get_layer(model, layer, "cut").output, layer
    if isinstance(output, (list, tuple)):
        raise SpecError(f"cut: the output at {name} is several tensors", hint="cut at a layer with one output")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, output, name=f"{model.name}_backbone")


def freeze(model: Any, trainable: bool = False) -> Any:
    """Freeze (or unfreeze) every layer of ``model`` except an attached head; returns ``model``.

    Frozen batch-normalisation layers run in inference mode (Keras 3 does so
    for a BatchNormalization layer whose ``trainable`` is False), so their
    moving statistics stay as trained.
    """
    for layer in model.layers:
        if layer.name != HEAD:
            layer.trainable = trainable
    return model


DEFAULT_HEAD = "[{dense: {units: $classes, activation: softmax, name: predictions}}]"
POOLED_HEAD = "[{global_avgpool: {name: pool}}, {dense: {units: $classes, activation: softmax, name: predictions}}]"


def head_model(head: Any, input_shape: tuple[int, ...], classes: int) -> Any:
    """The head as a Keras model on ``input_shape``: a YAML layer list (text or file) or a Python list.

    The head is read and checked like an architecture file's ``layers:`` (the
    same errors with file, line and column), with ``$classes`` set; a mapping
    may also give ``defaults``, ``params`` and ``blocks``.
    """
    file = "<head>"
    if head is None:
        head = DEFAULT_HEAD if len(input_shape) == 1 else POOLED_HEAD
    if isinstance(head, str) and head.endswith((".yaml", ".yml")) and "\n" not in head:
        file, data = head, load_file(head, "head file")
    elif isinstance(head, str):
        data = loads(head, file)
    else:
        data = from_plain(head, Mark(file))
    if isinstance(data, YSeq):
        layers, data = data, YMap()
        data.mark = Mark(file, 1, 1)
        data.put("layers", layers, layers.mark)
    if not isinstance(data, YMap) or "layers" not in data:
        raise SpecError("a head is a list of layers (or a mapping with layers:)", Mark(file, 1, 1))
    wrapped = data.copy()
    wrapped.put("name", HEAD, data.mark)
    wrapped.put("input", list(input_shape), data.mark)
    wrapped.put("params", {**(data.get("params") or {}), "classes": int(classes)}, data.mark)
    checked = validate(ArchitectureFile, dict(wrapped), wrapped, "", "a head", Mark(file, 1, 1))
    graph = analyse(Spec(file, wrapped, checked))
    check_head(graph, classes, file)
    return build_graph(graph)


def check_head(graph: Any, classes: int, file: str) -> None:
    """A classifier head must end in a vector of one score per class."""
    last = graph.nodes[graph.outputs[0]]
    shape = tuple(last.stats.out.shape)
    if len(shape) != 1:
        raise SpecError(
            f"the head ends in outputs of shape {shape}, not a vector of {classes} class scores",
            last.source or Mark(file, 1, 1),
            last.path,
            "put global_avgpool or flatten before the head's last dense layer",
        )
    if shape[0] != classes:
        raise SpecError(
            f"the head ends in {shape[0]} outputs, but there are {classes} classes",
            last.source or Mark(file, 1, 1),
            last.path,
            "end the head with dense: {units: $classes, activation: softmax}",
        )
    activation, node = graph.final_activation(graph.outputs[0])
    score_kind.kind(activation, node.name, node.source or Mark(file, 1, 1), node.path)


def attach_head(backbone: Any, head: Any = None, classes: int = 10) -> Any:
    """``backbone`` with a new head on its output, as one model (the head nested, named ``head``).

    The default head is one softmax dense layer (after global average pooling
    when the backbone ends in feature maps).
    """
    shape = tuple(int(d) for d in backbone.output.shape[1:])
    top = head_model(head, shape, classes)
    return keras.Model(backbone.input, top(backbone.output), name=backbone.name.removesuffix("_backbone"))


def select(model: Any, names: str | list[str]) -> list[Any]:
    """Layers by name, in model order.

    ``NAME`` is the layer of that name and every layer in its scope (names
    that continue ``NAME_`` or ``NAME/``: ``conv5`` is ResNet's last stage,
    ``block5`` VGG's, ``conv5_block3`` one block); ``last:N`` is everything from
    the N-th last conv or dense layer of the backbone to its end. A comma
    separates several.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    layers = [layer for layer in model.layers if layer.name != HEAD and not isinstance(layer, _input_type())]
    chosen: set[str] = set()
    for name in names:
        if name.startswith("last:"):
            try:
                n = int(name[5:])
                if n < 1:
                    raise ValueError(n)
            except ValueError:
                raise SpecError(f"unfreeze: {name!r} is not last:N with N >= 1") from None
            kernels = [i for i, layer in enumerate(layers) if any("kernel" in w.path for w in layer.weights)]
            start = kernels[-n] if n <= len(kernels) else 0
            chosen.update(layer.name for layer in layers[start:])
            continue
        hits = [layer.name for layer in layers if layer.name == name or layer.name.startswith((name + "_", name + "/"))]
        if not hits:
            scopes = {layer.name.split("_")[0] for layer in layers} | {layer.name for layer in layers}
            raise SpecError(
                f"unfreeze: {model.name.removesuffix('_backbone')} has no layer or scope {name!r}",
                hint=did_you_mean(name, scopes) or "give a layer name, a name prefix (a stage or block), or last:N",
            )
        chosen.update(hits)
    return [layer for layer in layers if layer.name in chosen]


def _input_type() -> type:
    return keras.layers.InputLayer


def unfreeze(model: Any, names: str | list[str], batchnorm: bool = False) -> list[str]:
    """Make the layers :func:`select` picks trainable; returns the names of those with weights.

    Batch normalisation stays frozen (inference mode, its statistics as
    trained) unless ``batchnorm`` is true: small fine-tuning batches would
    otherwise overwrite the statistics the backbone learnt on much more data.
    """
    out = []
    for layer in select(model, names):
        if isinstance(layer, keras.layers.BatchNormalization) and not batchnorm:
            continue
        layer.trainable = True
        if layer.weights:
            out.append(layer.name)
    return out
