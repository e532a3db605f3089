"""Finding architectures by name, and ``load()``.

Search order: the architectures installed with kzoo, then each folder of
``KZOO_PATH`` (separated like ``PATH``), then folders added by plugins
(:func:`add_path`). A name is a file's stem (``resnet50`` →
``resnet50.yaml``) or one of the ``aliases:`` a file declares
(``resnet`` → ``resnet50``). Family files in ``families/`` are not listed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError, SpecError, did_you_mean
from kzoo.paths import architecture_dirs
from kzoo.spec.loader import load_file


def _files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for d in architecture_dirs():
        for f in sorted(d.glob("*.yaml")):
            files.setdefault(f.stem, f)
    return files


def aliases() -> dict[str, str]:
    """alias → architecture name, from every file's ``aliases:``."""
    out: dict[str, str] = {}
    for name, path in _files().items():
        data = load_file(path)
        for alias in (data.get("aliases") or []) if isinstance(data, dict) else []:
            if alias in out and out[alias] != name:
                raise SpecError(f"alias {alias!r} is claimed by both {out[alias]} and {name}", hint=str(path))
            out[str(alias)] = name
    return out


def list_architectures() -> list[str]:
    """Every architecture name the zoo knows, sorted."""
    return sorted(_files())


def find(name: str) -> Path:
    """The file of an architecture name or alias; a SpecError names near misses."""
    files = _files()
    if name in files:
        return files[name]
    table = aliases()
    if name in table:
        return files[table[name]]
    raise SpecError(f"unknown architecture {name!r}", hint=did_you_mean(name, list(files) + list(table)))


def resolve_source(target: str | Path) -> Path:
    """A path to a YAML file, or the file of a zoo name."""
    text = str(target)
    if text.endswith((".yaml", ".yml")) or os.sep in text or Path(text).is_file():
        return Path(text)
    return find(text)


def load(
    name: str,
    *,
    weights: str | None = None,
    input_shape: Any = None,
    include_top: bool | None = None,
    pooling: str | None = None,
    classes: int | None = None,
    classifier_activation: Any = "default",
    features_only: bool = False,
    **params: Any,
) -> Any:
    """Build a zoo architecture (a name, alias or YAML path) as a Keras model.

    The options are those of keras.applications and timm:

    * ``params`` override the file's ``params`` (``depth=101``); ``classes``,
      ``include_top`` and ``classifier_activation`` (None: logits) are params too.
    * ``input_shape``: (rows, cols, channels) instead of the file's input; a
      size the architecture cannot take is a SpecError naming the layer.
    * ``pooling``: with ``include_top=False``, ``"avg"`` or ``"max"`` adds global pooling.
    * ``features_only``: a model returning the feature map of each stage (the
      file's ``features:``), for detection and segmentation backbones.
    * ``weights``: None (initialised as the file says), a path to saved weights
      (``.weights.h5`` or ``.keras``), or ``"imagenet"`` for the architectures that
      keras.applications provides: its weights are downloaded and ported. With
      other than 3 input channels, the first conv's kernels are adapted (summed
      for one channel, tiled and rescaled for more).

    >>> model = kzoo.load("resnet", depth=101, classes=10)
    >>> backbone = kzoo.load("resnet50", include_top=False, pooling="avg")
    """
    from kzoo.build import build_graph
    from kzoo.graph import analyse

    overrides = dict(params)
    if input_shape is not None:
        overrides["input"] = list(input_shape)
    for key, value in (("include_top", include_top), ("classes", classes)):
        if value is not None:
            overrides[key] = value
    if classifier_activation != "default":
        overrides["classifier_activation"] = "linear" if classifier_activation is None else classifier_activation
    if features_only and include_top is None and "include_top" in _declared_params(name):
        overrides["include_top"] = False
    graph = analyse(resolve_source(name), overrides, "kzoo.load()")
    graph = shape_outputs(graph, pooling, features_only)
    model = build_graph(graph)
    if weights is not None:
        load_weights(model, graph, weights, overrides)
    return model


def _declared_params(name: str) -> dict[str, Any]:
    from kzoo.spec.resolve import load_with_extends

    return dict(load_with_extends(resolve_source(name)).get("params") or {})


def shape_outputs(graph: Any, pooling: str | None, features_only: bool) -> Any:
    """Apply ``pooling`` and ``features_only`` to an analysed graph."""
    from kzoo.graph import add_global_pooling, with_outputs

    if pooling not in (None, "avg", "max"):
        raise SpecError(f"pooling must be None, 'avg' or 'max', received: pooling={pooling!r}")
    if features_only:
        if not graph.features:
            raise SpecError(f"{graph.name} declares no features: list", hint="add features: [layer, ...] to its file")
        return with_outputs(graph, graph.features)
    if pooling is not None:
        if graph.meta["params"].get("include_top", False):
            raise SpecError(
                "pooling applies only with include_top=False", hint="load(..., include_top=False, pooling='avg')"
            )
        return add_global_pooling(graph, pooling)
    return graph


def load_weights(model: Any, graph: Any, weights: str, overrides: dict[str, Any]) -> None:
    """Load saved weights from a file, or keras.applications' ImageNet weights."""
    if weights != "imagenet":
        path = Path(weights)
        if not path.is_file():
            raise SpecError(f"weights: no such file {path}", hint="weights is None, 'imagenet' or a file path")
        try:
            model.load_weights(path)
        except Exception as exc:  # Keras raises several types for a wrong file
            raise KzooError(f"could not load weights from {path}: {exc}") from None
        return
    port_imagenet(model, graph)


def port_imagenet(model: Any, graph: Any) -> None:
    import keras

    from kzoo.transfer import port_weights

    ref_name = graph.meta.get("keras_applications")
    if not ref_name:
        raise SpecError(
            f"{graph.name} has no ImageNet weights: keras.applications does not provide it",
            hint="weights='imagenet' works for " + ", ".join(imagenet_architectures()),
        )
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
            f"(is the internet reachable?): {exc}"
        ) from None
    port_weights(ref, model, adapt_channels=channels != 3)


# keras.applications' preprocess_input mode for each model whose ImageNet weights kzoo ports:
# "caffe" = 0-255 BGR minus the ImageNet mean, "tf" = scaled to [-1, 1].
IMAGENET_MODES = {
    "VGG16": "caffe",
    "VGG19": "caffe",
    "ResNet50": "caffe",
    "ResNet101": "caffe",
    "ResNet152": "caffe",
    "ResNet50V2": "tf",
    "ResNet101V2": "tf",
    "ResNet152V2": "tf",
    "InceptionV3": "tf",
}
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)


def imagenet_front(model: Any, graph: Any) -> Any:
    """``model`` (with ported ImageNet weights) taking images in [0, 1], RGB, as kzoo's data gives them.

    keras.applications' ``preprocess_input`` as a ``Normalization`` layer in
    front (so the model saves and reloads with it): "tf" mode is
    (x - 0.5) / 0.5; "caffe" mode is 255·x minus the ImageNet mean with the
    first conv's input channels reversed instead of the image (BGR weights,
    RGB data). For one channel (grey) the mean is the mean over RGB, which is
    exact only for the "tf" models.
    """
    import keras
    import numpy as np

    from kzoo.build import rebuild_with_front

    mode = IMAGENET_MODES[graph.meta["keras_applications"]]
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


def imagenet_architectures() -> list[str]:
    """The zoo architectures whose ImageNet weights come through keras.applications."""
    out = []
    for name, path in _files().items():
        data = load_file(path)
        if isinstance(data, dict) and data.get("keras_applications"):
            out.append(name)
    return sorted(out)
