"""A zoo file's Caffe counterpart, as its YAML declares it (``weights: {caffe: ...}``)::

    weights:
      caffe:
        release: bvlc_googlenet.caffemodel      # the file the authors released
        source: https://github.com/BVLC/caffe/tree/master/models/bvlc_googlenet
        prototxt: deploy.prototxt               # the definition released with it
        params: {lrn: caffe}                    # params that make the file compute what that prototxt computes
        names: [[PATTERN, REPLACEMENT], ...]     # kzoo layer -> Caffe layer (kzoo.caffe.names)
        input: {order: bgr, mean: [104, 117, 123], scale: 255}   # what the weights expect

``input``: the channel ``order`` of the images the weights were trained on (``bgr`` for
every Caffe release here), the ``mean`` subtracted per channel in that order, and the
``scale`` of the pixels (255: 0-255 images; kzoo's data is in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kzoo.caffe.names import NameRules
from kzoo.errors import SpecError

KEYS = {"release", "source", "prototxt", "params", "names", "input"}


@dataclass
class CaffeDeclaration:
    release: str | None = None
    source: str | None = None
    prototxt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    names: NameRules = field(default_factory=lambda: NameRules([]))
    order: str = "bgr"
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    scale: float = 255.0


def declaration(weights: Any, owner: str = "the file") -> CaffeDeclaration:
    """The ``caffe`` entry of a file's ``weights:`` (an empty declaration when there is none)."""
    found = (weights or {}).get("caffe") if isinstance(weights, dict) else None
    if found is None:
        return CaffeDeclaration()
    where = f"{owner}'s weights.caffe"
    if not isinstance(found, dict) or set(found) - KEYS:
        raise SpecError(
            f"{where} takes {', '.join(sorted(KEYS))}",
            hint=f"got {sorted(found) if isinstance(found, dict) else found!r}",
        )
    params = found.get("params") or {}
    if not isinstance(params, dict):
        raise SpecError(f"{where}.params maps params to values, got {params!r}")
    image = found.get("input") or {}
    order, mean, scale = image.get("order", "bgr"), image.get("mean", [0.0, 0.0, 0.0]), image.get("scale", 255)
    if order not in ("bgr", "rgb") or not (
        isinstance(mean, list) and all(isinstance(m, (int, float)) for m in mean) and isinstance(scale, (int, float))
    ):
        raise SpecError(f"{where}.input is {{order: bgr|rgb, mean: [numbers], scale: number}}, got {image!r}")
    return CaffeDeclaration(
        found.get("release"),
        found.get("source"),
        found.get("prototxt"),
        dict(params),
        NameRules(found.get("names"), f"{where}.names"),
        order,
        [float(m) for m in mean],
        float(scale),
    )
