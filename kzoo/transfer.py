"""Moving weights between models: :func:`port_weights`.

kzoo's VGG, ResNet and Inception files build the same graphs as
keras.applications, so a trained keras.applications model's weights copy
into the kzoo model layer by layer. Layers are matched by name where every
weighted layer of the destination has a namesake in the source (VGG,
ResNet), otherwise by structure: the weighted layers in graph order
(Inception v3, whose keras.applications layers are unnamed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kzoo.errors import KzooError


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


def port_weights(src: Any, dst: Any, adapt_channels: bool = False) -> Any:
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
