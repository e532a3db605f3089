"""Every architecture in the zoo: static analysis vs the built Keras model,
and the architectures keras.applications also has, against it."""

from __future__ import annotations

import numpy as np
import pytest

import kzoo
from kzoo.graph import analyse
from kzoo.ops import ACTIVATIONS, INITIALIZERS
from kzoo.zoo import find, list_architectures

ARCHS = list_architectures()
# kzoo name -> keras.applications constructor with the same layer names and weights.
KERAS_APPLICATIONS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
    "resnet50_v2": "ResNet50V2",
    "resnet101_v2": "ResNet101V2",
    "resnet152_v2": "ResNet152V2",
}
BIG = {
    "vgg16",
    "vgg19",
    "vgg11",
    "vgg11_lrn",
    "vgg13",
    "vgg16c",
    "alexnet",
    "alexnet_owt",
    "resnet101",
    "resnet152",
    "resnet101_v2",
    "resnet152_v2",
    "inception_v3",
}


def test_reference_table_names_real_architectures():
    assert set(KERAS_APPLICATIONS) <= set(ARCHS) and BIG <= set(ARCHS)


def test_every_file_is_named_after_itself_and_names_its_paper():
    for name in ARCHS:
        graph = analyse(find(name))
        assert graph.name == name, f"{find(name)} declares name {graph.name}"
        assert graph.meta["paper"], f"{name} must name its paper"


def test_aliases_resolve_to_the_family_default():
    assert find("resnet").name == "resnet50.yaml"
    assert find("vgg").name == "vgg16.yaml"
    with pytest.raises(kzoo.SpecError, match="unknown architecture 'resnet5'") as e:
        find("resnet5")
    assert "resnet50" in e.value.hint


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in ARCHS])
def test_static_analysis_equals_keras(name):
    import keras

    graph = analyse(find(name))
    model = kzoo.build(graph)
    totals = graph.totals()
    assert model.count_params() == totals["params"]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == totals["trainable_params"]
    outputs = model.outputs
    for out, node_name in zip(outputs, graph.outputs, strict=True):
        assert tuple(out.shape[1:]) == graph.nodes[node_name].shape  # None where any size goes
    for node in graph.nodes.values():
        layer = model.get_layer(node.name)
        assert tuple(layer.output.shape[1:]) == node.shape, node.name
        if node.op in ("conv", "dense"):  # build.py decides nothing: the layer has the node's init and activation
            assert _init_config(layer.kernel_initializer) == _init_config(_make(INITIALIZERS, node.args.init))
            assert _init_config(layer.bias_initializer) == _init_config(_make(INITIALIZERS, node.args.bias_init))
            want = keras.activations.get(_make(ACTIVATIONS, node.args.activation))
            assert keras.activations.serialize(layer.activation) == keras.activations.serialize(want)
            assert layer.use_bias == node.args.use_bias


def _make(registry, spec):
    return registry.get(spec.name).make(dict(spec.args))


def _init_config(init):
    import keras

    return keras.initializers.serialize(init)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in sorted(KERAS_APPLICATIONS)]
)
def test_same_layers_and_weights_as_keras_applications(name):
    import keras

    ref = getattr(keras.applications, KERAS_APPLICATIONS[name])(weights=None)
    ours = kzoo.load(name)
    assert ours.count_params() == ref.count_params()
    ref_weights = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in ref.layers if layer.weights}
    our_weights = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in ours.layers if layer.weights}
    assert our_weights == ref_weights


def test_lenet5_has_the_papers_60000_trainable_parameters():
    graph = analyse(find("lenet5"))  # the default is the published network: RBF outputs
    per_layer = {n: graph.nodes[n].stats.trainable for n in ("c1", "s2", "c3", "s4", "c5", "f6")}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}
    assert graph.totals()["trainable_params"] == 60_000
    assert analyse(find("lenet5"), {"output": "softmax"}).totals()["trainable_params"] == 60_850  # a dense output


def test_paper_parameter_counts():
    # GoogLeNet: Szegedy et al. 2014 (Caffe bvlc_googlenet); ResNet without conv bias: torchvision.
    assert analyse(find("googlenet")).totals()["params"] == 13_378_280
    assert analyse(find("googlenet"), {"include_aux": False}).totals()["params"] == 6_998_552
    torchvision = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
    for depth, count in torchvision.items():
        assert analyse(find(f"resnet{depth}"), {"conv_bias": False}).totals()["trainable_params"] == count


def test_resnet_multiply_adds_match_the_paper():
    # He et al. 2016, Table 1: FLOPs (multiply-adds) at 224x224.
    paper = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}
    for depth, madds in paper.items():
        got = analyse(find(f"resnet{depth}")).totals()["madds"]
        assert got == pytest.approx(madds, rel=0.035), depth


def test_vgg16_multiply_adds():
    assert analyse(find("vgg16")).totals()["madds"] == pytest.approx(15.5e9, rel=0.01)


def test_load_with_params_and_input_shape():
    model = kzoo.load("resnet", depth=18, classes=10, input_shape=(64, 64, 3))
    assert model.output.shape[-1] == 10 and tuple(model.input.shape[1:]) == (64, 64, 3)
    assert "conv5_block2_out" in [layer.name for layer in model.layers]


def test_googlenet_has_two_auxiliary_outputs_removable_by_option():
    graph = analyse(find("googlenet"))
    assert graph.outputs == ["loss3_classifier", "aux1_classifier", "aux2_classifier"]
    assert analyse(find("googlenet"), {"include_aux": False}).outputs == ["loss3_classifier"]


def test_include_top_false_and_pooling_as_keras_applications():
    model = kzoo.load("resnet50", include_top=False, pooling="avg")
    assert tuple(model.output.shape[1:]) == (2048,)
    assert model.count_params() == 23_587_712  # keras.applications.ResNet50(include_top=False)
    model = kzoo.load("vgg16", include_top=False, pooling="max", input_shape=(64, 64, 3))
    assert tuple(model.output.shape[1:]) == (512,)
    with pytest.raises(kzoo.SpecError, match="only with include_top=False"):
        kzoo.load("vgg16", pooling="avg")
    with pytest.raises(kzoo.SpecError, match="pooling=.mean. is not valid"):
        kzoo.load("vgg16", include_top=False, pooling="mean")


def test_features_only_returns_every_stage():
    model = kzoo.load("resnet18", features_only=True, input_shape=(64, 64, 3))
    shapes = [tuple(o.shape[1:]) for o in model.outputs]
    assert shapes == [(32, 32, 64), (16, 16, 64), (8, 8, 128), (4, 4, 256), (2, 2, 512)]
    for name in ARCHS:
        graph = analyse(find(name))
        if graph.meta["task"] == "classification":  # every classifier can be a backbone
            assert graph.features, f"{name} must declare features:"


def test_input_size_too_small_is_a_clear_error():
    with pytest.raises(kzoo.SpecError, match="output would be") as e:
        kzoo.load("vgg16", input_shape=(16, 16, 3))
    assert e.value.file.endswith("vgg.yaml")


def test_classifier_activation_none_gives_logits():
    model = kzoo.load("lenet5_modern", classifier_activation=None)
    assert model.get_layer("predictions").get_config()["activation"] == "linear"


def test_weights_from_a_file_and_imagenet_errors(tmp_path):
    src = kzoo.load("lenet5_modern")
    path = tmp_path / "w.weights.h5"
    src.save_weights(path)
    again = kzoo.load("lenet5_modern", weights=str(path))
    for a, b in zip(src.weights, again.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(kzoo.SpecError, match="no such file"):
        kzoo.load("lenet5_modern", weights=str(tmp_path / "missing.h5"))
    with pytest.raises(kzoo.SpecError, match="lenet5 has no released weights"):
        kzoo.load("lenet5", weights="imagenet")
    with pytest.raises(kzoo.SpecError, match="need classes=1000"):
        kzoo.load("resnet50", classes=10, weights="imagenet")


def test_alexnet_and_vgg_paper_counts():
    counts = {
        "alexnet": 60_965_224,
        "alexnet_owt": 61_100_840,
        "vgg11": 132_863_336,
        "vgg11_lrn": 132_863_336,
        "vgg13": 133_047_848,
        "vgg16c": 133_638_952,
        "vgg16": 138_357_544,
        "vgg19": 143_667_240,
    }
    for name, count in counts.items():
        assert analyse(find(name)).totals()["params"] == count, name


def test_published_multiply_adds():
    assert analyse(find("inception_v3")).totals()["madds"] == pytest.approx(5.7e9, rel=0.01)
    assert analyse(find("googlenet"), {"include_aux": False}).totals()["madds"] == pytest.approx(1.5e9, rel=0.06)


def _online() -> bool:
    import socket

    try:
        socket.getaddrinfo("storage.googleapis.com", 443)
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(_online(), reason="online: the ImageNet download would succeed (this tests the offline error)")
def test_imagenet_weights_offline_is_a_clear_error():
    with pytest.raises(
        kzoo.KzooError, match="could not get the ImageNet weights of ResNet50 through keras.applications"
    ) as info:
        kzoo.load("resnet50", weights="imagenet")
    assert "models/resnet50_weights_tf_dim_ordering_tf_kernels.h5" in info.value.hint  # where a copy is picked up


def test_a_param_override_names_the_variant():
    from kzoo.zoo import resolve_source

    assert analyse(resolve_source("resnet"), {"depth": 101}).name == "resnet101"
    assert analyse(resolve_source("vgg16"), {"config": "E"}).name == "vgg19"
    assert analyse(resolve_source("alexnet"), {"form": "owt"}).name == "alexnet_owt"
    assert analyse(resolve_source("resnet50_v2"), {"depth": 152}).name == "resnet152_v2"
