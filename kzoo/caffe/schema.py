"""Caffe's message schema, for the fields kzoo reads and writes, built with the protobuf package.

Field names and numbers are those of BVLC Caffe's ``src/caffe/proto/caffe.proto``
(so binary ``.caffemodel`` files and text ``.prototxt`` files read and write as
Caffe's own), written here as a table instead of a generated ``caffe_pb2``: no
Caffe installation and no protoc step. Fields kzoo does not model are skipped
when reading (protobuf keeps them as unknown fields in binary files; the text
reader is told to allow them) - only the layers kzoo converts need theirs.

``ceil_mode`` (OpenCV's spelling) is accepted in text files beside BVLC's
``round_mode``; the two share field 13 in their own schemas, so kzoo gives
``ceil_mode`` a private number and never writes it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "string": F.TYPE_STRING,
    "float": F.TYPE_FLOAT,
    "double": F.TYPE_DOUBLE,
    "int32": F.TYPE_INT32,
    "int64": F.TYPE_INT64,
    "uint32": F.TYPE_UINT32,
    "bool": F.TYPE_BOOL,
}

# message -> [(label, type, name, number, default, packed)]; type: a scalar, a message name, or "enum:Name"
_ENUMS = {
    "Phase": ["TRAIN", "TEST"],
    "PoolMethod": ["MAX", "AVE", "STOCHASTIC"],
    "RoundMode": ["CEIL", "FLOOR"],
    "NormRegion": ["ACROSS_CHANNELS", "WITHIN_CHANNEL"],
    "EltwiseOp": ["PROD", "SUM", "MAX"],
    "VarianceNorm": ["FAN_IN", "FAN_OUT", "AVERAGE"],
    "Engine": ["DEFAULT", "CAFFE", "CUDNN"],
}
_V1_TYPES = {
    "NONE": 0, "ABSVAL": 35, "ACCURACY": 1, "ARGMAX": 30, "BNLL": 2, "CONCAT": 3, "CONTRASTIVE_LOSS": 37,
    "CONVOLUTION": 4, "DATA": 5, "DECONVOLUTION": 39, "DROPOUT": 6, "DUMMY_DATA": 32, "EUCLIDEAN_LOSS": 7,
    "ELTWISE": 25, "EXP": 38, "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10, "HINGE_LOSS": 28, "IM2COL": 11,
    "IMAGE_DATA": 12, "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15, "MEMORY_DATA": 29,
    "MULTINOMIAL_LOGISTIC_LOSS": 16, "MVN": 34, "POOLING": 17, "POWER": 26, "RELU": 18, "SIGMOID": 19,
    "SIGMOID_CROSS_ENTROPY_LOSS": 27, "SILENCE": 36, "SOFTMAX": 20, "SOFTMAX_LOSS": 21, "SPLIT": 22, "SLICE": 33,
    "TANH": 23, "WINDOW_DATA": 24, "THRESHOLD": 31,
}  # fmt: skip

O, R = "optional", "repeated"
_MESSAGES: dict[str, list[tuple]] = {
    "BlobShape": [(R, "int64", "dim", 1, None, True)],
    "BlobProto": [
        (O, "BlobShape", "shape", 7),
        (R, "float", "data", 5, None, True),
        (R, "float", "diff", 6, None, True),
        (R, "double", "double_data", 8, None, True),
        (R, "double", "double_diff", 9, None, True),
        (O, "int32", "num", 1),
        (O, "int32", "channels", 2),
        (O, "int32", "height", 3),
        (O, "int32", "width", 4),
    ],
    "BlobProtoVector": [(R, "BlobProto", "blobs", 1)],
    "NetStateRule": [
        (O, "enum:Phase", "phase", 1),
        (O, "int32", "min_level", 2),
        (O, "int32", "max_level", 3),
        (R, "string", "stage", 4),
        (R, "string", "not_stage", 5),
    ],
    "ParamSpec": [
        (O, "string", "name", 1),
        (O, "float", "lr_mult", 3, 1.0),
        (O, "float", "decay_mult", 4, 1.0),
    ],
    "FillerParameter": [
        (O, "string", "type", 1, "constant"),
        (O, "float", "value", 2, 0.0),
        (O, "float", "min", 3, 0.0),
        (O, "float", "max", 4, 1.0),
        (O, "float", "mean", 5, 0.0),
        (O, "float", "std", 6, 1.0),
        (O, "int32", "sparse", 7, -1),
        (O, "enum:VarianceNorm", "variance_norm", 8),
    ],
    "ConvolutionParameter": [
        (O, "uint32", "num_output", 1),
        (O, "bool", "bias_term", 2, True),
        (R, "uint32", "pad", 3),
        (R, "uint32", "kernel_size", 4),
        (R, "uint32", "stride", 6),
        (R, "uint32", "dilation", 18),
        (O, "uint32", "pad_h", 9, 0),
        (O, "uint32", "pad_w", 10, 0),
        (O, "uint32", "kernel_h", 11),
        (O, "uint32", "kernel_w", 12),
        (O, "uint32", "stride_h", 13),
        (O, "uint32", "stride_w", 14),
        (O, "uint32", "group", 5, 1),
        (O, "FillerParameter", "weight_filler", 7),
        (O, "FillerParameter", "bias_filler", 8),
        (O, "enum:Engine", "engine", 15),
        (O, "int32", "axis", 16, 1),
        (O, "bool", "force_nd_im2col", 17, False),
    ],
    "PoolingParameter": [
        (O, "enum:PoolMethod", "pool", 1),
        (O, "uint32", "pad", 4, 0),
        (O, "uint32", "pad_h", 9, 0),
        (O, "uint32", "pad_w", 10, 0),
        (O, "uint32", "kernel_size", 2),
        (O, "uint32", "kernel_h", 5),
        (O, "uint32", "kernel_w", 6),
        (O, "uint32", "stride", 3, 1),
        (O, "uint32", "stride_h", 7),
        (O, "uint32", "stride_w", 8),
        (O, "enum:Engine", "engine", 11),
        (O, "bool", "global_pooling", 12, False),
        (O, "enum:RoundMode", "round_mode", 13),
        (O, "bool", "ceil_mode", 10013, True),
    ],
    "LRNParameter": [
        (O, "uint32", "local_size", 1, 5),
        (O, "float", "alpha", 2, 1.0),
        (O, "float", "beta", 3, 0.75),
        (O, "enum:NormRegion", "norm_region", 4),
        (O, "float", "k", 5, 1.0),
        (O, "enum:Engine", "engine", 6),
    ],
    "ReLUParameter": [(O, "float", "negative_slope", 1, 0.0), (O, "enum:Engine", "engine", 2)],
    "ELUParameter": [(O, "float", "alpha", 1, 1.0)],
    "SigmoidParameter": [(O, "enum:Engine", "engine", 1)],
    "TanHParameter": [(O, "enum:Engine", "engine", 1)],
    "BatchNormParameter": [
        (O, "bool", "use_global_stats", 1),
        (O, "float", "moving_average_fraction", 2, 0.999),
        (O, "float", "eps", 3, 1e-5),
    ],
    "ScaleParameter": [
        (O, "int32", "axis", 1, 1),
        (O, "int32", "num_axes", 2, 1),
        (O, "FillerParameter", "filler", 3),
        (O, "bool", "bias_term", 4, False),
        (O, "FillerParameter", "bias_filler", 5),
    ],
    "BiasParameter": [(O, "int32", "axis", 1, 1), (O, "int32", "num_axes", 2, 1), (O, "FillerParameter", "filler", 3)],
    "EltwiseParameter": [
        (O, "enum:EltwiseOp", "operation", 1, "SUM"),
        (R, "float", "coeff", 2),
        (O, "bool", "stable_prod_grad", 3, True),
    ],
    "ConcatParameter": [(O, "int32", "axis", 2, 1), (O, "uint32", "concat_dim", 1, 1)],
    "InnerProductParameter": [
        (O, "uint32", "num_output", 1),
        (O, "bool", "bias_term", 2, True),
        (O, "FillerParameter", "weight_filler", 3),
        (O, "FillerParameter", "bias_filler", 4),
        (O, "int32", "axis", 5, 1),
        (O, "bool", "transpose", 6, False),
    ],
    "DropoutParameter": [(O, "float", "dropout_ratio", 1, 0.5)],
    "SoftmaxParameter": [(O, "enum:Engine", "engine", 1), (O, "int32", "axis", 2, 1)],
    "FlattenParameter": [(O, "int32", "axis", 1, 1), (O, "int32", "end_axis", 2, -1)],
    "PowerParameter": [(O, "float", "power", 1, 1.0), (O, "float", "scale", 2, 1.0), (O, "float", "shift", 3, 0.0)],
    "InputParameter": [(R, "BlobShape", "shape", 1)],
    "TransformationParameter": [
        (O, "float", "scale", 1, 1.0),
        (O, "bool", "mirror", 2, False),
        (O, "uint32", "crop_size", 3, 0),
        (O, "string", "mean_file", 4),
        (R, "float", "mean_value", 5),
        (O, "bool", "force_color", 6, False),
        (O, "bool", "force_gray", 7, False),
    ],
    "DataParameter": [(O, "uint32", "crop_size", 5, 0)],
    "LayerParameter": [
        (O, "string", "name", 1),
        (O, "string", "type", 2),
        (R, "string", "bottom", 3),
        (R, "string", "top", 4),
        (O, "enum:Phase", "phase", 10),
        (R, "float", "loss_weight", 5),
        (R, "ParamSpec", "param", 6),
        (R, "BlobProto", "blobs", 7),
        (R, "NetStateRule", "include", 8),
        (R, "NetStateRule", "exclude", 9),
        (O, "BatchNormParameter", "batch_norm_param", 139),
        (O, "BiasParameter", "bias_param", 141),
        (O, "ConcatParameter", "concat_param", 104),
        (O, "ConvolutionParameter", "convolution_param", 106),
        (O, "DropoutParameter", "dropout_param", 108),
        (O, "EltwiseParameter", "eltwise_param", 110),
        (O, "ELUParameter", "elu_param", 140),
        (O, "FlattenParameter", "flatten_param", 135),
        (O, "InnerProductParameter", "inner_product_param", 117),
        (O, "InputParameter", "input_param", 143),
        (O, "TransformationParameter", "transform_param", 100),
        (O, "DataParameter", "data_param", 107),
        (O, "LRNParameter", "lrn_param", 118),
        (O, "PoolingParameter", "pooling_param", 121),
        (O, "PowerParameter", "power_param", 122),
        (O, "ReLUParameter", "relu_param", 123),
        (O, "ScaleParameter", "scale_param", 142),
        (O, "SigmoidParameter", "sigmoid_param", 124),
        (O, "SoftmaxParameter", "softmax_param", 125),
        (O, "TanHParameter", "tanh_param", 127),
    ],
    "V1LayerParameter": [
        (R, "string", "bottom", 2),
        (R, "string", "top", 3),
        (O, "string", "name", 4),
        (R, "NetStateRule", "include", 32),
        (R, "NetStateRule", "exclude", 33),
        (O, "enum:LayerType", "type", 5),
        (R, "BlobProto", "blobs", 6),
        (R, "float", "blobs_lr", 7),
        (R, "float", "weight_decay", 8),
        (R, "float", "loss_weight", 35),
        (O, "ConcatParameter", "concat_param", 9),
        (O, "ConvolutionParameter", "convolution_param", 10),
        (O, "DataParameter", "data_param", 11),
        (O, "TransformationParameter", "transform_param", 36),
        (O, "DropoutParameter", "dropout_param", 12),
        (O, "EltwiseParameter", "eltwise_param", 24),
        (O, "InnerProductParameter", "inner_product_param", 17),
        (O, "LRNParameter", "lrn_param", 18),
        (O, "PoolingParameter", "pooling_param", 19),
        (O, "PowerParameter", "power_param", 21),
        (O, "ReLUParameter", "relu_param", 30),
        (O, "SigmoidParameter", "sigmoid_param", 38),
        (O, "SoftmaxParameter", "softmax_param", 39),
        (O, "TanHParameter", "tanh_param", 37),
    ],
    "NetParameter": [
        (O, "string", "name", 1),
        (R, "string", "input", 3),
        (R, "BlobShape", "input_shape", 8),
        (R, "int32", "input_dim", 4),
        (O, "bool", "force_backward", 5, False),
        (R, "LayerParameter", "layer", 100),
        (R, "V1LayerParameter", "layers", 2),
    ],
}

PACKAGE = "caffe"


# where each enum lives, as in caffe.proto (enum values are scoped by their enclosing message)
_ENUM_HOME = {
    "Phase": None,
    "Engine": None,
    "PoolMethod": "PoolingParameter",
    "RoundMode": "PoolingParameter",
    "NormRegion": "LRNParameter",
    "EltwiseOp": "EltwiseParameter",
    "VarianceNorm": "FillerParameter",
    "LayerType": "V1LayerParameter",
}


def _enum_ref(name: str) -> str:
    home = _ENUM_HOME[name]
    return f".{PACKAGE}.{home}.{name}" if home else f".{PACKAGE}.{name}"


def _file() -> descriptor_pb2.FileDescriptorProto:
    fp = descriptor_pb2.FileDescriptorProto(name="kzoo_caffe.proto", package=PACKAGE, syntax="proto2")
    messages = {name: fp.message_type.add(name=name) for name in _MESSAGES}
    for name, values in {**_ENUMS, "LayerType": list(_V1_TYPES)}.items():
        home = _ENUM_HOME[name]
        enum = (messages[home].enum_type if home else fp.enum_type).add(name=name)
        for i, value in enumerate(values):
            enum.value.add(name=value, number=_V1_TYPES[value] if name == "LayerType" else i)
    for name, fields in _MESSAGES.items():
        msg = messages[name]
        for label, kind, fname, number, *more in fields:
            default, packed = (more + [None, False])[:2] if more else (None, False)
            f = msg.field.add(name=fname, number=number)
            f.label = F.LABEL_REPEATED if label == R else F.LABEL_OPTIONAL
            if kind in _TYPES:
                f.type = _TYPES[kind]
            elif kind.startswith("enum:"):
                f.type, f.type_name = F.TYPE_ENUM, _enum_ref(kind[5:])
            else:
                f.type, f.type_name = F.TYPE_MESSAGE, f".{PACKAGE}.{kind}"
            if default is not None:
                f.default_value = str(default).lower() if isinstance(default, bool) else str(default)
            if packed:
                f.options.packed = True
    return fp


@cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file())
    return pool


def message(name: str) -> Any:
    """The message class ``name`` of kzoo's Caffe schema (``NetParameter``, ``BlobProto``, ...)."""
    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(f"{PACKAGE}.{name}"))


def enum_name(message_name: str, field: str, value: int) -> str:
    """The name of an enum value of a field (``enum_name("PoolingParameter", "pool", 1)`` -> "AVE")."""
    descriptor = _pool().FindMessageTypeByName(f"{PACKAGE}.{message_name}").fields_by_name[field]
    return descriptor.enum_type.values_by_number[value].name


V1_TYPE_NAMES = {number: name for name, number in _V1_TYPES.items()}
