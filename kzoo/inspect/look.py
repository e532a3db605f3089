"""Looking inside a (trained) network: filters, feature maps, occlusion maps, class visualisation.

Every function returns numbers (numpy arrays and plain values) and leaves the
drawing to :mod:`kzoo.inspect.plots`; images are floats in [0, 1], shaped like
the model's input (kzoo's trained models carry their normalisation inside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kzoo.errors import SpecError
from kzoo.inspect.stats import require_tensorflow
from kzoo.keras.scores import is_logits, to_probabilities
from kzoo.saved import image_shape, load_saved, meta
from kzoo.train.evaluate import main_output
from kzoo.train.images import load
from kzoo.transfer import classifier_and_input, get_layer


def load_model(path: str | Path) -> Any:
    """A saved model: a ``.keras`` file or a run directory holding ``model.keras``."""

    return load_saved(path)


def load_image(path: str | Path, shape: tuple[int, ...], model: Any = None) -> np.ndarray:
    """An image file of any size and mode as the model's input: floats in [0, 1], resized (and padded) as the
    model's training data was (kzoo.train.images.load, with the padding the saved model records)."""

    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise SpecError(f"the model takes inputs of shape {shape}, not grey or RGB images")
    pad = int((meta(model).get("input") or {}).get("pad", 0)) if model is not None else 0
    return load(path, shape[:2], shape[-1], pad)


def filters(model: Any, layer: str, channel: int = 0) -> np.ndarray:
    """A conv layer's kernels as tiles: (filters, rows, cols, 3) in colour when the layer reads 3 channels,
    else (filters, rows, cols) for input channel ``channel``."""
    found = get_layer(model, layer, "--layer")
    kernels = [w for w in found.weights if w.path.endswith(("kernel", "weights"))]
    if not kernels or len(kernels[0].shape) != 4:
        raise SpecError(f"layer {layer!r} ({type(found).__name__}) has no 2-D convolution kernel")
    k = np.asarray(kernels[0])  # (rows, cols, in, out)
    if k.shape[2] == 3:
        return np.transpose(k, (3, 0, 1, 2))
    if not 0 <= channel < k.shape[2]:
        raise SpecError(f"channel {channel} out of range: {layer!r} reads {k.shape[2]} channels")
    return np.transpose(k[:, :, channel, :], (2, 0, 1))


def activations(model: Any, image: np.ndarray, layer: str) -> np.ndarray:
    """The feature maps of ``layer`` for one image: (maps, rows, cols) (a vector gives (units, 1, 1))."""

    found = get_layer(model, layer, "--layer")
    probe = keras.Model(model.input, found.output)
    out = np.asarray(probe(image[None], training=False))[0]
    if out.ndim == 1:
        return out[:, None, None]
    return np.transpose(out, (2, 0, 1))


def probabilities(model: Any, images: np.ndarray, batch: int = 256) -> np.ndarray:

    return to_probabilities(main_output(model.predict(images, batch_size=batch, verbose=0)), is_logits(model))


def occlusion(
    model: Any,
    image: np.ndarray,
    cls: int | None = None,
    size: int | None = None,
    stride: int | None = None,
    fill: float | None = None,
) -> dict[str, Any]:
    """Zeiler & Fergus (2014): slide a grey square over the image; p(class) and the top class at each position.

    ``cls`` defaults to the class the network gives the whole image; ``size``
    to a quarter of the side, ``stride`` to half the size; the square is the
    image's mean colour unless ``fill`` is given (Zeiler & Fergus' grey is the
    mean of their mean-subtracted images). Returns the maps (rows x cols of
    positions), the square's top-left pixels, and the unoccluded probability.
    """
    rows, cols = image.shape[:2]
    size = size or max(1, min(rows, cols) // 4)
    stride = stride or max(1, size // 2)
    if size < 1 or stride < 1:
        raise SpecError(f"occluder size and stride must be at least 1, got {size} and {stride}")
    if size > min(rows, cols):
        raise SpecError(f"occluder size {size} is larger than the image ({rows}x{cols})")
    base = probabilities(model, image[None])[0]
    cls = int(np.argmax(base)) if cls is None else int(cls)
    if not 0 <= cls < len(base):
        raise SpecError(f"class {cls} out of range: the model has {len(base)} classes")
    grey = image.mean(axis=(0, 1)) if fill is None else fill
    ys = list(range(0, rows - size + 1, stride))
    xs = list(range(0, cols - size + 1, stride))
    batch = np.repeat(image[None], len(ys) * len(xs), axis=0)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            batch[i * len(xs) + j, y : y + size, x : x + size] = grey
    probs = probabilities(model, batch).reshape(len(ys), len(xs), -1)
    return {
        "class": cls,
        "probability": float(base[cls]),
        "size": size,
        "stride": stride,
        "rows": ys,
        "cols": xs,
        "map": probs[..., cls],
        "top_class": probs.argmax(-1),
    }


def logit_model(model: Any) -> Any:
    """A function image batch -> class scores before the softmax (the classifier's pre-activation)."""

    top, features = classifier_and_input(model)
    below = keras.Model(model.input, features)
    if isinstance(top, keras.layers.Dense):
        kernel, bias = top.kernel, top.bias

        def scores(x):
            z = keras.ops.matmul(below(x, training=False), kernel)
            return z + bias if bias is not None else z

        return scores

    def log_probs(x):  # another classifier (e.g. LeNet's RBF units): log p(class)
        return keras.ops.log(model(x, training=False) + 1e-12)

    return log_probs


def dream(
    model: Any,
    cls: int,
    steps: int = 200,
    lr: float = 0.05,
    jitter: int = 2,
    blur_every: int = 4,
    l2: float = 1e-3,
    seed: int = 0,
) -> dict[str, Any]:
    """Class visualisation by gradient ascent on the input ("Inceptionism"; Simonyan et al. 2014).

    Start from faint noise around grey; each step rolls the image by a random
    jitter, climbs the normalised gradient of the class score, rolls back,
    decays towards grey (L2), and every ``blur_every`` steps blurs it a little
    (the natural-image prior). Returns the image and the class score before
    and after.
    """

    require_tensorflow("class visualisation (dream)")
    shape = image_shape(model, "the model")
    classes = int(model.outputs[0].shape[-1])
    if not 0 <= cls < classes:
        raise SpecError(f"class {cls} out of range: the model has {classes} classes")
    scores = logit_model(model)
    rng = np.random.default_rng(seed)
    x = tf.Variable((0.5 + 0.05 * rng.standard_normal((1, *shape))).astype("float32"))
    blur = np.outer([1, 2, 1], [1, 2, 1]).astype("float32") / 16
    blur = tf.constant(np.tile(blur[:, :, None, None], (1, 1, shape[-1], 1)))
    start = float(scores(x)[0, cls])
    trace = [start]
    for step in range(steps):
        dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, 2)) if jitter else (0, 0)
        x.assign(tf.roll(x, (dy, dx), (1, 2)))
        with tf.GradientTape() as tape:
            score = scores(x)[0, cls]
        g = tape.gradient(score, x)
        x.assign_add(lr * g / (tf.reduce_mean(tf.abs(g)) + 1e-8) / 100)
        x.assign(tf.roll(x, (-dy, -dx), (1, 2)))
        x.assign(0.5 + (x - 0.5) * (1 - l2))
        if blur_every and (step + 1) % blur_every == 0:
            padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")  # no dark frame
            x.assign(tf.nn.depthwise_conv2d(padded, blur, [1, 1, 1, 1], "VALID") * 0.5 + x * 0.5)
        x.assign(tf.clip_by_value(x, 0.0, 1.0))
        if (step + 1) % 10 == 0:
            trace.append(float(scores(x)[0, cls]))
    end = float(scores(x)[0, cls])
    return {"class": cls, "image": np.asarray(x[0]), "score_start": start, "score_end": end, "trace": trace}
