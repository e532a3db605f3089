"""Weight porting from keras.applications: same outputs after the port."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import randomize

import kzoo
from kzoo.errors import KzooError
from kzoo.transfer import adapt_kernel, port_weights
from kzoo.zoo import architectures_with_weights


def imagenet_architectures():
    return architectures_with_weights("keras_applications")


def reference_name(name):
    from kzoo.zoo import file_releases

    return next(r.model for r in file_releases(name) if r.kind == "keras_applications")


def test_the_imagenet_architectures_are_those_keras_applications_has():
    assert imagenet_architectures() == sorted(
        [
            "vgg16",
            "vgg19",
            "resnet50",
            "resnet101",
            "resnet152",
            "resnet50_v2",
            "resnet101_v2",
            "resnet152_v2",
            "inception_v3",
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", imagenet_architectures())
def test_port_from_keras_applications_gives_the_same_outputs(name):
    import keras

    ref = getattr(keras.applications, reference_name(name))(weights=None, classifier_activation=None)
    randomize(ref)
    ours = kzoo.load(name, classifier_activation=None)
    assert ours.count_params() == ref.count_params()
    port_weights(ref, ours)
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, *ours.input.shape[1:])).astype("float32")
    want, got = np.asarray(ref(x)), np.asarray(ours(x))
    assert np.abs(want).max() > 1e-2, "the logits must not be trivially small"
    assert np.abs(want - got).max() <= 1e-4


def test_port_refuses_a_different_architecture():
    a, b = kzoo.load("lenet5_modern"), kzoo.load("lenet5_modern", classes=7)
    with pytest.raises(KzooError, match="does not match layer 'predictions'"):
        port_weights(a, b)
    with pytest.raises(KzooError, match="layers with weights"):
        port_weights(kzoo.load("lenet5_modern"), kzoo.load("resnet18", input_shape=(32, 32, 3)))


def test_port_between_kzoo_models_and_channel_adaptation():
    src = kzoo.load("resnet18", input_shape=(64, 64, 3), classes=5)
    randomize(src)
    grey = kzoo.load("resnet18", input_shape=(64, 64, 1), classes=5)
    port_weights(src, grey, adapt_channels=True)
    x = np.random.default_rng(2).normal(size=(2, 64, 64, 1)).astype("float32")
    # A grey image through the adapted net = the same image in R, G and B through the original.
    np.testing.assert_allclose(np.asarray(grey(x)), np.asarray(src(np.repeat(x, 3, axis=-1))), rtol=1e-4, atol=1e-5)
    with pytest.raises(KzooError, match="does not match"):
        port_weights(src, kzoo.load("resnet18", input_shape=(64, 64, 1), classes=5))


def test_adapt_kernel_keeps_the_response_to_equal_channels():
    k = np.random.default_rng(3).normal(size=(3, 3, 3, 4))
    assert adapt_kernel(k, 1).shape == (3, 3, 1, 4)
    np.testing.assert_allclose(adapt_kernel(k, 1)[:, :, 0], k.sum(axis=2))
    six = adapt_kernel(k, 6)
    assert six.shape == (3, 3, 6, 4)
    np.testing.assert_allclose(six.sum(axis=2), k.sum(axis=2))
    assert adapt_kernel(k, 5).shape == (3, 3, 5, 4)
