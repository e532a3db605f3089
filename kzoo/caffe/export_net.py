"""The Caffe network being written (:class:`Export`) and the pieces the layer conversions share: Caffe's
rows/cols fields, activations as in-place layers, one-tap depthwise convolutions for padding and cuts, and
pooling that matches Keras' rounding (see :mod:`kzoo.caffe.exporter`)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kzoo.caffe.schema import message
from kzoo.errors import KzooError
from kzoo.keras.history import producer
from kzoo.window_math import pooled_size

DATA = "data"


class Export:
    """The Caffe network being written: layers (LayerParameter) and, per layer, its blobs."""

    def __init__(self, name: str):
        self.net = message("NetParameter")(name=name)
        self.blobs: dict[str, list[np.ndarray]] = {}
        self.by_name: dict[str, Any] = {}  # the Keras layers by name
        self.consumers: dict[str, list[Any]] = {}  # the Keras layers reading each layer's output

    def layer(self, name: str, kind: str, bottoms: list[str], top: str | None = None, blobs: list | None = None) -> Any:
        proto = self.net.layer.add(name=name, type=kind)
        proto.bottom.extend(bottoms)
        proto.top.append(top or name)
        if blobs:
            self.blobs[name] = [np.asarray(b, dtype=np.float32) for b in blobs]
        return proto


def fail(layer: Any, what: str, hint: str | None = None) -> KzooError:
    return KzooError(f"layer {layer.name!r} ({type(layer).__name__}): {what}", hint)


def inputs(layer: Any) -> list[str]:
    out = layer.output if not isinstance(layer.output, (list, tuple)) else layer.output[0]
    _, tensors = producer(out)
    names = []
    for t in tensors:
        src, _ = producer(t)
        names.append(DATA if isinstance(src, keras.layers.InputLayer) else src.name)
    return names


def pairs(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def hw(proto: Any, key: str, value: tuple[int, int], repeated: bool) -> None:
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
        raise fail(owner, f"its activation {kind!r} has no Caffe layer", "Caffe has relu, sigmoid, tanh, softmax, elu")


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
    hw(p, "kernel", (sizes[0], sizes[1]), True)
    hw(p, "pad", (pads[0], pads[1]), True)
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


def pool(ex: Export, layer: Any, bottom: str, kind: str, kernel, stride, pads, ceil: bool) -> None:
    rows, cols, channels = layer.input.shape[1:]
    crops = [pool_crop(s, k, st, p, ceil) for s, k, st, p in zip((rows, cols), kernel, stride, pads, strict=True)]
    if any(crops):
        bottom = tap(ex, f"{layer.name}_crop", bottom, channels, [(0, -crops[0]), (0, -crops[1])])
    proto = ex.layer(layer.name, "Pooling", [bottom])
    p = proto.pooling_param
    p.pool = 0 if kind == "max" else 1
    hw(p, "kernel", kernel, False)
    hw(p, "stride", stride, False)
    if pads != (0, 0):
        hw(p, "pad", pads, False)


def flatten_source(bottom: str, by_name: dict) -> tuple[int, int, int] | None:
    """The (rows, cols, channels) map a dense layer reads through a Flatten (and Dropouts), if any."""
    while bottom in by_name:
        src = by_name[bottom]
        if isinstance(src, keras.layers.Flatten):
            shape = src.input.shape[1:]
            return tuple(shape) if len(shape) == 3 else None
        if not isinstance(src, keras.layers.Dropout):
            return None
        bottom = inputs(src)[0]
    return None
