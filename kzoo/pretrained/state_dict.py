"""Source kinds ``torchvision`` and ``timm``: PyTorch state dicts (torchvision's ``.pth``, timm's
``.safetensors`` on the Hugging Face Hub) into a kzoo model, all or nothing.

A state dict names tensors ``PREFIX.SUFFIX`` (``layer1.0.conv1.weight``); the tensors of one prefix
are one torch module. Which module fills which kzoo layer: the release's ``names`` rules (kzoo name
-> prefix, :class:`kzoo.caffe.names.NameRules`), or ``names: order`` (the weighted layers in the
graph's order against the modules in the file's order). Layouts:

- Conv2d ``weight`` (out, in/groups, rows, cols) -> Keras' (rows, cols, in/groups, out);
- Linear ``weight`` (out, in) -> (in, out); a 1x1 or k x k conv standing for a dense layer (timm's
  VGG ``pre_logits``) is flattened first; where the dense layer reads a flattened feature map the
  rows go from torch's (c, y, x) order to Keras' (y, x, c);
- BatchNorm2d ``weight``, ``bias``, ``running_mean``, ``running_var`` -> gamma, beta, moving mean and
  variance (``num_batches_tracked`` is not a weight).

``.safetensors`` files are read with ``safetensors.numpy`` (no PyTorch); ``.pth`` files need torch
(``pip install kzoo[torch]``) and are read with ``weights_only=True``, so nothing but tensors is
ever unpickled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kzoo.caffe.names import NameRules
from kzoo.caffe.weights import flattened_map, hwc_rows
from kzoo.errors import KzooError, SpecError
from kzoo.pretrained.download import fetch
from kzoo.pretrained.sources import SOURCES, Source, check_top
from kzoo.transfer import adapt_kernel

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.lang.weights import Release

SKIPPED = ("num_batches_tracked",)
#: Keras variable name -> the torch tensor that fills it
TORCH_NAME = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}


def read(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` or PyTorch (``.pth``, ``.pt``, ``.bin``) file, as float32 arrays."""
    if path.suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise KzooError("reading .safetensors needs the safetensors package", "pip install safetensors") from None
        try:
            tensors = load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for a bad header
            raise KzooError(f"{path} is not a safetensors file: {str(exc)[:200]}") from None
    else:
        tensors = _read_torch(path)
    return {k: np.asarray(v, dtype="float32") for k, v in tensors.items()}


def _read_torch(path: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        raise KzooError(
            f"reading {path.name} (a PyTorch file) needs torch", "pip install 'kzoo[torch]', or use the .safetensors"
        ) from None
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling error, a zip error, or an object weights_only refuses
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KzooError(f"could not read {path} as a PyTorch state dict: {first[:200]}") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]  # a training checkpoint
    if not isinstance(data, dict) or not all(hasattr(v, "numpy") for v in data.values()):
        raise KzooError(f"{path} holds no state dict (a mapping of names to tensors)")
    return {k: v.detach().float().numpy() for k, v in data.items()}


def modules(tensors: dict[str, np.ndarray], ignore: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """prefix -> {suffix: array}, in the file's order, without the ignored and skipped tensors."""
    patterns = [re.compile(p) for p in ignore]
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        prefix, _, suffix = key.rpartition(".")
        if suffix in SKIPPED or any(p.fullmatch(key) for p in patterns):
            continue
        out.setdefault(prefix, {})[suffix] = value
    return out


def pairs(model: Any, graph: Graph, release: Release | None, found: dict[str, dict]) -> list[tuple[Any, str]]:
    """(kzoo layer, torch module prefix) for every weighted layer, by the release's names or order."""
    layers = [model.get_layer(n) for n in graph.nodes if _has(model, n)]
    names = release.names if release is not None else None
    headless = graph.meta["params"].get("include_top", True) is False  # the classifier's modules go unused
    if names == "order":
        if len(layers) != len(found) and not (headless and len(layers) < len(found)):
            raise KzooError(
                f"the file has {len(found)} modules with weights, {graph.name} has {len(layers)} weighted layers",
                "is it the release of this architecture (and its params)?",
            )
        return list(zip(layers, list(found)[: len(layers)], strict=True))
    rules = NameRules(names or [], f"weights.{release.name}.names" if release else "names")
    out = [(layer, rules(layer.name)) for layer in layers]
    missing = [f"{layer.name} (as {p})" for layer, p in out if p not in found]
    if missing:
        raise KzooError(
            f"the file has no tensors for {len(missing)} of {graph.name}'s layers: {', '.join(missing[:3])}",
            f"its modules begin {', '.join(list(found)[:3])}; is it a release of {graph.name}?",
        )
    unused = sorted(set(found) - {p for _, p in out})
    if unused and not headless:
        raise KzooError(f"the file has {len(unused)} modules {graph.name} has no layer for: {', '.join(unused[:3])}")
    return out


def _has(model: Any, name: str) -> bool:
    try:
        return bool(model.get_layer(name).weights)
    except ValueError:
        return False


def convert(layer: Any, graph: Graph, prefix: str, tensors: dict[str, np.ndarray], first: bool) -> list[np.ndarray]:
    """The Keras weights of ``layer`` from one torch module's tensors."""
    out = []
    for var in layer.weights:
        vname = var.path.rsplit("/", 1)[-1]
        key = TORCH_NAME.get(vname)
        if key is None or key not in tensors:
            raise KzooError(f"layer {layer.name!r}: no tensor {prefix}.{key or vname} for its {vname}")
        value = _layout(tensors[key], tuple(var.shape), layer, graph)
        if value.shape != tuple(var.shape) and first and value.ndim == 4 and value.shape[:2] == tuple(var.shape)[:2]:
            value = adapt_kernel(value, int(var.shape[2]))  # a grey or multi-band input
        if value.shape != tuple(var.shape):
            raise KzooError(
                f"layer {layer.name!r}: {prefix}.{key} has shape {tensors[key].shape}, "
                f"which does not fit its {vname} of shape {tuple(var.shape)}",
                "the file is of another architecture or other params",
            )
        out.append(value)
    unused = sorted(set(tensors) - {TORCH_NAME.get(v.path.rsplit("/", 1)[-1]) for v in layer.weights})
    if unused:
        raise KzooError(
            f"layer {layer.name!r} has no place for {prefix}.{unused[0]}",
            "the release sets params (batch norm's scale, biases) this model was built without",
        )
    return out


def _layout(value: np.ndarray, want: tuple[int, ...], layer: Any, graph: Graph) -> np.ndarray:
    if len(want) == 4 and value.ndim == 4:
        return value.transpose(2, 3, 1, 0)
    if len(want) == 2 and value.ndim in (2, 4):
        kernel = value.reshape(value.shape[0], -1).T
        shape = flattened_map(graph, layer.name)
        return hwc_rows(kernel, shape) if shape and kernel.shape[0] == int(np.prod(shape)) else kernel
    return value


def load_state_dict(model: Any, graph: Graph, path: Path, release: Release | None) -> None:
    """Every weighted layer of ``model`` from the state dict at ``path`` (nothing is set on any mismatch)."""
    if not path.is_file():
        raise SpecError(f"weights: no such file {path}")
    found = modules(read(path), release.ignore if release else [])
    values = []
    for i, (layer, prefix) in enumerate(pairs(model, graph, release, found)):
        values.append((layer, convert(layer, graph, prefix, found[prefix], i == 0)))
    for layer, arrays in values:
        layer.set_weights(arrays)


def load_release(model: Any, graph: Graph, release: Release) -> None:
    """A torchvision or timm release: its file downloaded once (kzoo.pretrained.download), then loaded."""
    check_top(graph, release)
    load_state_dict(model, graph, fetch(release), release)


SOURCES.register("torchvision", Source(load_release, "a torchvision state dict (.pth), downloaded; needs torch"))
SOURCES.register("timm", Source(load_release, "timm's safetensors on the Hugging Face Hub; no torch needed"))
