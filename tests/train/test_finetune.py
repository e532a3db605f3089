"""Fine-tuning: kzoo.transfer's cut/freeze/attach_head/unfreeze, ImageNet preprocessing, kzoo finetune."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import randomize, write_digit_folder

import kzoo
from conftest import run_kzoo, run_python
from kzoo.errors import SpecError
from kzoo.transfer import HEAD, attach_head, classifier, cut, freeze, head_model, select, unfreeze

TINY = """
name: tiny
input: [12, 12, 1]
params: {classes: 4}
layers:
  - conv: {name: c1, filters: 4, kernel: 3, use_bias: false}
  - batchnorm: {name: c1_bn}
  - activation: {name: c1_relu, fn: relu}
  - conv: {name: c2, filters: 6, kernel: 3, activation: relu}
  - flatten: {name: flatten}
  - dense: {name: f3, units: 16, activation: relu}
  - dense: {name: predictions, units: $classes, activation: softmax}
"""


@pytest.fixture
def tiny(write):
    return kzoo.build(write(TINY, "tiny.yaml"))


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.5, 1.0, (n, 12, 12, 1)).astype("float32"), rng.integers(0, 3, n)


def _weights(model):
    return {w.path: np.array(w) for w in model.weights}


def _fit(model, x, y, epochs=2):
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)


def test_cut_defaults_to_the_classifiers_input():
    lenet = kzoo.load("lenet5_modern")
    assert classifier(lenet).name == "predictions"
    assert tuple(cut(lenet).output.shape) == (None, 84)
    rbf = kzoo.load("lenet5", output="rbf")  # RBF units, then a softmax activation layer
    assert classifier(rbf).name == "rbf" and tuple(cut(rbf).output.shape) == (None, 84)
    resnet = kzoo.load("resnet18", input_shape=(64, 64, 3))
    assert tuple(cut(resnet).output.shape) == (None, 512)  # the pooled features
    assert tuple(cut(resnet, "conv4_block2_out").output.shape) == (None, 4, 4, 256)


def test_wrong_names_are_clear_errors_with_nearby_names(tiny):
    with pytest.raises(SpecError, match="no layer 'f4'") as err:
        cut(tiny, "f4")
    assert "f3" in str(err.value)
    with pytest.raises(SpecError, match="no layer or scope 'c3'") as err:
        select(tiny, "c3")
    assert "c1" in str(err.value) or "c2" in str(err.value)
    with pytest.raises(SpecError, match="last:N"):
        select(tiny, "last:0")
    with pytest.raises(SpecError) as err:
        head_model("- dense: {units: $classes}\n- dense: {unit: 3}\n", (16,), 3)
    assert "<head>:2:" in str(err.value) and "unit" in str(err.value)  # line and column of the head's YAML


def test_select_by_scope_and_last_n(tiny):
    assert [layer.name for layer in select(tiny, "c1")] == ["c1", "c1_bn", "c1_relu"]
    assert [layer.name for layer in select(tiny, "c2,f3")] == ["c2", "f3"]
    assert [layer.name for layer in select(tiny, "last:2")] == ["f3", "predictions"]
    assert [layer.name for layer in select(tiny, "last:3")] == ["c2", "flatten", "f3", "predictions"]


def test_default_head_pools_feature_maps(tiny):
    net = attach_head(freeze(cut(tiny, "c2")), classes=3)
    head = net.get_layer(HEAD)
    assert [type(layer).__name__ for layer in head.layers[1:]] == ["GlobalAveragePooling2D", "Dense"]
    assert tuple(net.output.shape) == (None, 3)


def test_a_frozen_backbone_keeps_its_weights_and_batchnorm_statistics_while_the_head_learns(tiny):
    x, y = _data()
    _fit(tiny, x, y, epochs=1)  # "pretrain": moving statistics move away from 0/1
    net = attach_head(freeze(cut(tiny)), "[{dense: {units: 8, activation: relu}}, {dense: {units: $classes}}]", 3)
    before = _weights(net)
    _fit(net, x, y)
    after = _weights(net)
    head = {w.path for w in net.get_layer(HEAD).weights}
    for path, value in before.items():
        if path in head:
            assert not np.array_equal(value, after[path]), f"head weight {path} did not change"
        else:
            assert np.array_equal(value, after[path]), f"frozen weight {path} changed"
    assert any("moving_mean" in p for p in before)  # the batch-norm statistics were among the frozen weights


def test_staged_unfreezing_changes_exactly_the_layers_it_names(tiny):
    x, y = _data()
    net = attach_head(freeze(cut(tiny)), classes=3)
    _fit(net, x, y, epochs=1)
    named = unfreeze(net, "c1,f3")
    assert named == ["c1", "f3"]  # batch norm stays frozen (inference mode) by default
    before = {layer.name: layer.get_weights() for layer in net.layers}
    _fit(net, x, y)
    changed = {
        layer.name
        for layer in net.layers
        if any(not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights(), strict=True))
    }
    assert changed == {"c1", "f3", HEAD}
    assert unfreeze(net, "c1", batchnorm=True) == ["c1", "c1_bn"]


def test_a_fine_tuned_model_reloads_and_predicts_the_same(tiny, tmp_path):
    import keras

    from kzoo.saved import save_atomic

    x, y = _data()
    net = attach_head(freeze(cut(tiny)), classes=3)
    _fit(net, x, y, epochs=1)
    unfreeze(net, "last:2")
    _fit(net, x, y, epochs=1)
    save_atomic(net, tmp_path / "ft.keras")
    again = keras.saving.load_model(tmp_path / "ft.keras")
    np.testing.assert_array_equal(np.asarray(net.predict(x, verbose=0)), np.asarray(again.predict(x, verbose=0)))
    assert [w.name for w in again.trainable_weights] == [w.name for w in net.trainable_weights]


@pytest.mark.parametrize(
    ("name", "reference", "module"),
    [("resnet50", "ResNet50", "resnet"), ("resnet50_v2", "ResNet50V2", "resnet_v2")],
)
def test_imagenet_front_equals_keras_applications_preprocess_input(name, reference, module):
    """caffe mode (BGR, 0-255 minus the mean) and tf mode ([-1, 1]) as a Normalization layer in the model."""
    import keras

    from kzoo.graph import analyse
    from kzoo.pretrained import front
    from kzoo.transfer import port_weights
    from kzoo.zoo import file_releases, resolve_source

    ref = getattr(keras.applications, reference)(weights=None, include_top=False, input_shape=(64, 64, 3))
    randomize(ref)
    model = port_weights(ref, kzoo.load(name, include_top=False, input_shape=(64, 64, 3)))
    release = next(r for r in file_releases(name) if r.kind == "keras_applications")
    fronted = front(model, analyse(resolve_source(name), {"include_top": False, "input": [64, 64, 3]}), release)
    x = np.random.default_rng(1).uniform(0, 1, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(ref(getattr(keras.applications, module).preprocess_input(x * 255.0)))
    got = np.asarray(fronted(x))
    assert np.abs(expected - got).max() <= 1e-4 * max(1.0, np.abs(expected).max())


kzoo_cli = run_kzoo


@pytest.mark.slow
def test_finetune_cli_end_to_end_on_a_folder_of_images(tmp_path):
    quiet = ["--set", "verbose=0", "--set", "callbacks.tensorboard=false"]
    pre = kzoo_cli("train", "lenet5_modern", "--epochs", "3", "--output", tmp_path / "pre", *quiet)
    assert pre.returncode == 0, pre.stderr[-2000:]
    write_digit_folder(tmp_path / "photos")
    data = ["--data", f"folder:{tmp_path / 'photos'}", "--set", "data.validation_split=0.2"]
    data += ["--set", "data.test_split=0.25", "--batch-size", "8"]

    out = tmp_path / "ft"
    result = kzoo_cli(
        "finetune", "--from", tmp_path / "pre", *data, "--epochs", "4", "--unfreeze", "c5,f6", "--unfreeze-epochs",
        "3", "--output", out, *quiet,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["unfrozen"] == ["c5", "f6"] and results["epochs_run"] == 7
    for key in ("test_accuracy_head", "test_accuracy", "test_loss", "wall_seconds", "seed"):
        assert key in results
    assert results["test_accuracy"] > 0.6  # five digits: learnt (chance is 1/5)
    assert (out / "model.keras").is_file() and (out / "log.csv").is_file()
    assert len((out / "log.csv").read_text().strip().splitlines()) == 1 + 7  # both phases logged

    feats = kzoo_cli("finetune", "--from", out, *data, "--features", "--epochs", "5", "--output", tmp_path / "fx",
                     *quiet)  # fmt: skip
    assert feats.returncode == 0, feats.stderr[-3000:]
    assert json.loads((tmp_path / "fx" / "results.json").read_text())["mode"] == "features"

    check = run_python(f"""
        import json, kzoo, keras, numpy as np
        from kzoo.train.data import load_data
        from kzoo.train.recipe import DataSection
        m = keras.saving.load_model("{out / "model.keras"}")
        s = load_data(DataSection(source="folder:{tmp_path / "photos"}", validation_split=0.2, test_split=0.25),
                      (32, 32, 1))
        print(m.evaluate(s.test.batch(8), return_dict=True, verbose=0)["accuracy"])
    """)
    assert check.returncode == 0, check.stderr[-2000:]
    assert float(check.stdout.strip().splitlines()[-1]) == pytest.approx(results["test_accuracy"], abs=1e-6)

    bad = kzoo_cli("finetune", "--from", out, *data, "--unfreeze", "c9")
    assert bad.returncode == 2 and "no layer or scope 'c9'" in bad.stderr and "c5" in bad.stderr
    assert "Traceback" not in bad.stderr
