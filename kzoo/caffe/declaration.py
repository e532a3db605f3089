"""A zoo file's Caffe counterpart: its release of kind ``caffe`` (kzoo.lang.weights), as the bridge uses it::

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
from typing import TYPE_CHECKING, Any

from kzoo.caffe.names import NameRules

if TYPE_CHECKING:
    from kzoo.lang.weights import Release


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


def declaration(release: Release | None) -> CaffeDeclaration:
    """The Caffe declaration of a release (an empty one for None: names then match Caffe's as they are)."""
    if release is None:
        return CaffeDeclaration()
    rules = release.names if isinstance(release.names, list) else []
    return CaffeDeclaration(
        release.release,
        release.source,
        release.prototxt,
        dict(release.params),
        NameRules(rules, f"weights.{release.name}.names"),
        release.input.order,
        list(release.input.mean),
        release.input.scale,
    )
