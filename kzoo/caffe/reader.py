"""Reading Caffe's files: network definitions (``.prototxt``, text) and weights (``.caffemodel``, binary).

:func:`read_net` returns a :class:`Net`: the layers that compute at test time, in
the current ``layer {}`` form (legacy ``layers {}`` files are upgraded as Caffe
upgrades them), each with the line it starts on, and the input blob's shape from
whichever way the file gives it (``input:`` with ``input_dim`` or ``input_shape``,
or an ``Input`` layer). Data, loss and accuracy layers of a train_val file are
dropped (its input shape must then be given); a TRAIN-only layer is skipped.
Every mistake is a :class:`~kzoo.errors.SpecError` at the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import message as pb_message
from google.protobuf import text_format

from kzoo.caffe.schema import V1_TYPE_NAMES, message
from kzoo.errors import Mark, SpecError
from kzoo.files import read_bytes, read_text

MAX_PROTOTXT = 16 << 20  # network definitions are text; the largest released ones are ~100 KB
MAX_LAYERS = 20_000  # a network kzoo imports (its expansion takes at most 20,000 nodes too)
MAX_CAFFEMODEL = 4 << 30  # VGG-19's release is 575 MB

# legacy V1 type names -> the current ones (Caffe's UpgradeV1LayerType)
V1_TYPES = {
    "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL", "CONCAT": "Concat",
    "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution", "DECONVOLUTION": "Deconvolution",
    "DATA": "Data", "DROPOUT": "Dropout", "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss",
    "ELTWISE": "Eltwise", "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output",
    "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData", "INFOGAIN_LOSS": "InfogainLoss",
    "INNER_PRODUCT": "InnerProduct", "LRN": "LRN", "MEMORY_DATA": "MemoryData",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "MVN": "MVN", "POOLING": "Pooling", "POWER": "Power",
    "RELU": "ReLU", "SIGMOID": "Sigmoid", "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
    "SILENCE": "Silence", "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split",
    "SLICE": "Slice", "TANH": "TanH", "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
}  # fmt: skip
DATA_TYPES = {"Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "Python", "AnnotatedData"}
DROPPED_TYPES = {"Accuracy", "Silence", "HDF5Output"}
_V1_PARAMS = (
    "concat_param", "convolution_param", "dropout_param", "eltwise_param", "inner_product_param", "lrn_param",
    "pooling_param", "power_param", "relu_param", "sigmoid_param", "softmax_param", "tanh_param",
    "data_param", "transform_param",
)  # fmt: skip


@dataclass
class Layer:
    """One Caffe layer (a ``LayerParameter``) and where it is in its file."""

    proto: Any
    mark: Mark

    @property
    def name(self) -> str:
        return self.proto.name

    @property
    def type(self) -> str:
        return self.proto.type

    def fail(self, message: str, hint: str | None = None) -> SpecError:
        return SpecError(f"layer {self.name!r} ({self.type}): {message}", self.mark, hint=hint)


@dataclass
class Net:
    """A Caffe network at test time: its layers, its input blob and the input's (channels, rows, cols)."""

    name: str
    file: str
    layers: list[Layer]
    input_blob: str | None = None
    input_shape: tuple[int, int, int] | None = None
    input_mark: Mark | None = None
    data_layers: list[Layer] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)  # what the input's shape was taken to be, and why


def parse_net(text: str, file: str) -> Any:
    """A ``NetParameter`` from prototxt text, or a SpecError at the line and column of a syntax error."""
    from kzoo.caffe.fields import check_text

    check_text(text, file)  # fields Caffe does not declare, and runaway nesting, at their line
    net = message("NetParameter")()
    try:
        text_format.Parse(text, net, allow_unknown_field=True, allow_unknown_extension=True)
    except RecursionError:
        raise SpecError("blocks nest too deep", Mark(file), hint="is this a Caffe network file?") from None
    except text_format.ParseError as exc:
        line, col = exc.GetLine(), exc.GetColumn()
        reason = re.sub(r"^\d+:\d+ : ", "", str(exc)).replace("caffe.", "")
        raise SpecError(
            f"not a Caffe network definition: {reason}",
            Mark(file, line, col),
            hint="a .prototxt of Caffe's text format (layer { name: ... type: ... })",
        ) from None
    return net


def read_net(path: str | Path, input_shape: tuple[int, int, int] | None = None) -> Net:
    """The test-time network of a ``.prototxt`` file (``input_shape``: (rows, cols, channels) for train_val files)."""
    file = str(path)
    text = read_text(path, "Caffe network definition", MAX_PROTOTXT)
    return net_from(parse_net(text, file), text, file, input_shape)


def net_from(net: Any, text: str | None, file: str, input_shape: tuple[int, int, int] | None = None) -> Net:
    """A :class:`Net` of a parsed ``NetParameter`` (``text``: its source, to locate layers)."""
    if len(net.layer) and len(net.layers):
        raise SpecError("the file mixes layer {} and the legacy layers {}", Mark(file), hint="use one form")
    protos = [upgrade_v1(p) for p in net.layers] if len(net.layers) else list(net.layer)
    if not protos:
        raise SpecError("the network has no layers", Mark(file), hint="is this a Caffe .prototxt file?")
    if len(protos) > MAX_LAYERS:
        raise SpecError(
            f"the network has {len(protos):,} layers; kzoo imports at most {MAX_LAYERS:,}",
            Mark(file),
            hint="the largest released networks have about 1,000",
        )
    marks = _layer_marks(text, protos, file)
    layers, data = [], []
    names: dict[str, Mark] = {}
    producers: dict[str, str] = {blob: "the input" for blob in net.input}  # blob -> the layer that writes it
    for proto, mark in zip(protos, marks, strict=True):
        layer = Layer(proto, mark)
        if not proto.type:
            raise SpecError(f"layer {proto.name!r} has no type", mark, hint='e.g. type: "Convolution"')
        if not _runs_at_test(proto):
            continue
        if proto.name in names:
            raise SpecError(f"two layers are named {proto.name!r}", mark, hint=f"the first is at {names[proto.name]}")
        names[proto.name] = mark
        if proto.type == "Python" and len(proto.bottom):
            raise layer.fail(
                "a Python layer computes what its Python code says, which a .prototxt does not hold",
                hint="kzoo imports Python layers only as data sources (no bottom); replace it by Caffe layers",
            )
        for top in proto.top:
            if top in producers and top not in proto.bottom:  # Caffe: "produced by multiple sources"
                raise layer.fail(
                    f"top {top!r} is already written by {producers[top]}",
                    hint="only a layer working in place (bottom and top the same) may write an existing blob",
                )
            producers.setdefault(top, repr(proto.name))
        if proto.type in DATA_TYPES:
            data.append(layer)
        elif proto.type not in DROPPED_TYPES and not (proto.type.endswith("Loss") and proto.type != "SoftmaxWithLoss"):
            layers.append(layer)
    out = Net(net.name or Path(file).stem, file, layers, data_layers=data)
    _find_input(net, out, input_shape, _line_of(text, r"^\s*input\s*:", file))
    return out


def _line_of(text: str | None, pattern: str, file: str) -> Mark:
    """The mark of the first line matching ``pattern`` (the file alone when none does)."""
    for i, line in enumerate((text or "").splitlines()):
        if re.search(pattern, line):
            return Mark(file, i + 1, 1)
    return Mark(file)


def _runs_at_test(proto: Any) -> bool:
    phase = {0: "TRAIN", 1: "TEST"}
    if proto.HasField("phase") and phase[proto.phase] == "TRAIN":
        return False
    if len(proto.include) and not any(rule.HasField("phase") and rule.phase == 1 for rule in proto.include):
        return not any(rule.HasField("phase") for rule in proto.include)
    return not any(rule.HasField("phase") and rule.phase == 1 for rule in proto.exclude)


def upgrade_v1(old: Any) -> Any:
    """A legacy ``V1LayerParameter`` as a ``LayerParameter`` (Caffe's own upgrade, for the fields kzoo reads)."""
    new = message("LayerParameter")()
    new.name = old.name
    new.type = V1_TYPES.get(V1_TYPE_NAMES.get(old.type, "NONE"), V1_TYPE_NAMES.get(old.type, "NONE"))
    new.bottom.extend(old.bottom)
    new.top.extend(old.top)
    new.include.extend(old.include)
    new.exclude.extend(old.exclude)
    new.blobs.extend(old.blobs)
    for name in _V1_PARAMS:
        if old.HasField(name):
            getattr(new, name).CopyFrom(getattr(old, name))
    return new


def _layer_marks(text: str | None, protos: list[Any], file: str) -> list[Mark]:
    """The line of each layer's ``name:`` in the text (the file alone when it cannot be found)."""
    if text is None:
        return [Mark(file) for _ in protos]
    lines = text.splitlines()
    marks, at = [], 0
    for proto in protos:
        found = None
        pattern = re.compile(r"\bname\s*:\s*[\"']" + re.escape(proto.name) + r"[\"']")
        for i in range(at, len(lines)):
            if pattern.search(lines[i]):
                found = i
                break
        if found is None:
            marks.append(Mark(file))
        else:
            marks.append(Mark(file, found + 1, lines[found].index("name") + 1))
            at = found + 1
    return marks


def _find_input(net: Any, out: Net, given: tuple[int, int, int] | None, mark: Mark) -> None:
    dims: list[int] | None = None
    if len(net.input):
        out.input_blob = net.input[0]
        if len(net.input) > 1:
            raise SpecError("the network has several inputs; kzoo builds single-input models", mark)
        if len(net.input_shape):
            dims = list(net.input_shape[0].dim)
        elif len(net.input_dim):
            dims = list(net.input_dim)
    inputs = [layer for layer in out.layers if layer.type == "Input"]
    if inputs:
        if out.input_blob is not None or len(inputs) > 1:
            raise SpecError("the network has several inputs; kzoo builds single-input models", inputs[-1].mark)
        layer = inputs[0]
        out.layers.remove(layer)
        out.input_blob, mark = layer.proto.top[0], layer.mark
        shapes = layer.proto.input_param.shape
        dims = list(shapes[0].dim) if len(shapes) else None
    if out.input_blob is None and out.data_layers:
        out.input_blob = out.data_layers[0].proto.top[0]
        mark = out.data_layers[0].mark
    if out.input_blob is None:
        raise SpecError(
            "the network has no input", Mark(out.file), hint='add input: "data" with input_dim, or an Input layer'
        )
    out.input_mark = mark
    if given is not None:
        rows, cols, channels = given
        out.input_shape = (channels, rows, cols)
        return
    if dims is None and out.data_layers:
        dims = _data_layer_dims(out)
    if dims is None:
        raise SpecError(
            f"the input {out.input_blob!r} has no shape in the file (a data layer reads it from its source)",
            mark,
            hint="give it: --input ROWS,COLS,CHANNELS (e.g. --input 227,227,3)",
        )
    if len(dims) != 4 or min(dims[1:]) < 1:
        raise SpecError(
            f"the input shape must be N x channels x rows x cols, got {dims}",
            mark,
            hint="kzoo builds image networks; give --input ROWS,COLS,CHANNELS",
        )
    out.input_shape = (int(dims[1]), int(dims[2]), int(dims[3]))


def _data_layer_dims(out: Net) -> list[int] | None:
    """A train_val file's input: its data layer's crop_size square, and 1 or 3 channels from its mean_value count
    (or force_gray / force_color); what is assumed is noted in ``out.assumed``."""
    proto = out.data_layers[0].proto
    t = proto.transform_param
    crop = t.crop_size or proto.data_param.crop_size
    if not crop:
        return None
    if t.force_gray or len(t.mean_value) == 1:
        channels = 1
    elif t.force_color or len(t.mean_value) == 3:
        channels = 3
    else:
        channels = 3
        out.assumed.append(
            f"the input is {crop}x{crop} (the data layer's crop_size) with 3 channels, assumed: its transform "
            "gives no mean_value per channel (--input ROWS,COLS,CHANNELS says otherwise)"
        )
    return [1, channels, int(crop), int(crop)]


def read_weights(path: str | Path) -> Any:
    """The ``NetParameter`` of a ``.caffemodel`` file, or a one-line error for a file that is not one."""
    data = read_bytes(path, "Caffe weights file", MAX_CAFFEMODEL, "give the path of a .caffemodel file")
    net = message("NetParameter")()
    try:
        net.ParseFromString(data)
    except pb_message.DecodeError as exc:
        raise SpecError(
            f"{path} is not a Caffe weights file, or it is truncated ({exc})",
            Mark(str(path)),
            hint="give the .caffemodel released with the network (a binary NetParameter)",
        ) from None
    if not len(net.layer) and not len(net.layers):
        raise SpecError(f"{path} holds no layers", Mark(str(path)), hint="is this a .caffemodel file?")
    return net


def weight_layers(net: Any) -> dict[str, Any]:
    """Name -> LayerParameter (upgraded from V1 where needed) of every layer of a weights file."""
    protos = [upgrade_v1(p) for p in net.layers] if len(net.layers) else list(net.layer)
    return {p.name: p for p in protos}


def blob_array(blob: Any) -> np.ndarray:
    """A ``BlobProto`` as a float32 array of its shape (the legacy num/channels/height/width too)."""
    if blob.HasField("shape"):
        shape = tuple(int(d) for d in blob.shape.dim)
    else:
        shape = tuple(int(d) for d in (blob.num, blob.channels, blob.height, blob.width))
        while len(shape) > 1 and shape[0] == 1 and (blob.num in (0, 1)):
            shape = shape[1:]  # legacy blobs pad to 4-D with leading ones
    values = np.asarray(blob.double_data if len(blob.double_data) else blob.data, dtype=np.float32)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"a blob of shape {shape} holds {values.size} values")
    return values.reshape(shape)
