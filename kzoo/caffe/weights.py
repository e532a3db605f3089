"""Caffe's weights into a kzoo model: blobs converted to Keras' layouts, all or nothing.

- Convolution: Caffe's (filters, channels/groups, rows, cols) -> Keras' (rows, cols, channels/groups, filters).
- InnerProduct: (units, inputs) -> (inputs, units); when it reads a flattened feature map, the
  rows are permuted from Caffe's channel-first order (c, y, x) to kzoo's (y, x, c).
- BatchNorm: the mean and variance blobs divided by its scale-factor blob (Caffe keeps running
  sums); gamma and beta come from the Scale layer that reads its output.
- Scale: gamma (and beta); Bias: beta.

Which Caffe layer fills which kzoo layer: by name (kzoo's name of a Caffe name,
:func:`kzoo.caffe.importer.kzoo_name`), or through ``names`` (kzoo name -> Caffe name:
:class:`kzoo.caffe.names.NameRules`), which a zoo file declares where its names differ
from the release's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kzoo.caffe.importer import kzoo_name
from kzoo.caffe.reader import blob_array, read_weights, weight_layers
from kzoo.errors import KzooError, SpecError

if TYPE_CHECKING:
    from kzoo.graph import Graph

SHAPE_KEEPING = {"dropout", "activation", "power"}


def flattened_map(graph: Graph, name: str) -> tuple[int, int, int] | None:
    """The (rows, cols, channels) of the feature map a dense layer reads through a flatten, if it does."""
    node = graph.nodes.get(name)
    while node is not None and node.inputs:
        prev = graph.nodes.get(node.inputs[0])
        if prev is None:
            return None
        if prev.op == "flatten":
            src = graph.nodes.get(prev.inputs[0])
            shape = src.stats.out.shape if src is not None else graph.input_shape
            return tuple(shape) if len(shape) == 3 else None  # type: ignore[return-value]
        if prev.op not in SHAPE_KEEPING:
            return None
        node = prev
    return None


def hwc_rows(kernel: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """A dense kernel (inputs, units) whose rows are in Caffe's (c, y, x) order, re-ordered to (y, x, c)."""
    rows, cols, channels = shape
    units = kernel.shape[1]
    return kernel.reshape(channels, rows, cols, units).transpose(1, 2, 0, 3).reshape(-1, units)


def chw_rows(kernel: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The inverse of :func:`hwc_rows`: kzoo's (y, x, c) rows in Caffe's (c, y, x) order."""
    rows, cols, channels = shape
    units = kernel.shape[1]
    return kernel.reshape(rows, cols, channels, units).transpose(2, 0, 1, 3).reshape(-1, units)


def _scale_after(layers: dict[str, Any], bn: Any) -> Any | None:
    top = bn.top[0] if len(bn.top) else None
    for proto in layers.values():
        if proto.type == "Scale" and len(proto.bottom) == 1 and proto.bottom[0] == top and proto is not bn:
            return proto
    return None


def caffe_arrays(model: Any, graph: Graph, layers: dict[str, Any], names: Callable[[str], str] | None = None) -> dict:
    """Keras layer name -> its weights converted from the Caffe layers (raises KzooError for any mismatch)."""
    index = {kzoo_name(n): p for n, p in layers.items()}
    names = names or (lambda name: name)
    out: dict[str, list[np.ndarray]] = {}
    missing = []
    for layer in model.layers:
        if not layer.weights or layer.name not in graph.nodes:
            continue
        wanted = names(layer.name)
        proto = layers.get(wanted) or index.get(kzoo_name(wanted))
        if proto is None:
            missing.append(layer.name)
            continue
        try:
            arrays = [blob_array(b) for b in proto.blobs]
            _check_blobs(proto, arrays, graph.nodes[layer.name].op, len(layer.get_weights()))
            out[layer.name] = convert_layer(layer, graph, proto, arrays, layers)
        except (ValueError, IndexError) as exc:
            raise KzooError(f"Caffe layer {proto.name!r} does not fit kzoo layer {layer.name!r}: {exc}") from None
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [a.shape for a in out[layer.name]]
        if expected != got:
            raise KzooError(
                f"Caffe layer {proto.name!r} has weights of shapes {got}; kzoo layer {layer.name!r} needs {expected}",
                "is this the caffemodel of this network (same widths and input channels)?",
            )
    if missing:
        raise KzooError(
            f"the Caffe weights have no layer for {len(missing)} kzoo layer(s): {', '.join(missing[:6])}"
            + (" ..." if len(missing) > 6 else ""),
            "is this the caffemodel of this network? (names must match, or the file's weights.caffe.names map them)",
        )
    return out


def _check_blobs(proto: Any, arrays: list[np.ndarray], op: str, wanted: int) -> None:
    """A Caffe layer's blobs are as many as its kind has (an extra one is a wrong file), and finite."""
    count = {"batchnorm": 3, "conv": wanted, "dense": wanted}.get(op, wanted)
    if len(arrays) != count:
        raise KzooError(
            f"Caffe layer {proto.name!r} ({proto.type}) has {len(arrays)} blobs; kzoo's {op} layer takes {count}",
            "is this the caffemodel of this network (same bias_term settings)?",
        )
    for i, array in enumerate(arrays):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise KzooError(
                f"Caffe layer {proto.name!r} ({proto.type}): blob {i} holds {bad:,} weights that are NaN or infinite",
                "the file is damaged, or its training diverged; use another release",
            )


def convert_layer(layer: Any, graph: Graph, proto: Any, arrays: list[np.ndarray], layers: dict[str, Any]) -> list:
    op = graph.nodes[layer.name].op
    if op == "conv":
        kernel = arrays[0]
        if kernel.ndim != 4:
            raise ValueError(f"a convolution kernel has 4 axes, got shape {kernel.shape}")
        weights = [kernel.transpose(2, 3, 1, 0)]
        return weights + ([arrays[1].reshape(-1)] if len(arrays) > 1 and len(layer.get_weights()) > 1 else [])
    if op == "dense":
        kernel = arrays[0].reshape(arrays[0].shape[0], -1).T if arrays[0].ndim != 2 else arrays[0].T
        if arrays[0].ndim == 4 and arrays[0].shape[:2] == (1, 1):
            kernel = arrays[0].reshape(arrays[0].shape[2], arrays[0].shape[3]).T
        shape = flattened_map(graph, layer.name)
        if shape is not None and shape[0] * shape[1] > 1:
            kernel = hwc_rows(kernel, shape)
        weights = [np.ascontiguousarray(kernel)]
        return weights + ([arrays[1].reshape(-1)] if len(arrays) > 1 and len(layer.get_weights()) > 1 else [])
    if op == "batchnorm":
        if proto.type != "BatchNorm" or len(arrays) < 2:
            raise ValueError(f"expected a BatchNorm layer with mean and variance blobs, got {proto.type}")
        factor = float(arrays[2].reshape(-1)[0]) if len(arrays) > 2 else 1.0
        factor = 0.0 if factor == 0 else 1.0 / factor
        mean, var = arrays[0].reshape(-1) * factor, arrays[1].reshape(-1) * factor
        node_args = graph.nodes[layer.name].args
        out = []
        if node_args.scale or node_args.center:
            scale = _scale_after(layers, proto)
            if scale is None:
                raise ValueError("no Scale layer reads its output, but the kzoo layer has gamma/beta")
            blobs = [blob_array(b).reshape(-1) for b in scale.blobs]
            if node_args.scale:
                out.append(blobs[0])
            if node_args.center:
                out.append(blobs[1] if len(blobs) > 1 else np.zeros_like(mean))
        return out + [mean, var]
    if op in ("scale", "bias"):
        return [a.reshape(-1) for a in arrays[: len(layer.get_weights())]]
    raise ValueError(f"kzoo has no Caffe conversion for a {op} layer")


def load_caffe_weights(model: Any, graph: Graph, path: str | Path, names: Callable[[str], str] | None = None) -> None:
    """Set ``model``'s weights from a ``.caffemodel`` file: every weighted layer, or none (a KzooError)."""
    layers = weight_layers(read_weights(path))
    try:
        arrays = caffe_arrays(model, graph, layers, names)
    except KzooError as exc:
        raise SpecError(f"{path}: {exc.message}", hint=exc.hint) from None
    for name, weights in arrays.items():
        model.get_layer(name).set_weights(weights)
