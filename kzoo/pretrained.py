"""Every source of weights: saved files, keras.applications' ImageNet weights and Caffe's ``.caffemodel`` files.

What an architecture's weights need is declared in its YAML file, not here::

    weights:
      imagenet: {keras_applications: ResNet50, preprocess: caffe}

``keras_applications`` names the keras.applications model with the same layers
(its weights are downloaded through Keras and ported layer by layer);
``preprocess`` is the input transform the weights expect, as keras.applications'
``preprocess_input`` names it: ``caffe`` (0-255 BGR minus the ImageNet mean) or
``tf`` (scaled to [-1, 1]). :func:`imagenet_front` puts that transform in front
of the model as a ``Normalization`` layer (kzoo's data is RGB in [0, 1]);
:func:`load_weights` leaves the model raw, as keras.applications leaves
``preprocess_input`` to the user.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kzoo.builder import rebuild_with_front
from kzoo.caffe.declaration import CaffeDeclaration, declaration
from kzoo.caffe.weights import load_caffe_weights
from kzoo.errors import KzooError, SpecError
from kzoo.transfer import port_weights
from kzoo.zoo import architectures_with_weights

if TYPE_CHECKING:
    from kzoo.graph import Graph

CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)  # the ImageNet mean keras.applications' "caffe" mode subtracts
PREPROCESS_MODES = ("caffe", "tf")


def imagenet(graph: Graph) -> dict[str, Any]:
    """The file's ``weights.imagenet`` declaration, or a SpecError naming the architectures that have one."""

    found = (graph.meta.get("weights") or {}).get("imagenet")
    if not found:
        raise SpecError(
            f"{graph.name} has no ImageNet weights: keras.applications does not provide it",
            hint="weights='imagenet' works for " + ", ".join(architectures_with_weights("imagenet")),
        )
    if found.get("preprocess") not in PREPROCESS_MODES or not found.get("keras_applications"):
        raise SpecError(
            f"{graph.name}'s weights.imagenet needs keras_applications: NAME and preprocess: caffe or tf",
            hint=f"got {found}",
        )
    return found


def load_weights(model: Any, graph: Graph, weights: str) -> None:
    """Load saved weights from a file (``.weights.h5``, ``.keras``, or Caffe's ``.caffemodel``), or
    keras.applications' ImageNet weights."""
    if weights == "imagenet":
        port_imagenet(model, graph)
        return
    path = Path(weights)
    if not path.is_file():
        raise SpecError(f"weights: no such file {path}", hint="weights is None, 'imagenet' or a file path")
    if path.suffix == ".caffemodel":
        load_caffe_weights(model, graph, path, caffe(graph).names)
        return
    try:
        model.load_weights(path)
    except Exception as exc:  # Keras raises several types for a wrong file
        first = str(exc).strip().splitlines()
        raise KzooError(f"could not load weights from {path}: {first[0] if first else type(exc).__name__}") from None


def caffe(graph: Graph) -> CaffeDeclaration:
    """The file's ``weights.caffe`` declaration (empty when it has none: names then match Caffe's as they are)."""
    return declaration(graph.meta.get("weights"), graph.name)


def caffe_front(model: Any, graph: Graph) -> keras.Model:
    """``model`` (with a Caffe release's weights) taking images in [0, 1], RGB, as kzoo's data gives them: the
    declared input transform (x·scale minus the mean) as a ``Normalization`` layer in front, and the first
    conv's input channels reversed for weights trained on BGR images."""
    decl = caffe(graph)
    channels = graph.input_shape[-1]
    mean = list(decl.mean[::-1] if decl.order == "bgr" else decl.mean)  # to RGB order
    if len(mean) != channels:
        mean = [float(np.mean(mean))] * channels
    front = keras.layers.Normalization(
        axis=-1, mean=[m / decl.scale for m in mean], variance=[(1 / decl.scale) ** 2] * channels, name="normalization"
    )
    fronted = rebuild_with_front(model, graph, front)
    first = fronted.get_layer(next(layer.name for layer in model.layers if layer.weights))
    weights = first.get_weights()
    if decl.order == "bgr" and channels == 3 and weights[0].ndim == 4:
        first.set_weights([weights[0][:, :, ::-1, :], *weights[1:]])
    return fronted


def port_imagenet(model: Any, graph: Graph) -> None:
    """Download keras.applications' ImageNet weights of the same network and port them into ``model``."""
    ref_name = imagenet(graph)["keras_applications"]
    params = graph.meta["params"]
    include_top = params.get("include_top", True)
    if include_top and params.get("classes") != 1000:
        raise SpecError(
            "ImageNet weights with include_top=True need classes=1000",
            hint="load(..., include_top=False) and add your own head",
        )
    rows, cols, channels = graph.input_shape
    try:
        ref = getattr(keras.applications, ref_name)(
            weights="imagenet", include_top=include_top, input_shape=(rows, cols, 3)
        )
    except Exception as exc:  # offline: URLError, OSError, ValueError from get_file
        raise KzooError(
            f"could not get the ImageNet weights of {ref_name} through keras.applications "
            f"(is the internet reachable?): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    port_weights(ref, model, adapt_channels=channels != 3)


def imagenet_front(model: Any, graph: Graph) -> keras.Model:
    """``model`` (with ported ImageNet weights) taking images in [0, 1], RGB, as kzoo's data gives them.

    keras.applications' ``preprocess_input`` as a ``Normalization`` layer in
    front (so the model saves and reloads with it): "tf" mode is
    (x - 0.5) / 0.5; "caffe" mode is 255·x minus the ImageNet mean with the
    first conv's input channels reversed instead of the image (BGR weights,
    RGB data). For one channel (grey) the mean is the mean over RGB, which is
    exact only for the "tf" models.
    """
    mode = imagenet(graph)["preprocess"]
    channels = graph.input_shape[-1]
    if mode == "tf":
        mean, var = [0.5] * channels, [0.25] * channels
    else:
        rgb = [m / 255 for m in CAFFE_MEAN_RGB]
        mean = rgb if channels == 3 else [float(np.mean(rgb))] * channels
        var = [(1 / 255) ** 2] * channels
    front = keras.layers.Normalization(axis=-1, mean=mean, variance=var, name="normalization")
    fronted = rebuild_with_front(model, graph, front)
    first = fronted.get_layer(next(layer.name for layer in model.layers if layer.weights))
    weights = first.get_weights()
    if mode == "caffe" and channels == 3 and weights[0].ndim == 4:
        first.set_weights([weights[0][:, :, ::-1, :], *weights[1:]])  # BGR-trained kernels read RGB images
    return fronted
