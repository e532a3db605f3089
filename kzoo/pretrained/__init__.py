"""Every source of weights: released checkpoints (keras.applications, torchvision, timm, Caffe) and saved files.

What a release is — where it lives, the params that make the architecture file compute it, its layer
names, its input transform, its categories and published accuracy — is data in the architecture
file's ``weights:`` section (:mod:`kzoo.lang.weights`). Each *source kind* is one entry of
:data:`SOURCES` that reads its files and maps names and layouts::

    >>> model = kzoo.load("resnet18", weights="imagenet")          # the file's first release
    >>> model = kzoo.load("resnet50", weights="timm")              # timm's safetensors, from the Hub
    >>> model = kzoo.load("resnet50", weights="resnet50-0676ba61.pth")   # a torchvision state dict

:func:`load_weights` leaves the model raw, as keras.applications leaves ``preprocess_input`` to the
user; :func:`front` puts the release's input transform in front of it as a ``Normalization`` layer
(kzoo's images are RGB in [0, 1]), so the model saves and reloads with it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kzoo.builder import rebuild_with_front
from kzoo.caffe.declaration import declaration
from kzoo.caffe.weights import load_caffe_weights
from kzoo.errors import KzooError, SpecError
from kzoo.lang.weights import FILE_KINDS, Release, is_release_name
from kzoo.pretrained import caffe_release, keras_applications, state_dict  # noqa: F401  (each registers its kinds)
from kzoo.pretrained.sources import SOURCES
from kzoo.pretrained.state_dict import load_state_dict

if TYPE_CHECKING:
    from kzoo.graph import Graph


def load_weights(model: Any, graph: Graph, weights: str, release: Release | None = None) -> None:
    """Load ``weights`` into ``model``: a release (``release``, which ``weights`` names), or a file —
    ``.weights.h5`` / ``.keras``, a state dict (``.pth``, ``.safetensors``) or a ``.caffemodel`` — read with
    ``release`` (the file's release of that kind: its names and layouts) where there is one."""
    if not isinstance(weights, (str, Path)):
        raise SpecError(f"weights must be None, a release name or a file path, received: weights={weights!r}")
    if is_release_name(str(weights)):
        if release is None:
            raise SpecError(f"{graph.name} has no release {weights!r}", hint="kzoo weights lists the releases")
        SOURCES.get(release.kind).load(model, graph, release)
        return
    path = Path(weights)
    if not path.is_file():
        raise SpecError(f"weights: no such file {path}", hint="weights is None, a release name or a file path")
    kinds = FILE_KINDS.get(path.suffix.lower(), ())
    if "caffe" in kinds:
        load_caffe_weights(model, graph, path, declaration(release).names)
    elif kinds:  # a PyTorch state dict (torchvision's, timm's)
        load_state_dict(model, graph, path, release)
    else:
        _keras_file(model, path)


def _keras_file(model: Any, path: Path) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:  # Keras raises several types for a wrong file
        first = str(exc).strip().splitlines()
        raise KzooError(f"could not load weights from {path}: {first[0] if first else type(exc).__name__}") from None


def front(model: Any, graph: Graph, release: Release) -> keras.Model:
    """``model`` (with ``release``'s weights) taking images in [0, 1], RGB, as kzoo's data gives them.

    The release's input transform ``((x * scale)[order] - mean) / std`` as a ``Normalization`` layer in
    front; for weights trained on BGR images the first conv's input channels are reversed instead of
    the image's. For one channel (grey) the mean and std are averaged over RGB.
    """
    t, channels = release.input, graph.input_shape[-1]
    mean = list(t.mean[::-1] if t.order == "bgr" else t.mean)  # to RGB order
    std = list(t.std[::-1] if t.order == "bgr" else t.std)
    if len(mean) != channels:
        mean, std = [float(np.mean(mean))] * channels, [float(np.mean(std))] * channels
    norm = keras.layers.Normalization(
        axis=-1, mean=[m / t.scale for m in mean], variance=[(s / t.scale) ** 2 for s in std], name="normalization"
    )
    fronted = rebuild_with_front(model, graph, norm)
    first = fronted.get_layer(next(layer.name for layer in model.layers if layer.weights))
    weights = first.get_weights()
    if t.order == "bgr" and channels == 3 and weights[0].ndim == 4:
        first.set_weights([weights[0][:, :, ::-1, :], *weights[1:]])  # BGR-trained kernels read RGB images
    return fronted


@cache
def imagenet_categories() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names, in the order of the classifiers' outputs."""
    text = (Path(__file__).parent / "imagenet1k.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def categories(release: Release) -> list[str] | None:
    """The class names of a release's outputs (None when it declares none)."""
    return list(imagenet_categories()) if release.categories == "imagenet1k" else None


def input_meta(release: Release, size: tuple[int, int], channels: int) -> dict[str, Any]:
    """How images are prepared for a release: its resize and centre crop (kept in the saved model)."""
    out: dict[str, Any] = {"size": list(size), "channels": channels, "pad": 0}
    if release.resize and release.crop and tuple(size) == (release.crop, release.crop):
        out.update(resize=release.resize, crop=release.crop)
    return out
