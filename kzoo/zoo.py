"""Finding architectures by name, and ``load()`` / ``build()``.

Search order: the architectures installed with kzoo, then each folder of
``KZOO_PATH`` (separated like ``PATH``), then folders added by plugins
(:func:`add_path`). A name is a file's stem (``resnet50`` →
``resnet50.yaml``) or one of the ``aliases:`` a file declares
(``resnet`` → ``resnet50``). Family files in ``families/`` are not listed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kzoo.builder import build_graph
from kzoo.caffe.declaration import declaration
from kzoo.errors import SpecError, did_you_mean
from kzoo.graph import Graph, add_global_pooling, analyse, with_outputs
from kzoo.lang.loader import load_file
from kzoo.lang.resolve import Spec, load_with_extends
from kzoo.paths import architecture_dirs


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


def build(source: Any, overrides: Mapping[str, Any] | None = None, **params: Any) -> Any:
    """Build a Keras model from a YAML file or zoo name (or a spec or graph).

    >>> model = kzoo.build("architectures/vgg16.yaml", classes=10)
    >>> model = kzoo.build("resnet18")
    """
    if isinstance(source, Graph):
        return build_graph(source)
    if not isinstance(source, Spec):
        source = resolve_source(source)
    return build_graph(analyse(source, {**(overrides or {}), **params}, "kzoo.build()"))


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
      (``.weights.h5`` or ``.keras``), or ``"imagenet"`` for the architectures whose
      file declares ``weights: {imagenet: ...}`` (kzoo.pretrained): keras.applications'
      weights are downloaded and ported; or a Caffe ``.caffemodel`` (the authors' release), read
      with the file's ``weights.caffe`` declaration: its params (``lrn=caffe`` for AlexNet) and
      layer names; the input transform it declares is not applied (as keras.applications leaves
      ``preprocess_input`` to the user). With other than 3 input channels, the first
      conv's kernels are adapted (summed for one channel, tiled and rescaled for more).

    >>> model = kzoo.load("resnet", depth=101, classes=10)
    >>> backbone = kzoo.load("resnet50", include_top=False, pooling="avg")
    """
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
    overrides = {**caffe_params(name, weights), **overrides}
    graph = analyse(resolve_source(name), overrides, "kzoo.load()")
    graph = shape_outputs(graph, pooling, features_only)
    model = build_graph(graph)
    if weights is not None:
        from kzoo.pretrained import load_weights  # Keras, which the static stages never import

        load_weights(model, graph, weights)
    return model


def caffe_params(name: str, weights: Any) -> dict[str, Any]:
    """For Caffe weights (a ``.caffemodel``), the params the file declares to compute what the release computes
    (``weights.caffe.params``); the caller's own params win over them."""
    if not (isinstance(weights, (str, Path)) and str(weights).endswith(".caffemodel")):
        return {}
    data = load_with_extends(resolve_source(name))
    return dict(declaration(data.get("weights"), str(name)).params)


def _declared_params(name: str) -> dict[str, Any]:
    return dict(load_with_extends(resolve_source(name)).get("params") or {})


def shape_outputs(graph: Graph, pooling: str | None, features_only: bool) -> Graph:
    """Apply ``pooling`` and ``features_only`` to an analysed graph."""
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


def architectures_with_weights(source: str) -> list[str]:
    """The zoo architectures whose file declares weights from ``source`` (``imagenet``, ``caffe``)."""
    out = []
    for name, path in _files().items():
        data = load_with_extends(path)
        if isinstance(data.get("weights"), dict) and source in data["weights"]:
            out.append(name)
    return sorted(out)
