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
from typing import Any, Literal

from kzoo.api import InputShape, Positive, StrictBool, one_of
from kzoo.builder import build_graph
from kzoo.errors import KzooError, SpecError, did_you_mean
from kzoo.graph import Graph, add_global_pooling, with_outputs
from kzoo.graph import analyse as analyse_spec
from kzoo.lang.loader import load_file
from kzoo.lang.resolve import Spec, load_with_extends
from kzoo.lang.weights import FILE_KINDS, Release, choose, is_release_name, releases
from kzoo.paths import architecture_files, locate

Source = one_of((str, Path, Spec), "a zoo name or alias, a YAML file's path, or a Spec")
Buildable = one_of((str, Path, Spec, Graph), "a zoo name or alias, a YAML file's path, a Spec or a Graph")


def aliases() -> dict[str, str]:
    """alias → architecture name, from every file's ``aliases:``."""
    out: dict[str, str] = {}
    for name, path in architecture_files().items():
        data = load_file(path)
        for alias in (data.get("aliases") or []) if isinstance(data, dict) else []:
            if alias in out and out[alias] != name:
                raise SpecError(f"alias {alias!r} is claimed by both {out[alias]} and {name}", hint=str(path))
            out[str(alias)] = name
    return out


def list_architectures() -> list[str]:
    """Every architecture name the zoo knows, sorted."""
    return sorted(architecture_files())


def find(name: str) -> Path:
    """The file of an architecture name or alias; a SpecError names near misses."""
    files = architecture_files()
    if name in files:
        return files[name]
    table = aliases()
    if name in table:
        return files[table[name]]
    raise SpecError(f"unknown architecture {name!r}", hint=did_you_mean(name, list(files) + list(table)))


def resolve_source(target: str | Path) -> Path:
    """A path to a YAML file (``architectures/vgg16.yaml`` is kzoo's own where no such file is here), or the file
    of a zoo name."""
    text = str(target)
    if text.endswith((".yaml", ".yml")) or os.sep in text or Path(text).is_file():
        return locate(text, "architectures") or Path(text)
    return find(text)


def analyse(source: Source, overrides: Mapping[str, Any] | None = None, origin: str = "override") -> Graph:
    """``kzoo.analyse``: the static pipeline (no Keras) on a file, a zoo name or alias, or a spec."""
    return analyse_spec(source if isinstance(source, Spec) else resolve_source(source), overrides, origin)


def build(source: Buildable, overrides: Mapping[str, Any] | None = None, **params: Any) -> Any:
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
    weights: str | Path | None = None,
    input_shape: InputShape | None = None,
    input_tensor: Any = None,
    include_top: StrictBool | None = None,
    pooling: Literal["avg", "max"] | None = None,
    classes: Positive | None = None,
    classifier_activation: Any = "default",
    features_only: StrictBool = False,
    **params: Any,
) -> Any:
    """Build a zoo architecture (a name, alias or YAML path) as a Keras model.

    The options are those of keras.applications and timm:

    * ``params`` override the file's ``params`` (``depth=101``); ``classes``,
      ``include_top`` and ``classifier_activation`` (None: logits) are params too.
    * ``input_shape``: (rows, cols, channels) instead of the file's input; a
      size the architecture cannot take is a SpecError naming the layer. Rows and
      cols may be None (any size) where no layer's weights depend on the size
      (``include_top=False``, or a head that pools globally).
    * ``input_tensor``: a Keras tensor (``keras.Input`` or another layer's output)
      to use as the input; its shape is the input shape.
    * ``pooling``: with ``include_top=False``, ``"avg"`` or ``"max"`` adds global pooling.
    * ``features_only``: a model returning the feature map of each stage (the
      file's ``features:``), for detection and segmentation backbones.
    * ``weights``: None (initialised as the file says); ``"imagenet"`` (the file's first release:
      ``kzoo weights NAME`` lists them); a release's name or source kind (``"torchvision"``,
      ``"timm"``, ``"keras"``, ``"caffe"``), downloaded once into the cache (kzoo.pretrained); or a
      file: a ``.weights.h5`` or ``.keras`` saved by Keras, a PyTorch state dict (``.pth``, ``.pt``;
      needs ``kzoo[torch]``), a ``.safetensors`` file, or a Caffe ``.caffemodel``. A release or a
      release's file sets the params that make the file compute what the release computes (the
      caller's own params win). The model is left raw, as keras.applications leaves
      ``preprocess_input`` to the user: ``kzoo.pretrained.front`` puts the release's input
      transform in front (``kzoo predict NAME:RELEASE`` and ``kzoo finetune --from NAME:RELEASE``
      do). With other than 3 input channels, the first conv's kernels are adapted (summed for one
      channel, tiled and rescaled for more).

    >>> model = kzoo.load("resnet", depth=101, classes=10)
    >>> backbone = kzoo.load("resnet50", include_top=False, pooling="avg")
    """
    overrides = dict(params)
    if input_tensor is not None:
        input_shape = _tensor_shape(input_tensor, input_shape)
    if input_shape is not None:
        overrides["input"] = list(input_shape)
    for key, value in (("include_top", include_top), ("classes", classes)):
        if value is not None:
            overrides[key] = value
    if classifier_activation != "default":
        overrides["classifier_activation"] = "linear" if classifier_activation is None else classifier_activation
    if features_only and include_top is None and "include_top" in _declared_params(name):
        overrides["include_top"] = False
    shape = lambda graph: shape_outputs(graph, pooling, features_only)  # noqa: E731
    return built(resolve_source(name), weights, overrides, "kzoo.load()", shape, input_tensor)[0]


def _tensor_shape(tensor: Any, input_shape: Any) -> tuple[Any, ...]:
    """The input shape ``input_tensor`` gives (without its batch axis), checked against ``input_shape``."""
    import keras

    if not keras.backend.is_keras_tensor(tensor):
        raise SpecError(
            f"input_tensor must be a Keras tensor, got {type(tensor).__name__}",
            hint="input_tensor=keras.Input(shape=(224, 224, 3)), or another layer's output",
        )
    shape = tuple(tensor.shape[1:])
    if input_shape is not None and tuple(input_shape) != shape:
        raise SpecError(
            f"input_shape={tuple(input_shape)} differs from input_tensor's shape {shape}",
            hint="give one of them, or make them agree",
        )
    return shape


def built(
    path: Path, weights: Any, params: Mapping[str, Any], origin: str, shape: Any = None, input_tensor: Any = None
) -> tuple[Any, Graph, Any]:
    """(model, graph, release): the architecture at ``path`` analysed with the release's params (``params`` win),
    shaped by ``shape(graph)``, built, and loaded with ``weights``. A weights file is tried with each release of
    the kinds that read it, in the file's order, until one fits (a ``.pth`` may be torchvision's vgg16 or its
    vgg16_bn); the first failure is raised when none does."""
    candidates = releases_for(path, weights, params)
    failure = None
    for release in candidates:
        graph = analyse(path, {**(release.params if release else {}), **params}, origin)
        graph = shape(graph) if shape is not None else graph
        model = build_graph(graph, input_tensor=input_tensor)
        if weights is None:
            return model, graph, release
        from kzoo.pretrained import load_weights  # Keras, which the static stages never import

        try:
            load_weights(model, graph, weights, release)
            return model, graph, release
        except KzooError as exc:
            if len(candidates) == 1:
                raise
            failure = failure or exc
    raise failure  # type: ignore[misc]


def with_weights(name: str, weights: str | None, params: Mapping[str, Any] | None = None) -> tuple[Any, Graph, Any]:
    """(model, graph, release) of a zoo architecture with ``weights`` (a release or a file): the release's params
    set (``params`` win), the graph analysed once, the model built and loaded. Used by finetune and predict."""
    return built(resolve_source(name), weights, dict(params or {}), "--param")


def file_releases(name: str | Path, params: Mapping[str, Any] | None = None) -> list[Release]:
    """The releases an architecture (a name or file) declares, for its own params updated by ``params``."""
    data = load_with_extends(resolve_source(name))
    own = dict(data.get("params") or {}) if isinstance(data.get("params"), dict) else {}
    return releases(data, {**own, **(params or {})}, str(name))


def releases_for(name: str | Path, weights: Any, params: Mapping[str, Any] | None = None) -> list[Release | None]:
    """The release ``weights=`` names (a release, a source kind or ``imagenet``); for a weights file, the file's
    releases of the kinds that read it, in order ([None] when it declares none, or for no weights)."""
    if weights is None or not isinstance(weights, (str, Path)):
        return [None]
    found = file_releases(name, params)
    if is_release_name(str(weights)):
        return [choose(found, str(weights), Path(str(name)).stem)]
    kinds = FILE_KINDS.get(Path(str(weights)).suffix.lower(), ())
    return [r for kind in kinds for r in found if r.kind == kind] or [None]


def release_for(name: str | Path, weights: Any, params: Mapping[str, Any] | None = None) -> Release | None:
    """The first of :func:`releases_for`."""
    return releases_for(name, weights, params)[0]


def release_params(name: str | Path, weights: Any, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The params ``weights=`` sets (its release's), for a caller's own ``params`` to override."""
    release = release_for(name, weights, params)
    return dict(release.params) if release else {}


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


def architectures_with_weights(kind: str = "imagenet") -> list[str]:
    """The zoo architectures with a release of source ``kind`` (any release for ``imagenet``)."""
    return sorted(
        name
        for name, path in architecture_files().items()
        if any(kind in ("imagenet", r.kind, r.name) for r in file_releases(path))
    )


def list_weights(name: str | None = None) -> list[dict[str, Any]]:
    """Every release of the zoo (or of one architecture): one row each, as ``kzoo weights [--json]`` prints it.

    >>> [r["release"] for r in kzoo.list_weights("resnet50")]
    ['keras', 'torchvision', 'timm', 'caffe']
    """
    from kzoo.pretrained.download import cached_path  # no Keras: a path and a file name

    rows = []
    for arch in [name] if name is not None else list(architecture_files()):
        label = Path(str(resolve_source(arch))).stem
        for i, r in enumerate(file_releases(arch)):
            rows.append({
                "architecture": label, "release": r.name, "kind": r.kind, "default": i == 0,
                "params": dict(r.params), "input": r.input.model_dump(), "resize": r.resize, "crop": r.crop,
                "top1": r.accuracy.top1, "top5": r.accuracy.top5, "evaluation": r.accuracy.evaluation,
                "categories": r.categories, "url": r.url, "model": r.model, "source": r.source,
                "cached": cached_path(r).is_file() if (r.url or r.release or r.file) else None,
            })  # fmt: skip
    return rows
