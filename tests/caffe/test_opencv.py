"""The Caffe bridge against an independent Caffe runtime: OpenCV's dnn module runs the original definitions.

For each released definition: import it, build it, give it random weights (random batch-norm statistics
too), export them as a .caffemodel (no --like: the imported file keeps the Caffe names), run OpenCV on the
*authors'* prototxt with that file, and compare on
random inputs; then import again with --weights and get the same Keras outputs. kzoo-native models are
exported with their own prototxt and run by OpenCV the same way.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import caffe_definition, opencv_forward, randomize, relative_difference
from nets import TRICKY

pytest.importorskip("cv2", reason="opencv-python-headless (<5) comes with the test extras")
pytestmark = pytest.mark.slow
TOLERANCE = 1e-4


def _images(shape, seed=1, scale=1.0):
    return (np.random.default_rng(seed).uniform(0, 1, (2, *shape)) * scale).astype("float32")


def _roundtrip(prototxt, tmp_path, scale=1.0, logits=False):
    from kzoo.caffe.bridge import export_caffe, import_caffe
    from kzoo.zoo import load

    done = import_caffe(prototxt, tmp_path / "net.yaml")
    model = load(str(tmp_path / "net.yaml"))
    randomize(model)
    export_caffe(model, tmp_path / "net.caffemodel", tmp_path / "export.prototxt")  # the file's Caffe names
    x = _images(model.input_shape[1:], scale=scale)
    ours = model.predict(x, verbose=0)
    theirs = opencv_forward(prototxt, tmp_path / "net.caffemodel", x)
    difference = relative_difference(ours, theirs)
    again = import_caffe(prototxt, tmp_path / "again.yaml", weights=tmp_path / "net.caffemodel")
    reloaded = load(str(tmp_path / "again.yaml"), weights=again["weights"])
    direct = load(str(tmp_path / "net.yaml"), weights=str(tmp_path / "net.caffemodel"))
    # The same weights in two model instances: equal but for the order oneDNN's threads sum in (a CI run once
    # differed in the last bits of AlexNet's 4096-wide dense layers), so to float32's resolution, not bit for bit.
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), ours, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(direct.predict(x, verbose=0), ours, rtol=1e-5, atol=1e-7)
    exported = opencv_forward(tmp_path / "export.prototxt", tmp_path / "net.caffemodel", x)
    return done, difference, relative_difference(ours, exported)


@pytest.mark.parametrize(
    "name, scale",
    [
        ("bvlc_lenet.prototxt", 1.0),
        ("bvlc_cifar10_quick.prototxt", 1.0),
        ("bvlc_alexnet.prototxt", 1.0),
        ("bvlc_reference_caffenet.prototxt", 1.0),
        ("bvlc_googlenet.prototxt", 1.0),
        ("he_resnet50.prototxt", 1.0),
    ],
)
def test_released_definition_computes_what_caffe_computes(name, scale, tmp_path):
    done, difference, exported = _roundtrip(caffe_definition(name), tmp_path, scale)
    assert difference <= TOLERANCE, f"{name}: {difference:.2e} relative to OpenCV's run of the authors' prototxt"
    assert exported <= TOLERANCE


def test_import_line_counts_meet_the_targets(tmp_path):
    from kzoo.caffe.bridge import import_caffe

    googlenet = import_caffe(caffe_definition("bvlc_googlenet.prototxt"), tmp_path / "g.yaml")
    assert googlenet["source_lines"] == 2157 and googlenet["lines"] <= 200
    assert googlenet["params"] == 6_998_552  # GoogLeNet without its auxiliary heads (the zoo's count)
    alexnet = import_caffe(caffe_definition("bvlc_alexnet.prototxt"), tmp_path / "a.yaml")
    assert alexnet["params"] == 60_965_224  # the published count, as the zoo's alexnet
    resnet = import_caffe(caffe_definition("he_resnet50.prototxt"), tmp_path / "r.yaml")
    assert resnet["source_lines"] == 2320 and resnet["lines"] <= 150
    assert resnet["params"] == 25_610_216  # keras.applications' ResNet50 less its conv biases, plus conv1's


def test_squeezenet_with_its_fire_block_computes_what_caffe_computes(tmp_path):
    from nets import squeezenet_v11

    path = tmp_path / "squeezenet.prototxt"
    path.write_text(squeezenet_v11())
    _, difference, exported = _roundtrip(path, tmp_path)
    assert difference <= TOLERANCE and exported <= TOLERANCE


def test_every_supported_layer_kind_computes_what_caffe_computes(tmp_path):
    path = tmp_path / "tricky.prototxt"
    path.write_text(TRICKY)
    _, difference, exported = _roundtrip(path, tmp_path)
    assert difference <= TOLERANCE and exported <= TOLERANCE


@pytest.mark.parametrize("name", ["lenet5_modern", "vgg16", "resnet18"])
def test_native_models_run_in_opencv(name, tmp_path):
    from kzoo.caffe.bridge import export_caffe
    from kzoo.zoo import load

    model = load(name, classifier_activation=None) if name != "lenet5_modern" else load(name)
    randomize(model)
    export_caffe(model, tmp_path / "m.caffemodel", tmp_path / "m.prototxt")
    x = _images(model.input_shape[1:])
    difference = relative_difference(
        model.predict(x, verbose=0), opencv_forward(tmp_path / "m.prototxt", tmp_path / "m.caffemodel", x)
    )
    assert difference <= TOLERANCE, f"{name}: {difference:.2e}"


def test_keras_layers_caffe_lacks_a_way_round(tmp_path):
    """Same padding that pads more after than before, pooling Keras rounds down, zero padding, normalisation."""
    import keras

    from kzoo.caffe.bridge import export_caffe

    x_in = keras.Input((15, 14, 3))
    x = keras.layers.Normalization(mean=[0.4, 0.5, 0.6], variance=[0.04, 0.09, 0.01])(x_in)
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.ZeroPadding2D(((0, 1), (2, 1)))(x)
    x = keras.layers.MaxPooling2D(3, 2)(x)
    x = keras.layers.Conv2D(5, 4, strides=2, padding="same")(x)
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(x_in, out)
    randomize(model)
    export_caffe(model, tmp_path / "k.caffemodel", tmp_path / "k.prototxt")
    x = _images((15, 14, 3))
    assert (
        relative_difference(
            model.predict(x, verbose=0), opencv_forward(tmp_path / "k.prototxt", tmp_path / "k.caffemodel", x)
        )
        <= TOLERANCE
    )


def test_bias_exports_as_a_scale_opencv_runs(tmp_path):
    from nets import BIAS

    from kzoo.caffe.bridge import export_caffe, import_caffe
    from kzoo.zoo import load

    (tmp_path / "b.prototxt").write_text(BIAS)
    import_caffe(tmp_path / "b.prototxt", tmp_path / "b.yaml")
    model = load(str(tmp_path / "b.yaml"))
    randomize(model)
    export_caffe(model, tmp_path / "b.caffemodel", tmp_path / "export.prototxt")
    x = _images((5, 5, 3))
    theirs = opencv_forward(tmp_path / "export.prototxt", tmp_path / "b.caffemodel", x)
    assert relative_difference(model.predict(x, verbose=0), theirs) <= TOLERANCE


def test_a_layer_caffe_lacks_is_named(tmp_path):
    import keras

    from kzoo.caffe.bridge import export_caffe
    from kzoo.errors import KzooError

    x_in = keras.Input((8, 8, 3))
    model = keras.Model(x_in, keras.layers.UpSampling2D(name="up")(x_in))
    with pytest.raises(KzooError, match="'up' \\(UpSampling2D\\)"):
        export_caffe(model, tmp_path / "u.caffemodel")
    assert not (tmp_path / "u.caffemodel").exists()
