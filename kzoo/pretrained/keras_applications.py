"""Source kind ``keras_applications``: keras.applications' model of the same network, with its ImageNet
weights (downloaded and cached by Keras), ported layer by layer (kzoo.transfer.port_weights)::

    keras:
      kind: keras_applications
      model: ResNet50                 # the keras.applications class
      input: {order: bgr, mean: [103.939, 116.779, 123.68], scale: 255}   # preprocess_input's "caffe" mode
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import keras

from kzoo.errors import KzooError, SpecError
from kzoo.pretrained.download import keras_home
from kzoo.pretrained.sources import SOURCES, Source
from kzoo.transfer import port_weights

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.lang.weights import Release


def load(model: Any, graph: Graph, release: Release) -> None:
    params = graph.meta["params"]
    include_top = params.get("include_top", True)
    if include_top and params.get("classes") != 1000:
        raise SpecError(
            "ImageNet weights with include_top=True need classes=1000",
            hint="load(..., include_top=False) and add your own head",
        )
    rows, cols, channels = graph.input_shape
    try:
        ref = getattr(keras.applications, str(release.model))(
            weights="imagenet", include_top=include_top, input_shape=(rows, cols, 3)
        )
    except Exception as exc:  # offline: URLError, OSError, ValueError from get_file
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        url = re.search(r"https?://\S+?\.h5", text)
        hint = None
        if url:
            cached = keras_home() / "models" / url.group().rsplit("/", 1)[-1]
            hint = f"offline, download {url.group()} elsewhere and put it at {cached}: Keras then uses it offline"
        raise KzooError(
            f"could not get the ImageNet weights of {release.model} through keras.applications "
            f"(is the internet reachable?): {text.rsplit(' -- ', 1)[-1]}",
            hint,
        ) from None
    port_weights(ref, model, adapt_channels=channels != 3)


SOURCES.register("keras_applications", Source(load, "keras.applications' weights, ported by name"))
