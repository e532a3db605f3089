"""A Caffe network as kzoo nodes: each supported layer becomes one op of the language.

:func:`convert` walks the test-time layers of a :class:`~kzoo.caffe.reader.Net` in
order, follows blobs (in-place layers such as ReLU rewrite their bottom blob; Split
only aliases), and produces :class:`KNode` s: an op name, its arguments as the
YAML will hold them, and the nodes it reads. Then it folds what a person would
write as one layer: an activation into the conv or dense before it, a Scale into
the BatchNorm before it, Softmax into the classifier. Layer names are Caffe's
(characters other than letters, digits, ``_``, ``.`` and ``-`` become ``_``), so
weights match by name.

Caffe's semantics kept exactly: convolution and pooling ``pad`` on both sides
(``pad:``), pooling that rounds up (``ceil_mode: true``) and whose averages count
the padding, LRN's alpha divided by the window size (``alpha_mode: mean``, and
n² within channels), BatchNorm's epsilon, and InnerProduct reading a feature map
in channel-first order (kzoo flattens rows-cols-channels and permutes the
weights' rows when it loads them: :mod:`kzoo.caffe.weights`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kzoo.caffe.fold import fold
from kzoo.caffe.reader import Layer, Net
from kzoo.caffe.schema import enum_name
from kzoo.errors import SpecError

SUPPORTED = (
    "Convolution", "Pooling", "LRN", "ReLU", "Sigmoid", "TanH", "ELU", "BatchNorm", "Scale", "Bias", "Eltwise",
    "Concat", "InnerProduct", "Dropout", "Softmax", "SoftmaxWithLoss", "Flatten", "Split", "Power",
)  # fmt: skip
ACTIVATION_OPS = {"relu", "sigmoid", "tanh", "elu", "leaky_relu", "softmax"}


@dataclass
class KNode:
    """One kzoo op converted from one (or, once folded, several) Caffe layers."""

    name: str
    op: str
    args: dict[str, Any]
    inputs: list[str]
    layer: Layer | None = None
    image: bool = True  # whether the output is a feature map (rows, cols, channels) or a vector
    caffe: list[str] = field(default_factory=list)  # the Caffe layers it came from


@dataclass
class Imported:
    """A converted network: nodes in order, the input, the outputs."""

    net: Net
    nodes: list[KNode]
    outputs: list[str]


def kzoo_name(caffe_name: str) -> str:
    """A Caffe layer name as a kzoo name: only letters, digits, '_', '.' and '-'."""
    name = re.sub(r"[^0-9A-Za-z_.-]", "_", caffe_name) or "layer"
    return f"{name}_" if name == "input" else name


def _hw(param: Any, key: str, default: int | None) -> tuple[int, int] | None:
    """A (rows, cols) setting of a Convolution/Pooling parameter from ``key``, ``key_h``/``key_w`` or neither."""
    base = "kernel" if key == "kernel_size" else key
    h, w = f"{base}_h", f"{base}_w"
    fields = param.DESCRIPTOR.fields_by_name
    if h in fields and (param.HasField(h) or param.HasField(w)):
        return int(getattr(param, h)), int(getattr(param, w))
    values = getattr(param, key)
    if isinstance(values, int):  # Pooling's fields are scalars
        return (values, values) if param.HasField(key) or default is None else (default, default)
    values = list(values)
    if not values:
        return None if default is None else (default, default)
    if len(values) > 2:
        raise ValueError(f"{key} has {len(values)} values; kzoo builds 2-D networks")
    return (values[0], values[-1])


def _size(value: tuple[int, int]) -> Any:
    return value[0] if value[0] == value[1] else [value[0], value[1]]


def filler(proto: Any) -> Any:
    """A Caffe filler as a kzoo initializer (None for Caffe's default, constant 0)."""
    kind = proto.type
    norm = {0: "fan_in", 1: "fan_out", 2: "average"}[proto.variance_norm]
    if kind == "constant":
        return "zeros" if proto.value == 0 else {"constant": {"value": _num(proto.value)}}
    if kind in ("xavier", "msra"):
        return kind if norm == "fan_in" else {kind: {"variance_norm": norm}}
    if kind == "gaussian":
        args = {"std": _num(proto.std)}
        if proto.mean:
            args["mean"] = _num(proto.mean)
        return {"gaussian": args}
    if kind == "uniform":
        return {"random_uniform": {"minval": _num(proto.min), "maxval": _num(proto.max)}}
    return None


class _Converter:
    def __init__(self, net: Net):
        self.net = net
        self.nodes: list[KNode] = []
        self.blobs: dict[str, str] = {net.input_blob: "input"}
        self.names: set[str] = {"input"}
        self.image: dict[str, bool] = {"input": True}
        self.consumers: dict[str, int] = {}

    def name(self, caffe_name: str) -> str:
        base = kzoo_name(caffe_name)
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def bottoms(self, layer: Layer, n: int | None = 1) -> list[str]:
        bottoms = list(layer.proto.bottom)
        if n is not None and len(bottoms) != n:
            raise layer.fail(f"expected {n} bottom blob(s), got {len(bottoms)}")
        if len(bottoms) < 1:
            raise layer.fail("has no bottom blob")
        out = []
        for blob in bottoms:
            if blob not in self.blobs:
                raise layer.fail(f"reads blob {blob!r}, which no earlier layer writes", "is a layer missing?")
            out.append(self.blobs[blob])
        return out

    def add(self, layer: Layer, op: str, args: dict, inputs: list[str], image: bool | None = None) -> KNode:
        if len(layer.proto.top) != 1:
            raise layer.fail(f"expected one top blob, got {len(layer.proto.top)}")
        node = KNode(self.name(layer.name), op, args, inputs, layer, caffe=[layer.name])
        node.image = self.image[inputs[0]] if image is None else image
        self.nodes.append(node)
        self.image[node.name] = node.image
        self.blobs[layer.proto.top[0]] = node.name
        return node

    def run(self) -> Imported:
        for layer in self.net.layers:
            handler = getattr(self, "_" + layer.type.lower(), None)
            if layer.type not in SUPPORTED or handler is None:
                raise layer.fail(
                    "this layer type has no kzoo equivalent",
                    "supported: " + ", ".join(SUPPORTED) + " (and Input/data, loss and accuracy layers, dropped)",
                )
            try:
                handler(layer)
            except (ValueError, IndexError) as exc:
                raise layer.fail(str(exc)) from None
        return self.finish()

    # the layers -------------------------------------------------------------------------------------
    def _image_input(self, layer: Layer) -> str:
        (src,) = self.bottoms(layer)
        if not self.image[src]:
            raise layer.fail("needs a feature map (channels x rows x cols), but its input is a vector")
        return src

    def _convolution(self, layer: Layer) -> None:
        p = layer.proto.convolution_param
        src = self._image_input(layer)
        if not p.num_output:
            raise layer.fail("convolution_param has no num_output")
        kernel = _hw(p, "kernel_size", None)
        if kernel is None:
            raise layer.fail("convolution_param has no kernel_size (or kernel_h and kernel_w)")
        args: dict[str, Any] = {"filters": int(p.num_output), "kernel": _size(kernel)}
        stride, pad, dilation = _hw(p, "stride", 1), _hw(p, "pad", 0), _hw(p, "dilation", 1)
        if stride != (1, 1):
            args["stride"] = _size(stride)
        if pad != (0, 0):
            args["pad"] = _size(pad)
        if dilation != (1, 1):
            args["dilation"] = _size(dilation)
        if p.group != 1:
            args["groups"] = int(p.group)
        if p.axis != 1:
            raise layer.fail(f"axis {p.axis}: kzoo convolves over channels (axis 1)")
        args["use_bias"] = bool(p.bias_term)
        self._fillers(args, p)
        self.add(layer, "conv", args, [src])

    def _fillers(self, args: dict, p: Any) -> None:
        if p.HasField("weight_filler") and (init := filler(p.weight_filler)) is not None:
            args["init"] = init
        if args.get("use_bias", True) and p.HasField("bias_filler") and (bias := filler(p.bias_filler)) is not None:
            args["bias_init"] = bias

    def _pooling(self, layer: Layer) -> None:
        p = layer.proto.pooling_param
        src = self._image_input(layer)
        method = enum_name("PoolingParameter", "pool", p.pool)
        if method not in ("MAX", "AVE"):
            raise layer.fail(f"pool: {method} has no kzoo equivalent", "MAX and AVE pooling are supported")
        kind = "maxpool" if method == "MAX" else "avgpool"
        if p.global_pooling:
            self.add(layer, f"global_{kind}", {"keepdims": True}, [src])
            return
        kernel = _hw(p, "kernel_size", None)
        if kernel is None:
            raise layer.fail("pooling_param has no kernel_size (or kernel_h and kernel_w), nor global_pooling")
        stride, pad = _hw(p, "stride", 1), _hw(p, "pad", 0)
        ceil = p.ceil_mode and not (
            p.HasField("round_mode") and enum_name("PoolingParameter", "round_mode", p.round_mode) == "FLOOR"
        )
        args: dict[str, Any] = {"pool": _size(kernel), "stride": _size(stride)}
        if pad != (0, 0):
            args["pad"] = _size(pad)
        args["ceil_mode"] = bool(ceil)
        self.add(layer, kind, args, [src])

    def _lrn(self, layer: Layer) -> None:
        p = layer.proto.lrn_param
        src = self._image_input(layer)
        within = enum_name("LRNParameter", "norm_region", p.norm_region) == "WITHIN_CHANNEL"
        if p.local_size % 2 == 0:
            raise layer.fail(f"local_size {p.local_size} must be odd (Caffe requires it)")
        args = {"n": int(p.local_size), "k": 1.0 if within else _num(p.k), "alpha": _num(p.alpha), "beta": _num(p.beta)}
        args["alpha_mode"] = "mean"
        if within:
            args["region"] = "within"
        self.add(layer, "lrn", args, [src])

    def _activation(self, layer: Layer, fn: Any) -> None:
        (src,) = self.bottoms(layer)
        self.add(layer, "activation", {"fn": fn}, [src])

    def _relu(self, layer: Layer) -> None:
        slope = layer.proto.relu_param.negative_slope
        if not 0 <= slope <= 1:
            raise layer.fail(f"negative_slope {slope} outside [0, 1]")
        self._activation(layer, "relu" if slope == 0 else {"leaky_relu": {"beta": _num(slope)}})

    def _sigmoid(self, layer: Layer) -> None:
        self._activation(layer, "sigmoid")

    def _tanh(self, layer: Layer) -> None:
        self._activation(layer, "tanh")

    def _elu(self, layer: Layer) -> None:
        alpha = layer.proto.elu_param.alpha
        self._activation(layer, "elu" if alpha == 1 else {"elu": {"alpha": _num(alpha)}})

    def _softmax(self, layer: Layer) -> None:
        if layer.proto.softmax_param.axis != 1:
            raise layer.fail(f"axis {layer.proto.softmax_param.axis}: kzoo's softmax runs over channels (axis 1)")
        bottoms = list(layer.proto.bottom)
        if layer.type == "SoftmaxWithLoss":  # train_val: the loss's probabilities, without the label
            layer.proto.ClearField("bottom")
            layer.proto.bottom.append(bottoms[0])
            if len(layer.proto.top) != 1:
                layer.proto.ClearField("top")
                layer.proto.top.append(layer.name)
        self._activation(layer, "softmax")

    _softmaxwithloss = _softmax

    def _batchnorm(self, layer: Layer) -> None:
        p = layer.proto.batch_norm_param
        src = self._image_input(layer)
        args = {"epsilon": _num(p.eps), "momentum": _num(p.moving_average_fraction), "center": False, "scale": False}
        self.add(layer, "batchnorm", args, [src])

    def _scale(self, layer: Layer) -> None:
        p = layer.proto.scale_param
        if len(layer.proto.bottom) != 1:
            raise layer.fail("a Scale with its factors from a second bottom has no kzoo equivalent")
        if p.axis != 1 or p.num_axes != 1:
            raise layer.fail(f"axis {p.axis}, num_axes {p.num_axes}: kzoo scales channels (axis 1, num_axes 1)")
        (src,) = self.bottoms(layer)
        self.add(layer, "scale", {"bias": bool(p.bias_term)}, [src])

    def _bias(self, layer: Layer) -> None:
        p = layer.proto.bias_param
        if len(layer.proto.bottom) != 1 or p.axis != 1 or p.num_axes != 1:
            raise layer.fail("kzoo's bias adds one learned value per channel (one bottom, axis 1, num_axes 1)")
        (src,) = self.bottoms(layer)
        self.add(layer, "bias", {}, [src])

    def _power(self, layer: Layer) -> None:
        p = layer.proto.power_param
        (src,) = self.bottoms(layer)
        self.add(layer, "power", {"power": _num(p.power), "scale": _num(p.scale), "shift": _num(p.shift)}, [src])

    def _eltwise(self, layer: Layer) -> None:
        p = layer.proto.eltwise_param
        srcs = self.bottoms(layer, None)
        if len(srcs) < 2:
            raise layer.fail("Eltwise needs at least two bottom blobs")
        op = {"PROD": "multiply", "SUM": "add", "MAX": "maximum"}[
            enum_name("EltwiseParameter", "operation", p.operation)
        ]
        args: dict[str, Any] = {}
        if len(p.coeff):
            if op != "add" or len(p.coeff) != len(srcs):
                raise layer.fail("coeff needs operation SUM and one value per bottom")
            if any(c != 1 for c in p.coeff):
                args["coeffs"] = [_num(c) for c in p.coeff]
        self.add(layer, op, args, srcs)

    def _concat(self, layer: Layer) -> None:
        p = layer.proto.concat_param
        axis = p.axis if p.HasField("axis") or not p.HasField("concat_dim") else p.concat_dim
        if axis != 1:
            raise layer.fail(f"axis {axis}: kzoo concatenates channels (axis 1)")
        srcs = self.bottoms(layer, None)
        if len(srcs) == 1:
            self.blobs[layer.proto.top[0]] = srcs[0]
            return
        self.add(layer, "concat", {}, srcs)

    def _innerproduct(self, layer: Layer) -> None:
        p = layer.proto.inner_product_param
        (src,) = self.bottoms(layer)
        if p.axis != 1 or p.transpose:
            raise layer.fail("kzoo's dense reads the whole input (axis 1, transpose false)")
        if not p.num_output:
            raise layer.fail("inner_product_param has no num_output")
        if self.image[src]:
            flat = KNode(self.name(f"{layer.name}_flatten"), "flatten", {}, [src], layer, image=False)
            self.nodes.append(flat)
            self.image[flat.name] = False
            src = flat.name
        args: dict[str, Any] = {"units": int(p.num_output), "use_bias": bool(p.bias_term)}
        self._fillers(args, p)
        self.add(layer, "dense", args, [src], image=False)

    def _dropout(self, layer: Layer) -> None:
        (src,) = self.bottoms(layer)
        self.add(layer, "dropout", {"rate": _num(layer.proto.dropout_param.dropout_ratio)}, [src])

    def _flatten(self, layer: Layer) -> None:
        p = layer.proto.flatten_param
        if p.axis != 1 or p.end_axis != -1:
            raise layer.fail("kzoo flattens everything but the batch axis (axis 1, end_axis -1)")
        (src,) = self.bottoms(layer)
        self.add(layer, "flatten", {}, [src], image=False)

    def _split(self, layer: Layer) -> None:
        (src,) = self.bottoms(layer)
        for top in layer.proto.top:
            self.blobs[top] = src

    def finish(self) -> Imported:
        if not self.nodes:
            raise SpecError("the network computes nothing kzoo can build", self.net.input_mark)
        self.nodes = fold(self.nodes)
        used = {i for n in self.nodes for i in n.inputs}
        outputs = [n.name for n in self.nodes if n.name not in used]
        return Imported(self.net, self.nodes, outputs)


def _num(value: float) -> float | int:
    """A float32 from protobuf as the short decimal it was written as (1e-4, not 9.99999974737875e-05)."""
    short = float(f"{value:.7g}")
    return int(short) if short.is_integer() and abs(short) < 1e15 else short


def convert(net: Net) -> Imported:
    """The kzoo nodes of a Caffe network (a located SpecError for a layer kzoo cannot express)."""
    return _Converter(net).run()
