"""Convolutionalisation: a trained classifier's weights in a fully convolutional network (Long et al. 2015, §3.1).

"Fully connected layers can also be viewed as convolutions with kernels that cover their entire input
regions": VGG's fc1 (25,088 x 4,096, over a 7x7x512 map) is FCN's fc6, a 7x7 convolution with the same
weights, and fc2 is fc7, a 1x1 convolution. :func:`convolutionalise` copies a classifier into an FCN built on
its architecture: layers with the same name (the backbone's: block1_conv1, conv2_block1_1_conv, ...) take their
weights as they are; then each remaining dense layer, in graph order, fills the next remaining convolution
with as many weights, its kernel reshaped to the convolution's (kh, kw, in, out), row-major as Keras flattens.
The classifier's last layer scores other classes and has no counterpart; the FCN's score layers keep their
initialisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kzoo.api import KerasModel
from kzoo.errors import KzooError


def _weighted(model: Any) -> list[Any]:
    return [layer for layer in model.layers if layer.weights]


def convolutionalise(classifier: KerasModel, fcn: KerasModel) -> dict[str, str]:
    """Copy ``classifier``'s weights into ``fcn`` (in place); returns {fcn layer: classifier layer it took}.

    >>> vgg = kzoo.load("vgg16", weights="imagenet")
    >>> fcn = kzoo.load("fcn8s", classes=21)
    >>> kzoo.convolutionalise(vgg, fcn)["fc6"]
    'fc1'
    """
    import keras

    source = {layer.name: layer for layer in _weighted(classifier)}
    taken: dict[str, str] = {}
    rest = []
    for layer in _weighted(fcn):
        match = source.get(layer.name)
        if match is not None and [w.shape for w in match.weights] == [w.shape for w in layer.weights]:
            layer.set_weights(match.get_weights())
            taken[layer.name] = match.name
        elif isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
            rest.append(layer)
    dense = [d for d in _weighted(classifier) if isinstance(d, keras.layers.Dense) and d.name not in taken.values()]
    for d in dense:
        kernel, *bias = d.get_weights()
        for conv in rest:
            shape = tuple(conv.kernel.shape)
            if conv.name not in taken and int(np.prod(shape)) == kernel.size and shape[-1] == kernel.shape[-1]:
                conv.set_weights([kernel.reshape(shape), *bias][: len(conv.weights)])
                taken[conv.name] = d.name
                break
    if not taken:
        raise KzooError(
            f"no layer of {classifier.name} matches one of {fcn.name}",
            "build the FCN on the classifier's architecture (kzoo.load('fcn8s', backbone=NAME))",
        )
    return taken
