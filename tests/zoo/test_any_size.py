"""Inputs of any size (rows and cols None) and input_tensor=, as keras.applications, timm and torchvision take them."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import write_image_folder

import kzoo
from kzoo.errors import KzooError, SpecError
from kzoo.report import summary_dict, summary_text
from kzoo.saved import image_shape, save_atomic, set_meta

ANY = [None, None, 3]


def test_static_analysis_carries_none_with_exact_params_and_madds_at_the_example_size():
    fixed = kzoo.analyse("resnet50", {"include_top": False})
    free = kzoo.analyse("resnet50", {"include_top": False, "input": ANY})
    assert free.any_size and free.input_shape == (None, None, 3) and free.example_shape == (224, 224, 3)
    assert free.totals() == fixed.totals()  # params exact; multiply-adds those of the example size (224x224)
    last = free.nodes[free.outputs[0]]
    assert last.shape == (None, None, 2048) and last.stats.out.shape == (7, 7, 2048)
    assert summary_dict(free)["outputs"][0]["shape"] == [None, None, 2048]
    assert "at 224x224" in summary_text(free) and "per input pixel" in summary_text(free)
    rows_only = kzoo.analyse("resnet50", {"include_top": False, "input": [None, 160, 3]})
    assert rows_only.nodes[rows_only.outputs[0]].shape == (None, 5, 2048)


def test_the_example_size_is_the_files_own_size_or_its_example_size(tmp_path):
    assert kzoo.analyse("inception_v3", {"include_top": False, "input": ANY}).example_shape == (299, 299, 3)
    f = tmp_path / "net.yaml"
    f.write_text(
        "name: net\ninput: [null, null, 3]\nexample_size: [64, 48]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n"
    )
    g = kzoo.analyse(str(f))
    assert g.example_shape == (64, 48, 3) and g.nodes[g.outputs[0]].shape == (None, None, 4)
    assert g.totals()["madds"] == 62 * 46 * 4 * 27
    f.write_text("name: net\ninput: [null, null, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n")
    assert kzoo.analyse(str(f)).example_shape == (224, 224, 3)


def test_a_layer_whose_weights_depend_on_the_size_is_located():
    with pytest.raises(SpecError) as err:
        kzoo.load("vgg16", input_shape=(None, None, 3))
    text = str(err.value)
    assert "'fc1'" in text and "vgg.yaml" in text and "depend on the input size" in text
    assert "pooling='avg'" in (err.value.hint or "")


@pytest.mark.parametrize("shape", [(None, None, None), (None, 3), (0, None, 3), ("x", None, 3)])
def test_channels_and_other_dims_must_be_sizes(shape):
    with pytest.raises(KzooError, match="input"):
        kzoo.analyse("resnet18", {"input": list(shape)})


def test_resnet_of_any_size_matches_keras_applications_shapes():
    ours = kzoo.load("resnet50", input_shape=(None, None, 3), include_top=False)
    theirs = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(None, None, 3))
    assert ours.output_shape == theirs.output_shape == (None, None, None, 2048)
    for rows, cols in ((97, 131), (224, 224), (320, 200)):
        x = np.zeros((1, rows, cols, 3), "float32")
        assert ours(x).shape == theirs(x).shape


def test_a_model_of_any_size_computes_what_the_fixed_one_does():
    free = kzoo.load("googlenet", input_shape=(None, None, 3), include_top=False, include_aux=False)
    fixed = kzoo.load("googlenet", include_top=False, include_aux=False)
    fixed.set_weights(free.get_weights())
    x = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    np.testing.assert_allclose(free(x), fixed(x), rtol=1e-5, atol=1e-5)
    assert free(np.zeros((1, 150, 181, 3), "float32")).shape == (1, 4, 5, 1024)


@pytest.mark.parametrize(
    "kind,pool,stride,pad,ceil", [("max", 3, 2, 0, True), ("avg", 3, 2, 1, True), ("max", 3, 1, 1, False)]
)
def test_caffe_pooling_with_unknown_sizes_equals_the_static_layer(kind, pool, stride, pad, ceil):
    from kzoo.keras.caffe import Pooling2D

    layer = Pooling2D(kind, pool, stride, pad, ceil)
    graph_fn = tf.function(layer, input_signature=[tf.TensorSpec([None, None, None, 2])])  # sizes unknown
    rng = np.random.default_rng(1)
    for rows, cols in ((7, 8), (13, 13), (14, 9)):
        x = rng.standard_normal((1, rows, cols, 2)).astype("float32")
        static = Pooling2D(kind, pool, stride, pad, ceil)(x)
        np.testing.assert_allclose(graph_fn(x), static, rtol=1e-6)
        assert static.shape[1:3] == layer.compute_output_shape((1, rows, cols, 2))[1:3]


def test_input_tensor_is_the_input_and_its_shape_the_input_shape():
    source = keras.Input((None, None, 3))
    scaled = keras.layers.Rescaling(1 / 255)(source)
    model = kzoo.load("resnet18", input_tensor=scaled, include_top=False, pooling="avg")
    assert model.inputs[0] is source and model.output_shape == (None, 512)
    assert kzoo.load("lenet5", input_tensor=keras.Input((32, 32, 1))).output_shape[-1] == 10
    with pytest.raises(SpecError, match="Keras tensor"):
        kzoo.load("resnet18", input_tensor=np.zeros((1, 32, 32, 3)))
    with pytest.raises(SpecError, match="differs from input_tensor"):
        kzoo.load("resnet18", input_tensor=keras.Input((64, 64, 3)), input_shape=(32, 32, 3))


def test_predict_prepares_images_to_the_size_a_model_of_any_size_records(tmp_path):
    model = kzoo.load("resnet18", input_shape=(None, None, 3), classes=2)
    with pytest.raises(SpecError, match="any size"):
        image_shape(model, "the model")
    set_meta(model, {"input": {"size": [40, 48], "channels": 3, "pad": 0}, "class_names": ["cat", "dog"]})
    assert image_shape(model, "the model") == (40, 48, 3)
    saved = tmp_path / "free.keras"
    save_atomic(model, saved)
    write_image_folder(tmp_path / "imgs", per_class=2)
    result = kzoo.predict(saved, [tmp_path / "imgs"], top=1)
    assert len(result["predictions"]) == 4 and result["classes"] == ["cat", "dog"]


def test_a_model_with_two_inputs_is_refused_by_name():
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    two = keras.Model([a, b], keras.layers.Add()([a, b]))
    with pytest.raises(SpecError, match="2 inputs"):
        image_shape(two, "the model")
