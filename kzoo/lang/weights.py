"""The ``weights:`` section of an architecture file: its released checkpoints, as data.

Each entry is one *release* under a name of its own; ``kind`` names the source kind that reads it
(``keras_applications``, ``torchvision``, ``timm``, ``caffe``; kzoo.pretrained's registry) and
defaults to the entry's name. A family file declares the releases its variants share; a field may be
an expression over the params and tables (``model: "ResNet${depth}"``), and ``when`` leaves a
release out where it does not exist (``when: "${depth >= 50}"``)::

    weights:
      torchvision:
        when: "${depth in [18, 34]}"
        url: "https://download.pytorch.org/models/resnet${depth}-${tv_hash[depth]}.pth"
        sha256: "${tv_hash[depth]}"          # the prefix torchvision puts in its file names
        params: {conv_bias: false, bn_epsilon: 1.0e-5, stride_in: 3x3, conv_padding: symmetric}
        names: [['conv(\\d)_block(\\d+)_(\\d)_conv', 'layer{1-1}.{2-1}.conv{3}'], ...]
        input: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
        resize: 256
        crop: 224
        accuracy: {top1: 69.758, top5: 89.078}

``weights="imagenet"`` is the first release (in the order the file and its family declare them) whose
``when`` holds; ``weights="torchvision"`` names a release, or the first of that kind. ``params`` are
set for the release (the caller's own params win); ``input`` is what the weights expect of an RGB
image in [0, 1]: multiplied by ``scale``, put in ``order``, less ``mean``, divided by ``std``.
Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kzoo.errors import Mark, SpecError, did_you_mean
from kzoo.lang.expr import substitute
from kzoo.lang.loader import mark_of
from kzoo.lang.validate import validate

#: what ``weights=`` may name besides a release or a file: the file's default release
DEFAULT = "imagenet"
KINDS = ("keras_applications", "torchvision", "timm", "caffe")
#: the source kinds whose layout a weights file may have, by its suffix (first the likeliest; a file is tried
#: with each release of these kinds until one fits); any other suffix is a file saved by Keras
FILE_KINDS = {
    ".caffemodel": ("caffe",),
    ".pth": ("torchvision", "timm"),
    ".pt": ("torchvision", "timm"),
    ".bin": ("torchvision", "timm"),
    ".safetensors": ("timm", "torchvision"),
}


class InputTransform(BaseModel):
    """What a release's weights expect of an RGB image in [0, 1]: ``((x * scale)[order] - mean) / std``."""

    model_config = ConfigDict(extra="forbid")
    order: Literal["rgb", "bgr"] = Field("rgb", description="the channel order the weights were trained on")
    mean: list[float] = Field(default_factory=lambda: [0.0, 0.0, 0.0], description="per channel, in that order")
    std: list[float] = Field(default_factory=lambda: [1.0, 1.0, 1.0], description="per channel, in that order")
    scale: float = Field(1.0, gt=0, description="the pixels' range: 1 ([0, 1]) or 255 (0-255)")


class Accuracy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top1: float | None = Field(None, ge=0, le=100, description="published ImageNet-1k validation top-1, %")
    top5: float | None = Field(None, ge=0, le=100, description="published top-5, %")
    evaluation: str | None = Field(None, description="the transform the published figures were measured with")


class Release(BaseModel):
    """One released checkpoint of an architecture, with everything needed to load and use it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="the entry's key: weights=NAME chooses it")
    kind: str = Field(description="the source kind that reads it (kzoo.pretrained.SOURCES)")
    when: bool = Field(True, description="false: the release does not exist for these params")
    model: str | None = Field(None, description="keras_applications: the keras.applications class")
    url: str | None = Field(None, description="where the file is downloaded from")
    sha256: str | None = Field(None, description="the file's sha256, or the prefix its publisher gives")
    file: str | None = Field(None, description="the file's name in the cache (default: the URL's last part)")
    release: str | None = Field(None, description="caffe: the file the authors released")
    source: str | None = Field(None, description="the page that publishes the release")
    prototxt: str | None = Field(None, description="caffe: the network definition released with it")
    params: dict[str, Any] = Field(default_factory=dict, description="params that make the file compute it")
    names: list[list[str]] | Literal["order"] | None = Field(
        None, description="kzoo layer -> the release's name, by [PATTERN, REPLACEMENT] rules, or 'order'"
    )
    ignore: list[str] = Field(default_factory=list, description="patterns of the release's tensors left unused")
    input: InputTransform = Field(default_factory=InputTransform)
    resize: int | None = Field(None, gt=0, description="evaluation: the shorter side resized to this first")
    crop: int | None = Field(None, gt=0, description="evaluation: then a centred square of this size")
    categories: Literal["imagenet1k"] | None = Field("imagenet1k", description="the class names of its outputs")
    accuracy: Accuracy = Field(default_factory=Accuracy)

    @property
    def label(self) -> str:
        return self.name if self.name == self.kind else f"{self.name} ({self.kind})"


def _env(data: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    tables = data.get("tables") or {}
    return {**(tables if isinstance(tables, dict) else {}), **params}


def _resolve(value: Any, env: Mapping[str, Any], mark: Mark | None, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, env, mark_of(value, k) or mark, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env, mark, f"{path}[{i}]") for i, v in enumerate(value)]
    return substitute(value, env, mark, path)


def releases(data: Mapping[str, Any], params: Mapping[str, Any], owner: str = "the file") -> list[Release]:
    """Every release the file (``extends`` applied) declares, its expressions evaluated with ``params``,
    in declared order; those whose ``when`` is false are left out."""
    section = data.get("weights")
    if section is None:
        return []
    mark = mark_of(data, "weights")
    if not isinstance(section, dict):
        raise SpecError(f"{owner}'s weights: maps release names to releases", mark, "weights")
    env, out = _env(data, params), []
    for key, entry in section.items():
        where = f"weights.{key}"
        at = mark_of(section, key) or mark
        if not isinstance(entry, dict):
            raise SpecError(f"{where} must be a mapping (kind:, url:, params: ...)", at, where)
        if "when" in entry and not bool(_resolve(entry["when"], env, at, where + ".when")):
            continue
        plain = {"kind": str(key)}
        plain.update(
            {k: _resolve(v, env, mark_of(entry, k) or at, f"{where}.{k}") for k, v in entry.items() if k != "when"}
        )
        plain["name"] = str(key)
        release = validate(Release, plain, entry, where, f"{owner}'s release {key!r}", at)
        if release.kind not in KINDS:
            raise SpecError(
                f"{where}: unknown source kind {release.kind!r}",
                at,
                where + ".kind",
                did_you_mean(release.kind, KINDS) or "kinds: " + ", ".join(KINDS),
            )
        out.append(release)
    return out


def choose(found: list[Release], weights: str, owner: str) -> Release:
    """The release ``weights`` names: ``imagenet`` (the first), a release's name, or a source kind."""
    if weights == DEFAULT and found:
        return found[0]
    for release in found:
        if weights == release.name:
            return release
    for release in found:
        if weights == release.kind:
            return release
    have = [r.name for r in found]
    if not have:
        raise SpecError(
            f"{owner} has no released weights",
            hint="kzoo weights lists the architectures that have; weights= also takes a file",
        )
    raise SpecError(
        f"{owner} has no release {weights!r}",
        hint=f"its releases: {DEFAULT} (= {have[0]}), {', '.join(have)}; or a weights file (kzoo weights {owner})",
    )


def is_release_name(weights: Any) -> bool:
    """Whether ``weights=`` names a release, not a file: no path separator, no suffix, and no such file here."""
    if not isinstance(weights, str) or any(c in weights for c in "/\\."):
        return False
    return not Path(weights).is_file()


__all__ = [
    "DEFAULT",
    "FILE_KINDS",
    "KINDS",
    "Accuracy",
    "InputTransform",
    "Release",
    "choose",
    "is_release_name",
    "releases",
]
