"""A Keras model as a Caffe network: ``NetParameter`` layers and their blobs.

Each Keras layer becomes the Caffe layer(s) that compute the same thing, named
after it (its top blob too); activations inside a conv or dense become an
in-place layer after it. Where Keras and Caffe differ, the export makes Caffe
compute what Keras does:

- ``padding: same`` with more padding after than before (stride 2, even kernels):
  Caffe pads symmetrically, so the kernel grows by the difference, its leading
  rows/cols zero;
- pooling: Caffe rounds the pooled size up; where Keras rounds down and the sizes
  differ, the rows and cols no window of Keras reads are cut first;
- zero padding (``ZeroPadding2D``) and those cuts are depthwise convolutions with
  one tap (Caffe has no pad or crop layer that takes one input);
- a dense layer after a flatten reads Caffe's channel-first order: its rows are
  permuted;
- ``Normalization`` is a Scale (1/std, -mean/std), ``Rescaling`` a Power,
  ``lecun_tanh`` Power-TanH-Power.

A layer Caffe cannot express is a KzooError naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from kzoo.caffe.schema import message
from kzoo.caffe.weights import chw_rows
from kzoo.errors import KzooError
from kzoo.keras.history import producer
from kzoo.windows import pooled_size

DATA = "data"


class Export:
    """The Caffe network being written: layers (LayerParameter) and, per layer, its blobs."""

    def __init__(self, name: str):
        self.net = message("NetParameter")(name=name)
        self.blobs: dict[str, list[np.ndarray]] = {}

    def layer(self, name: str, kind: str, bottoms: list[str], top: str | None = None, blobs: list | None = None) -> Any:
        proto = self.net.layer.add(name=name, type=kind)
        proto.bottom.extend(bottoms)
        proto.top.append(top or name)
        if blobs:
            self.blobs[name] = [np.asarray(b, dtype=np.float32) for b in blobs]
        return proto


def _fail(layer: Any, what: str, hint: str | None = None) -> KzooError:
    return KzooError(f"layer {layer.name!r} ({type(layer).__name__}): {what}", hint)


def _inputs(layer: Any) -> list[str]:
    out = layer.output if not isinstance(layer.output, (list, tuple)) else layer.output[0]
    _, tensors = producer(out)
    names = []
    for t in tensors:
        src, _ = producer(t)
        names.append(DATA if isinstance(src, keras.layers.InputLayer) else src.name)
    return names


def _pairs(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _hw(proto: Any, key: str, value: tuple[int, int], repeated: bool) -> None:
    if value[0] == value[1]:
        if repeated:
            getattr(proto, "kernel_size" if key == "kernel" else key).append(value[0])
        else:
            setattr(proto, "kernel_size" if key == "kernel" else key, value[0])
    else:
        setattr(proto, f"{key}_h", value[0])
        setattr(proto, f"{key}_w", value[1])


def activation_layers(ex: Export, name: str, fn: Any, owner: Any, bottom: str | None = None) -> None:
    """Caffe layers computing the Keras activation ``fn`` into blob ``name``: in place after the layer that wrote
    it, or (``bottom``) reading another blob, for an activation that is a layer of its own."""
    key = keras.activations.serialize(fn) if not isinstance(fn, str) else fn
    cls = key.get("class_name") if isinstance(key, dict) else None
    config = key.get("config", {}) if isinstance(key, dict) else {}
    kind = key if isinstance(key, str) else (config if isinstance(config, str) else cls)
    kind = {"LeakyReLU": "leaky_relu", "ELU": "elu", "LecunTanh": "lecun_tanh"}.get(kind, kind)
    src = [bottom or name]
    own = (lambda suffix: name) if bottom else (lambda suffix: f"{name}_{suffix}")
    if kind in (None, "linear"):
        if bottom:
            ex.layer(name, "Power", src)  # the identity
        return
    if kind == "relu":
        ex.layer(own("relu"), "ReLU", src, name)
    elif kind == "leaky_relu":
        ex.layer(own("relu"), "ReLU", src, name).relu_param.negative_slope = float(config.get("beta", 0.2))
    elif kind == "sigmoid":
        ex.layer(own("sigmoid"), "Sigmoid", src, name)
    elif kind == "tanh":
        ex.layer(own("tanh"), "TanH", src, name)
    elif kind == "softmax":
        ex.layer(own("softmax"), "Softmax", src, name)
    elif kind == "elu":
        ex.layer(own("elu"), "ELU", src, name).elu_param.alpha = float(config.get("alpha", 1.0))
    elif kind == "lecun_tanh":  # 1.7159 tanh(2x/3)
        ex.layer(own("in") if not bottom else f"{name}_in", "Power", src, name).power_param.scale = 2.0 / 3.0
        ex.layer(f"{name}_tanh", "TanH", [name], name)
        ex.layer(f"{name}_out", "Power", [name], name).power_param.scale = 1.7159
    else:
        raise _fail(owner, f"its activation {kind!r} has no Caffe layer", "Caffe has relu, sigmoid, tanh, softmax, elu")


def tap(ex: Export, name: str, bottom: str, channels: int, plan: list[tuple[int, int]]) -> str:
    """A depthwise one-tap convolution: per axis (pad before, pad after), negative values crop."""
    conv = ex.layer(name, "Convolution", [bottom])
    p = conv.convolution_param
    p.num_output, p.group, p.bias_term = channels, channels, False
    sizes, taps, pads = [], [], []
    for before, after in plan:
        pad = max(before, after, 0)
        size = 2 * pad - before - after + 1
        sizes.append(size)
        taps.append(pad - before)
        pads.append(pad)
    _hw(p, "kernel", (sizes[0], sizes[1]), True)
    _hw(p, "pad", (pads[0], pads[1]), True)
    kernel = np.zeros((channels, 1, sizes[0], sizes[1]), np.float32)
    kernel[:, 0, taps[0], taps[1]] = 1.0
    ex.blobs[name] = [kernel]
    return name


def pool_crop(size: int, kernel: int, stride: int, pad: int, ceil: bool) -> int:
    """Rows to cut at the end so that Caffe's rounded-up pooling gives the size Keras' (or ``ceil``) gives."""
    want = pooled_size(size, kernel, stride, pad, ceil)
    if pooled_size(size, kernel, stride, pad, True) == want:
        return 0
    return size - ((want - 1) * stride + kernel - 2 * pad)


def _pool(ex: Export, layer: Any, bottom: str, kind: str, kernel, stride, pads, ceil: bool) -> None:
    rows, cols, channels = layer.input.shape[1:]
    crops = [pool_crop(s, k, st, p, ceil) for s, k, st, p in zip((rows, cols), kernel, stride, pads, strict=True)]
    if any(crops):
        bottom = tap(ex, f"{layer.name}_crop", bottom, channels, [(0, -crops[0]), (0, -crops[1])])
    proto = ex.layer(layer.name, "Pooling", [bottom])
    p = proto.pooling_param
    p.pool = 0 if kind == "max" else 1
    _hw(p, "kernel", kernel, False)
    _hw(p, "stride", stride, False)
    if pads != (0, 0):
        _hw(p, "pad", pads, False)


def export_model(model: Any) -> Export:
    """The Caffe network and blobs of a Keras model (a KzooError for a layer Caffe cannot express)."""
    if len(model.inputs) != 1:
        raise KzooError("a Caffe network of kzoo's has one input", f"the model has {len(model.inputs)}")
    ex = Export(model.name)
    shape = model.inputs[0].shape[1:]
    if len(shape) != 3 or None in shape:
        raise KzooError(f"Caffe export needs an image input of known size, got {tuple(shape)}")
    ex.net.input.append(DATA)
    ex.net.input_shape.add().dim.extend([1, shape[2], shape[0], shape[1]])
    consumers: dict[str, list[Any]] = {}
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    inputs = {layer.name: _inputs(layer) for layer in layers}
    for layer in layers:
        for i in inputs[layer.name]:
            consumers.setdefault(i, []).append(layer)
    by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        _export_layer(ex, layer, inputs[layer.name], by_name, consumers)
    return ex


def _flatten_source(layer: Any, bottom: str, by_name: dict) -> tuple[int, int, int] | None:
    """The (rows, cols, channels) map a dense layer reads through a Flatten (and Dropouts), if any."""
    while bottom in by_name:
        src = by_name[bottom]
        if isinstance(src, keras.layers.Flatten):
            shape = src.input.shape[1:]
            return tuple(shape) if len(shape) == 3 else None
        if not isinstance(src, keras.layers.Dropout):
            return None
        bottom = _inputs(src)[0]
    return None


def _export_layer(ex: Export, layer: Any, bottoms: list[str], by_name: dict, consumers: dict) -> None:
    from kzoo.keras import caffe as kc
    from kzoo.keras.layers import LocalResponseNormalization

    name = layer.name
    weights = [np.asarray(w) for w in layer.get_weights()]
    if isinstance(layer, keras.layers.Conv2D) and type(layer) in (keras.layers.Conv2D, kc.PaddedConv2D):
        rows, cols, _ = layer.input.shape[1:]
        kernel, stride, dilation = _pairs(layer.kernel_size), _pairs(layer.strides), _pairs(layer.dilation_rate)
        kernel_w = weights[0]
        pads: list[int] = list(getattr(layer, "pad", (0, 0)))
        if layer.padding == "same":
            plan = [_same_pads(s, k, st, d) for s, k, st, d in zip((rows, cols), kernel, stride, dilation, strict=True)]
            for axis, (before, after) in enumerate(plan):
                if before == after:
                    pads[axis] = before
                    continue
                if dilation[axis] != 1:
                    raise _fail(layer, "padding same with a dilation and uneven padding has no Caffe equivalent")
                grow = [(0, 0)] * 4
                grow[axis] = (after - before, 0)
                kernel_w = np.pad(kernel_w, grow)  # a leading zero row/col: the window starts one earlier
                pads[axis] = after
            kernel = (kernel_w.shape[0], kernel_w.shape[1])
        proto = ex.layer(name, "Convolution", bottoms)
        p = proto.convolution_param
        p.num_output = layer.filters
        _hw(p, "kernel", kernel, True)
        if stride != (1, 1):
            _hw(p, "stride", stride, True)
        if tuple(pads) != (0, 0):
            _hw(p, "pad", (pads[0], pads[1]), True)
        if dilation != (1, 1):
            p.dilation.append(dilation[0]) if dilation[0] == dilation[1] else None
            if dilation[0] != dilation[1]:
                raise _fail(layer, "Caffe's dilation is one value for rows and cols")
        if layer.groups != 1:
            p.group = layer.groups
        p.bias_term = bool(layer.use_bias)
        ex.blobs[name] = [kernel_w.transpose(3, 2, 0, 1)] + ([weights[1]] if layer.use_bias else [])
        activation_layers(ex, name, layer.activation, layer)
    elif type(layer) is keras.layers.Dense:
        if len(layer.input.shape) != 2:
            raise _fail(layer, "a dense layer on a feature map (not a vector) has no Caffe equivalent")
        kernel = weights[0]
        source = _flatten_source(layer, bottoms[0], by_name)
        if source is not None and source[0] * source[1] > 1:
            kernel = chw_rows(kernel, source)
        proto = ex.layer(name, "InnerProduct", bottoms)
        proto.inner_product_param.num_output = layer.units
        proto.inner_product_param.bias_term = bool(layer.use_bias)
        ex.blobs[name] = [kernel.T] + ([weights[1]] if layer.use_bias else [])
        activation_layers(ex, name, layer.activation, layer)
    elif isinstance(layer, keras.layers.Flatten):
        shape = layer.input.shape[1:]
        if len(shape) == 3 and shape[0] * shape[1] > 1:
            for reader in consumers.get(name, []):
                if not isinstance(reader, (keras.layers.Dense, keras.layers.Dropout)):
                    raise _fail(layer, "Caffe flattens channels first; only a dense layer may read this flatten")
        ex.layer(name, "Flatten", bottoms)
    elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        kind = "max" if isinstance(layer, keras.layers.MaxPooling2D) else "avg"
        rows, cols, _ = layer.input.shape[1:]
        kernel, stride = _pairs(layer.pool_size), _pairs(layer.strides)
        pads = (0, 0)
        if layer.padding == "same":
            plan = [_same_pads(s, k, st) for s, k, st in zip((rows, cols), kernel, stride, strict=True)]
            if any(b != a for b, a in plan) or (kind == "avg" and any(b for b, _ in plan)):
                raise _fail(layer, "pooling with padding same pads unevenly (or, averaging, counts differently)",
                            "use padding valid, or kzoo's pad/ceil_mode (Caffe's own)")  # fmt: skip
            pads = (plan[0][0], plan[1][0])
            ceil = True
        else:
            ceil = False
        _pool(ex, layer, bottoms[0], kind, kernel, stride, pads, ceil)
    elif isinstance(layer, kc.Pooling2D):
        _pool(ex, layer, bottoms[0], layer.kind, layer.pool_size, layer.strides, layer.pad, layer.ceil_mode)
    elif isinstance(layer, (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)):
        proto = ex.layer(name, "Pooling", bottoms)
        proto.pooling_param.global_pooling = True
        proto.pooling_param.pool = 0 if isinstance(layer, keras.layers.GlobalMaxPooling2D) else 1
    elif isinstance(layer, keras.layers.ZeroPadding2D):
        channels = layer.input.shape[-1]
        (t, b), (lft, r) = layer.padding
        tap(ex, name, bottoms[0], channels, [(t, b), (lft, r)])
    elif isinstance(layer, keras.layers.BatchNormalization):
        gamma = weights.pop(0) if layer.scale else None
        beta = weights.pop(0) if layer.center else None
        mean, var = weights
        ex.layer(name, "BatchNorm", bottoms, blobs=[mean, var, np.ones(1)]).batch_norm_param.eps = layer.epsilon
        if gamma is not None or beta is not None:
            scale = ex.layer(f"{name}_scale", "Scale", [name], name)
            scale.scale_param.bias_term = beta is not None
            blobs = [gamma if gamma is not None else np.ones_like(mean)] + ([beta] if beta is not None else [])
            ex.blobs[scale.name] = [np.asarray(b, np.float32) for b in blobs]
    elif isinstance(layer, LocalResponseNormalization):
        proto = ex.layer(name, "LRN", bottoms)
        p = proto.lrn_param
        p.local_size, p.beta = layer.n, layer.beta
        if layer.region == "within":
            if layer.k != 1:
                raise _fail(layer, f"Caffe's within-channel LRN has k = 1, this one {layer.k}")
            p.norm_region = 1
            p.alpha = layer.alpha if layer.alpha_mode == "mean" else layer.alpha * layer.n * layer.n
        else:
            p.k = layer.k
            p.alpha = layer.alpha if layer.alpha_mode == "mean" else layer.alpha * layer.n
    elif isinstance(layer, keras.layers.Activation):
        activation_layers(ex, name, layer.activation, layer, bottoms[0])
    elif isinstance(layer, keras.layers.ReLU) and layer.max_value is None and not layer.threshold:
        ex.layer(name, "ReLU", bottoms).relu_param.negative_slope = float(layer.negative_slope)
    elif isinstance(layer, keras.layers.Dropout):
        ex.layer(name, "Dropout", bottoms).dropout_param.dropout_ratio = float(layer.rate)
    elif isinstance(layer, (keras.layers.Add, kc.WeightedSum, keras.layers.Multiply, keras.layers.Maximum)):
        proto = ex.layer(name, "Eltwise", bottoms)
        op = {keras.layers.Multiply: 0, keras.layers.Maximum: 2}.get(type(layer), 1)
        proto.eltwise_param.operation = op
        if isinstance(layer, kc.WeightedSum):
            proto.eltwise_param.coeff.extend(layer.coeffs)
    elif isinstance(layer, keras.layers.Concatenate):
        if layer.axis not in (-1, 3):
            raise _fail(layer, "Caffe concatenates channels only")
        ex.layer(name, "Concat", bottoms)
    elif isinstance(layer, kc.ChannelScale):
        ex.layer(name, "Scale", bottoms, blobs=weights).scale_param.bias_term = layer.use_bias
    elif isinstance(layer, kc.ChannelBias):  # a Scale by ones: OpenCV's dnn has no Bias layer
        ex.layer(name, "Scale", bottoms, blobs=[np.ones_like(weights[0]), weights[0]]).scale_param.bias_term = True
    elif isinstance(layer, kc.Power):
        p = ex.layer(name, "Power", bottoms).power_param
        p.power, p.scale, p.shift = layer.power, layer.scale, layer.shift
    elif isinstance(layer, keras.layers.Rescaling):
        scale, offset = np.asarray(layer.scale, np.float32), np.asarray(layer.offset, np.float32)
        if scale.size != 1 or offset.size != 1:
            raise _fail(layer, "a per-channel Rescaling has no Caffe equivalent")
        p = ex.layer(name, "Power", bottoms).power_param
        p.scale, p.shift = float(scale), float(offset)
    elif isinstance(layer, keras.layers.Normalization):
        mean = np.asarray(layer.mean, np.float32).reshape(-1)
        std = np.sqrt(np.maximum(np.asarray(layer.variance, np.float32).reshape(-1), keras.config.epsilon()))
        channels = layer.input.shape[-1]
        mean, std = np.broadcast_to(mean, (channels,)), np.broadcast_to(std, (channels,))
        ex.layer(name, "Scale", bottoms, blobs=[1 / std, -mean / std]).scale_param.bias_term = True
    else:
        raise _fail(
            layer,
            "Caffe has no layer that computes it",
            "Caffe export covers conv, dense, pooling, batch norm, LRN, activations, dropout, flatten, "
            "zero padding, add/multiply/maximum, concat, scale/bias/power",
        )


def iter_blobs(ex: Export) -> Iterator[tuple[Any, list[np.ndarray]]]:
    for proto in ex.net.layer:
        yield proto, ex.blobs.get(proto.name, [])


def rename_like(ex: Export, reference: Any, names: Any = None) -> None:
    """Name the exported layers as a reference network (a :class:`~kzoo.caffe.reader.Net`) names them, so that
    the weights file runs with the reference's own prototxt: each kzoo layer takes the Caffe name it came from
    (``conv1_7x7_s2`` -> ``conv1/7x7_s2``) and a batch norm's Scale the name of the Scale that follows it there."""
    from kzoo.caffe.importer import kzoo_name

    index = {kzoo_name(layer.name): layer.name for layer in reference.layers}
    by_top = {layer.proto.top[0]: layer for layer in reference.layers if len(layer.proto.top)}
    scale_of = {}
    for layer in reference.layers:
        if layer.type == "Scale" and len(layer.proto.bottom) == 1:
            src = by_top.get(layer.proto.bottom[0])
            for cand in reference.layers:  # in-place: the BatchNorm wrote the blob the Scale reads
                if cand.type == "BatchNorm" and len(cand.proto.top) and cand.proto.top[0] == layer.proto.bottom[0]:
                    src = cand
            if src is not None and src.type == "BatchNorm":
                scale_of[src.name] = layer.name
    renamed = {}
    names = names or (lambda name: name)
    for proto in ex.net.layer:
        new = index.get(kzoo_name(names(proto.name)))
        if new is None and proto.type == "Scale" and proto.name.endswith("_scale"):
            bn = index.get(kzoo_name(names(proto.name[: -len("_scale")])))
            new = scale_of.get(bn) if bn else None
        if new is not None and new != proto.name:
            renamed[proto.name] = new
    for proto in ex.net.layer:
        if proto.name in renamed:
            if proto.name in ex.blobs:
                ex.blobs[renamed[proto.name]] = ex.blobs.pop(proto.name)
            proto.name = renamed[proto.name]
