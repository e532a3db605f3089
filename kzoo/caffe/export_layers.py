"""Each Keras layer kind as the Caffe layer(s) computing the same thing: one function per kind, and
:data:`CONVERTERS`, the table :func:`export_layer` looks a layer up in (see :mod:`kzoo.caffe.exporter`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kzoo.caffe.export_net import Export, activation_layers, fail, flatten_source, hw, pairs, pool, same_pads, tap
from kzoo.caffe.weights import chw_rows
from kzoo.keras import caffe as kc
from kzoo.keras.layers import LocalResponseNormalization

Converter = Callable[[Export, Any, list[str]], None]


def _weights(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w) for w in layer.get_weights()]


def _same_padding(layer: Any, kernel_w: np.ndarray, pads: list[int], dilation: tuple[int, int]) -> np.ndarray:
    """Keras' ``same`` padding as Caffe's symmetric one: where Keras pads one more after than before, the kernel
    grows by a leading zero row/col (the window starts one earlier); ``pads`` is set in place."""
    rows, cols, _ = layer.input.shape[1:]
    kernel, stride = pairs(layer.kernel_size), pairs(layer.strides)
    plan = [same_pads(s, k, st, d) for s, k, st, d in zip((rows, cols), kernel, stride, dilation, strict=True)]
    for axis, (before, after) in enumerate(plan):
        if before == after:
            pads[axis] = before
            continue
        if dilation[axis] != 1:
            raise fail(layer, "padding same with a dilation and uneven padding has no Caffe equivalent")
        grow = [(0, 0)] * 4
        grow[axis] = (after - before, 0)
        kernel_w = np.pad(kernel_w, grow)
        pads[axis] = after
    return kernel_w


def conv(ex: Export, layer: Any, bottoms: list[str]) -> None:
    weights = _weights(layer)
    stride, dilation = pairs(layer.strides), pairs(layer.dilation_rate)
    pads: list[int] = list(getattr(layer, "pad", (0, 0)))
    kernel_w = _same_padding(layer, weights[0], pads, dilation) if layer.padding == "same" else weights[0]
    if dilation[0] != dilation[1]:
        raise fail(layer, "Caffe's dilation is one value for rows and cols")
    p = ex.layer(layer.name, "Convolution", bottoms).convolution_param
    p.num_output = layer.filters
    hw(p, "kernel", (kernel_w.shape[0], kernel_w.shape[1]), True)
    if stride != (1, 1):
        hw(p, "stride", stride, True)
    if tuple(pads) != (0, 0):
        hw(p, "pad", (pads[0], pads[1]), True)
    if dilation != (1, 1):
        p.dilation.append(dilation[0])
    if layer.groups != 1:
        p.group = layer.groups
    p.bias_term = bool(layer.use_bias)
    ex.blobs[layer.name] = [kernel_w.transpose(3, 2, 0, 1)] + ([weights[1]] if layer.use_bias else [])
    activation_layers(ex, layer.name, layer.activation, layer)


def dense(ex: Export, layer: Any, bottoms: list[str]) -> None:
    if len(layer.input.shape) != 2:
        raise fail(layer, "a dense layer on a feature map (not a vector) has no Caffe equivalent")
    weights = _weights(layer)
    kernel = weights[0]
    source = flatten_source(bottoms[0], ex.by_name)
    if source is not None and source[0] * source[1] > 1:
        kernel = chw_rows(kernel, source)  # Caffe flattens channels first
    proto = ex.layer(layer.name, "InnerProduct", bottoms)
    proto.inner_product_param.num_output = layer.units
    proto.inner_product_param.bias_term = bool(layer.use_bias)
    ex.blobs[layer.name] = [kernel.T] + ([weights[1]] if layer.use_bias else [])
    activation_layers(ex, layer.name, layer.activation, layer)


def flatten(ex: Export, layer: Any, bottoms: list[str]) -> None:
    shape = layer.input.shape[1:]
    if len(shape) == 3 and shape[0] * shape[1] > 1:
        for reader in ex.consumers.get(layer.name, []):
            if not isinstance(reader, (keras.layers.Dense, keras.layers.Dropout)):
                raise fail(layer, "Caffe flattens channels first; only a dense layer may read this flatten")
    ex.layer(layer.name, "Flatten", bottoms)


def keras_pooling(ex: Export, layer: Any, bottoms: list[str]) -> None:
    kind = "max" if isinstance(layer, keras.layers.MaxPooling2D) else "avg"
    rows, cols, _ = layer.input.shape[1:]
    kernel, stride = pairs(layer.pool_size), pairs(layer.strides)
    pads, ceil = (0, 0), False
    if layer.padding == "same":
        plan = [same_pads(s, k, st) for s, k, st in zip((rows, cols), kernel, stride, strict=True)]
        if any(b != a for b, a in plan) or (kind == "avg" and any(b for b, _ in plan)):
            raise fail(layer, "pooling with padding same pads unevenly (or, averaging, counts differently)",
                       "use padding valid, or kzoo's pad/ceil_mode (Caffe's own)")  # fmt: skip
        pads, ceil = (plan[0][0], plan[1][0]), True
    pool(ex, layer, bottoms[0], kind, kernel, stride, pads, ceil)


def caffe_pooling(ex: Export, layer: Any, bottoms: list[str]) -> None:
    pool(ex, layer, bottoms[0], layer.kind, layer.pool_size, layer.strides, layer.pad, layer.ceil_mode)


def global_pooling(ex: Export, layer: Any, bottoms: list[str]) -> None:
    proto = ex.layer(layer.name, "Pooling", bottoms)
    proto.pooling_param.global_pooling = True
    proto.pooling_param.pool = 0 if isinstance(layer, keras.layers.GlobalMaxPooling2D) else 1


def zero_padding(ex: Export, layer: Any, bottoms: list[str]) -> None:
    (t, b), (lft, r) = layer.padding
    tap(ex, layer.name, bottoms[0], layer.input.shape[-1], [(t, b), (lft, r)])


def batchnorm(ex: Export, layer: Any, bottoms: list[str]) -> None:
    weights = _weights(layer)
    gamma = weights.pop(0) if layer.scale else None
    beta = weights.pop(0) if layer.center else None
    mean, var = weights
    ex.layer(layer.name, "BatchNorm", bottoms, blobs=[mean, var, np.ones(1)]).batch_norm_param.eps = layer.epsilon
    if gamma is not None or beta is not None:
        scale = ex.layer(f"{layer.name}_scale", "Scale", [layer.name], layer.name)
        scale.scale_param.bias_term = beta is not None
        blobs = [gamma if gamma is not None else np.ones_like(mean)] + ([beta] if beta is not None else [])
        ex.blobs[scale.name] = [np.asarray(b, np.float32) for b in blobs]


def lrn(ex: Export, layer: Any, bottoms: list[str]) -> None:
    p = ex.layer(layer.name, "LRN", bottoms).lrn_param
    p.local_size, p.beta = layer.n, layer.beta
    if layer.region == "within":
        if layer.k != 1:
            raise fail(layer, f"Caffe's within-channel LRN has k = 1, this one {layer.k}")
        p.norm_region = 1
        p.alpha = layer.alpha if layer.alpha_mode == "mean" else layer.alpha * layer.n * layer.n
    else:
        p.k = layer.k
        p.alpha = layer.alpha if layer.alpha_mode == "mean" else layer.alpha * layer.n


def activation(ex: Export, layer: Any, bottoms: list[str]) -> None:
    activation_layers(ex, layer.name, layer.activation, layer, bottoms[0])


def relu(ex: Export, layer: Any, bottoms: list[str]) -> None:
    ex.layer(layer.name, "ReLU", bottoms).relu_param.negative_slope = float(layer.negative_slope)


def dropout(ex: Export, layer: Any, bottoms: list[str]) -> None:
    ex.layer(layer.name, "Dropout", bottoms).dropout_param.dropout_ratio = float(layer.rate)


def eltwise(ex: Export, layer: Any, bottoms: list[str]) -> None:
    p = ex.layer(layer.name, "Eltwise", bottoms).eltwise_param
    p.operation = {keras.layers.Multiply: 0, keras.layers.Maximum: 2}.get(type(layer), 1)  # PROD, MAX, SUM
    if isinstance(layer, kc.WeightedSum):
        p.coeff.extend(layer.coeffs)


def concat(ex: Export, layer: Any, bottoms: list[str]) -> None:
    if layer.axis not in (-1, 3):
        raise fail(layer, "Caffe concatenates channels only")
    ex.layer(layer.name, "Concat", bottoms)


def channel_scale(ex: Export, layer: Any, bottoms: list[str]) -> None:
    ex.layer(layer.name, "Scale", bottoms, blobs=_weights(layer)).scale_param.bias_term = layer.use_bias


def channel_bias(ex: Export, layer: Any, bottoms: list[str]) -> None:  # a Scale by ones: OpenCV's dnn has no Bias
    (bias,) = _weights(layer)
    ex.layer(layer.name, "Scale", bottoms, blobs=[np.ones_like(bias), bias]).scale_param.bias_term = True


def power(ex: Export, layer: Any, bottoms: list[str]) -> None:
    p = ex.layer(layer.name, "Power", bottoms).power_param
    p.power, p.scale, p.shift = layer.power, layer.scale, layer.shift


def rescaling(ex: Export, layer: Any, bottoms: list[str]) -> None:
    scale, offset = np.asarray(layer.scale, np.float32), np.asarray(layer.offset, np.float32)
    if scale.size != 1 or offset.size != 1:
        raise fail(layer, "a per-channel Rescaling has no Caffe equivalent")
    p = ex.layer(layer.name, "Power", bottoms).power_param
    p.scale, p.shift = float(scale), float(offset)


def normalization(ex: Export, layer: Any, bottoms: list[str]) -> None:
    mean = np.asarray(layer.mean, np.float32).reshape(-1)
    std = np.sqrt(np.maximum(np.asarray(layer.variance, np.float32).reshape(-1), keras.config.epsilon()))
    channels = layer.input.shape[-1]
    mean, std = np.broadcast_to(mean, (channels,)), np.broadcast_to(std, (channels,))
    ex.layer(layer.name, "Scale", bottoms, blobs=[1 / std, -mean / std]).scale_param.bias_term = True


def _is(*kinds: type) -> Callable[[Any], bool]:
    return lambda layer: isinstance(layer, kinds)


#: (which layers, their conversion), first match wins
CONVERTERS: list[tuple[Callable[[Any], bool], Converter]] = [
    (lambda layer: type(layer) in (keras.layers.Conv2D, kc.PaddedConv2D), conv),
    (lambda layer: type(layer) is keras.layers.Dense, dense),
    (_is(keras.layers.Flatten), flatten),
    (_is(keras.layers.MaxPooling2D, keras.layers.AveragePooling2D), keras_pooling),
    (_is(kc.Pooling2D), caffe_pooling),
    (_is(keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D), global_pooling),
    (_is(keras.layers.ZeroPadding2D), zero_padding),
    (_is(keras.layers.BatchNormalization), batchnorm),
    (_is(LocalResponseNormalization), lrn),
    (_is(keras.layers.Activation), activation),
    (lambda layer: isinstance(layer, keras.layers.ReLU) and layer.max_value is None and not layer.threshold, relu),
    (_is(keras.layers.Dropout), dropout),
    (_is(keras.layers.Add, kc.WeightedSum, keras.layers.Multiply, keras.layers.Maximum), eltwise),
    (_is(keras.layers.Concatenate), concat),
    (_is(kc.ChannelScale), channel_scale),
    (_is(kc.ChannelBias), channel_bias),
    (_is(kc.Power), power),
    (_is(keras.layers.Rescaling), rescaling),
    (_is(keras.layers.Normalization), normalization),
]


def export_layer(ex: Export, layer: Any, bottoms: list[str]) -> None:
    """Add ``layer`` (reading the blobs ``bottoms``) to the network; a KzooError for a layer Caffe lacks."""
    for matches, convert in CONVERTERS:
        if matches(layer):
            convert(ex, layer, bottoms)
            return
    raise fail(
        layer,
        "Caffe has no layer that computes it",
        "Caffe export covers conv, dense, pooling, batch norm, LRN, activations, dropout, flatten, "
        "zero padding, add/multiply/maximum, concat, scale/bias/power",
    )
