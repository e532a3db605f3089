"""The zoo files and the authors' Caffe releases: declared names, params and input transforms."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import caffe_definition, opencv_forward, randomize, relative_difference

from kzoo.caffe.declaration import declaration
from kzoo.caffe.importer import kzoo_name
from kzoo.caffe.reader import read_net
from kzoo.graph import analyse
from kzoo.zoo import architectures_with_weights, file_releases, release_params, resolve_source

WEIGHTED = {"conv", "dense", "batchnorm"}


def _rules(name):
    return declaration(next(r for r in file_releases(name) if r.kind == "caffe"))


def _weighted(name, **params):
    graph = analyse(resolve_source(name), {**release_params(name, "x.caffemodel"), **params})
    return [n for n, node in graph.nodes.items() if node.op in WEIGHTED]


def test_the_zoo_files_with_releases():
    assert set(architectures_with_weights("caffe")) == {
        "alexnet", "googlenet", "vgg16", "vgg19", "resnet50", "resnet101", "resnet152",
    }  # fmt: skip


@pytest.mark.parametrize(
    "name, prototxt, params",
    [
        ("googlenet", "bvlc_googlenet.prototxt", {"include_aux": False}),
        ("alexnet", "bvlc_alexnet.prototxt", {}),
        ("resnet50", "he_resnet50.prototxt", {}),
    ],
)
def test_every_weighted_layer_has_its_caffe_layer(name, prototxt, params):
    rules = _rules(name).names
    caffe = {kzoo_name(layer.name) for layer in read_net(caffe_definition(prototxt)).layers}
    missing = [n for n in _weighted(name, **params) if kzoo_name(rules(n)) not in caffe]
    assert not missing


def test_name_rules_of_the_releases_we_do_not_ship():
    vgg = _rules("vgg16").names
    assert [vgg(n) for n in _weighted("vgg16")] == [
        "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2",
        "conv4_3", "conv5_1", "conv5_2", "conv5_3", "fc6", "fc7", "fc8",
    ]  # fmt: skip
    deep = _rules("resnet101").names
    assert deep("conv4_block23_3_conv") == "res4b22_branch2c" and deep("conv4_block1_0_bn") == "bn4a_branch1"
    assert deep("conv2_block3_2_conv") == "res2c_branch2b" and deep("conv5_block3_1_bn") == "bn5c_branch2a"
    assert deep("conv3_block4_1_conv") == "res3b3_branch2a"
    assert _rules("resnet152").names("conv3_block8_3_conv") == "res3b7_branch2c"
    assert _rules("googlenet").names("aux2_fc") == "loss2_fc"


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, prototxt, params",
    [
        ("googlenet", "bvlc_googlenet.prototxt", {"include_aux": False}),
        ("alexnet", "bvlc_alexnet.prototxt", {}),
        ("resnet50", "he_resnet50.prototxt", {}),
    ],
)
def test_the_zoo_file_computes_what_the_authors_prototxt_computes(name, prototxt, params, tmp_path):
    """Zoo file + the release's params, random weights, exported under the release's names: OpenCV on the
    authors' prototxt gives the same outputs, and kzoo.load(weights=FILE.caffemodel) reads them back."""
    pytest.importorskip("cv2", reason="opencv-python-headless (<5) comes with the test extras")
    from kzoo.caffe.bridge import export_caffe
    from kzoo.zoo import load

    reference = caffe_definition(prototxt)
    model = load(name, **release_params(name, "x.caffemodel"), **params)
    randomize(model)
    export_caffe(model, tmp_path / "w.caffemodel", like=reference)
    x = np.random.default_rng(3).uniform(0, 1, (2, *model.input_shape[1:])).astype("float32")
    ours = model.predict(x, verbose=0)
    assert relative_difference(ours, opencv_forward(reference, tmp_path / "w.caffemodel", x)) <= 1e-4
    again = load(name, weights=str(tmp_path / "w.caffemodel"), **params)  # the release's params set by load
    assert np.array_equal(again.predict(x, verbose=0), ours)


@pytest.mark.slow
def test_the_paper_alexnet_differs_from_the_release(tmp_path):
    import keras

    from kzoo.zoo import load

    keras.utils.set_random_seed(0)
    paper, release = load("alexnet"), load("alexnet", lrn="caffe")
    randomize(paper)
    release.set_weights(paper.get_weights())
    x = np.random.default_rng(0).uniform(0, 255, (2, 227, 227, 3)).astype("float32")
    # pool5: the features after both LRNs (the softmax of random weights is too flat to tell much)
    a, b = (keras.Model(m.input, m.get_layer("pool5").output).predict(x, verbose=0) for m in (paper, release))
    assert relative_difference(a, b) > 0.1


@pytest.mark.slow
def test_the_caffe_front_takes_rgb_images_in_zero_one(tmp_path):
    """front(model) with the Caffe release on RGB [0, 1] images equals the raw model on BGR 0-255 images less
    the mean."""
    from kzoo.pretrained import front
    from kzoo.zoo import load

    graph = analyse(resolve_source("alexnet"), {"lrn": "caffe", "classes": 10, "input": [67, 67, 3]})
    from kzoo.builder import build_graph

    model = build_graph(graph)
    randomize(model)
    fronted = front(model, graph, next(r for r in file_releases("alexnet") if r.kind == "caffe"))
    rgb = np.random.default_rng(0).uniform(0, 1, (2, 67, 67, 3)).astype("float32")
    bgr = rgb[..., ::-1] * 255 - np.array([104.0, 116.7, 122.7], "float32")
    assert relative_difference(model.predict(bgr, verbose=0), fronted.predict(rgb, verbose=0)) < 1e-4
    del load


@pytest.mark.slow
def test_finetune_source_name_with_a_caffemodel(tmp_path):
    """finetune --from alexnet:FILE.caffemodel builds the release's network (lrn caffe) with those weights."""
    from kzoo.caffe.bridge import export_caffe
    from kzoo.train.finetune import load_source
    from kzoo.zoo import load

    release = load("alexnet", lrn="caffe", classes=10)
    randomize(release)
    export_caffe(release, tmp_path / "a.caffemodel")
    model, graph, found = load_source(f"alexnet:{tmp_path / 'a.caffemodel'}", {"classes": 10})
    assert graph.meta["params"]["lrn"] == "caffe" and found.kind == "caffe"  # the release whose layout it has
    for a, b in zip(model.get_weights(), release.get_weights(), strict=True):
        assert np.array_equal(a, b)
