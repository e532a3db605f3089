"""Every release of the zoo, proved against the runtime it came from.

torchvision and timm releases: the reference model is built by torchvision or timm with seeded random
weights and randomised batch-norm statistics, saved in the release's own file format (a ``.pth`` state
dict; timm's ``.safetensors``), and loaded through kzoo's real paths: ``weights=FILE`` and, from a
pre-filled cache, ``weights=RELEASE``. Outputs must equal torch's within 1e-5 relative, and on a real
photo (scikit-learn's ``china.jpg``, decoded by Pillow) ``kzoo.predict("NAME:RELEASE")`` must name the
same top-5 ImageNet classes as torchvision's ``weights.transforms()`` plus the model. keras.applications
releases are proved in tests/zoo/test_transfer.py, Caffe releases against OpenCV in tests/caffe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo.lang.weights import Release
from kzoo.pretrained import SOURCES, download, imagenet_categories
from kzoo.zoo import file_releases, list_architectures

HERE = Path(__file__).parent
#: where each source kind's releases are proved (a kind without an entry fails the suite)
PROVED = {
    "torchvision": "here",
    "timm": "here",
    "keras_applications": "tests/zoo/test_transfer.py::test_port_from_keras_applications_gives_the_same_outputs",
    "caffe": "tests/caffe/test_zoo_caffe.py and tests/caffe/test_opencv.py (OpenCV's Caffe runtime)",
}


def releases() -> list[tuple[str, Release]]:
    return [(name, r) for name in list_architectures() for r in file_releases(name)]


def torch_releases() -> list[tuple[str, Release]]:
    return [(n, r) for n, r in releases() if r.kind in ("torchvision", "timm")]


@pytest.fixture(autouse=True)
def _release_models():
    """These tests build VGG-sized models in the suite's own process: each test's models are let go when it ends
    (Keras' session cleared, Python's cycles collected), so the process does not hold all of them (it reached
    19.5 GB here without this, 5.8 GB with it)."""
    yield
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def test_every_source_kind_and_release_is_proved():
    assert set(SOURCES.names()) == set(PROVED)
    assert {r.kind for _, r in releases()} <= set(PROVED)
    with_weights = {n for n, _ in releases()}
    classifiers = {n for n in list_architectures() if kzoo.analyse(n).meta["task"] == "classification"}
    # yolo_darknet: the authors' ImageNet weights are darknet's own binary format, which kzoo does not read
    assert with_weights == classifiers - {"lenet5", "lenet5_modern", "vgg11_lrn", "vgg16c", "yolo_darknet"}


def test_every_release_knows_its_transform_and_categories():
    for name, r in releases():
        assert r.crop and r.resize and r.resize >= r.crop, (name, r.name)
        assert len(r.input.mean) == len(r.input.std) == 3, (name, r.name)
        assert r.categories == "imagenet1k"
        if r.kind in ("torchvision", "timm"):
            assert r.url and r.url.startswith("https://"), (name, r.name)
            assert r.accuracy.top1 and r.accuracy.top5, (name, r.name)
    assert len(imagenet_categories()) == 1000 and len(set(imagenet_categories())) == 1000


def _reference(tmp: Path, name: str, release: Release, shape: tuple[int, ...]) -> tuple[Path, dict]:
    import sklearn.datasets  # scikit-learn ships two real photos

    photo = Path(sklearn.datasets.__file__).parent / "images" / "china.jpg"
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    np.save(tmp / "x.npy", x)
    builder = Path(release.url).name.split("-")[0].removesuffix("_google")  # vgg11_bn-6002323d.pth: vgg11_bn
    model = f"{name}.tv_in1k" if release.kind == "timm" else builder
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, str(HERE / "torch_reference.py"), release.kind, model, str(tmp), str(release.resize),
         str(release.crop), str(photo)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    suffix = ".safetensors" if release.kind == "timm" else ".pth"
    return tmp / f"weights{suffix}", {"x": x, "photo": photo, **dict(np.load(tmp / "reference.npz"))}


def _relative(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(np.abs(np.asarray(b)).max(), 1e-12))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "release"), torch_releases(), ids=lambda v: getattr(v, "name", v))
def test_a_torch_release_computes_what_torch_computes(name, release, tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="torch is a test extra: pip install -e '.[test]'")
    size = release.crop
    weights, ref = _reference(tmp_path, name, release, (size, size, 3))

    from_file = kzoo.load(name, weights=str(weights), classifier_activation=None)
    assert _relative(from_file(ref["x"], training=False), ref["raw"]) <= 1e-5

    cache = tmp_path / "cache"
    monkeypatch.setenv("KZOO_CACHE", str(cache))
    target = download.cached_path(release)
    target.parent.mkdir(parents=True)
    shutil.copy(weights, target)
    # The random file is not the published one: its hash cannot match the release's (tested on its own below).
    monkeypatch.setattr(download, "check_hash", lambda path, rel: None)
    from_cache = kzoo.load(name, weights=release.name, classifier_activation=None)
    assert _relative(from_cache(ref["x"], training=False), ref["raw"]) <= 1e-5

    result = kzoo.predict(f"{name}:{release.name}", [ref["photo"]], top=5)
    want = [imagenet_categories()[i] for i in ref["top5"]]
    assert [t["class"] for t in result["predictions"][0]["top"]] == want
    for big in (weights, target):  # VGG's files are 550 MB each: the disk is not the test's to fill
        big.unlink()


@pytest.mark.slow
def test_a_headless_model_keeps_the_release_weights(tmp_path):
    pytest.importorskip("torch", reason="torch is a test extra")
    release = next(r for r in file_releases("resnet18") if r.name == "torchvision")
    weights, ref = _reference(tmp_path, "resnet18", release, (224, 224, 3))
    whole = kzoo.load("resnet18", weights=str(weights))
    for kwargs in ({"include_top": False}, {"features_only": True}):
        part = kzoo.load("resnet18", weights=str(weights), **kwargs)
        layer = "conv5_block2_2_conv"
        np.testing.assert_array_equal(part.get_layer(layer).get_weights()[0], whole.get_layer(layer).get_weights()[0])


def test_a_cached_file_with_another_hash_is_refused_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("KZOO_CACHE", str(tmp_path))
    release = next(r for r in file_releases("resnet18") if r.name == "torchvision")
    path = download.cached_path(release)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not resnet18")
    with pytest.raises(kzoo.KzooError, match="sha256 does not start with f37072fd"):
        download.fetch(release)
    assert not path.exists()


def test_offline_the_error_names_the_url_and_the_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("KZOO_CACHE", str(tmp_path))
    release = next(r for r in file_releases("vgg11") if r.name == "torchvision")
    local = release.model_copy(update={"url": "http://127.0.0.1:9/vgg11-8a719046.pth"})  # nothing listens there
    with pytest.raises(kzoo.KzooError) as info:
        download.fetch(local)
    text = info.value.format()
    assert "127.0.0.1:9/vgg11-8a719046.pth" in text and str(download.cached_path(release)) in text
    assert not list(tmp_path.rglob("*.part"))


def test_release_names_and_their_errors():
    with pytest.raises(kzoo.SpecError, match="lenet5 has no released weights"):
        kzoo.load("lenet5", weights="imagenet")
    with pytest.raises(kzoo.SpecError, match="has no release 'timmm'") as info:
        kzoo.load("resnet18", weights="timmm")
    assert "timm" in info.value.hint
    with pytest.raises(kzoo.SpecError, match="classes=10 does not fit"):
        kzoo.load("resnet18", weights="torchvision", classes=10)


def test_weights_listing_through_the_cli(capsys):
    from kzoo.cli import main

    assert main(["weights", "resnet18", "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert [r["release"] for r in rows] == ["torchvision", "timm"]
    assert rows[0]["default"] and rows[0]["top1"] == pytest.approx(69.758)
    assert rows[0]["params"]["stride_in"] == "3x3" and rows[0]["crop"] == 224 and rows[0]["resize"] == 256


@pytest.mark.slow
def test_finetune_from_a_release_puts_its_transform_in_front(tmp_path, monkeypatch):
    """kzoo finetune --from resnet18:torchvision: the release's weights (from the cache) in the backbone, its
    ImageNet mean/std as the model's first layer, a new head trained on the digits."""
    pytest.importorskip("torch", reason="torch is a test extra")
    release = next(r for r in file_releases("resnet18") if r.name == "torchvision")
    weights, _ = _reference(tmp_path, "resnet18", release, (64, 64, 3))
    monkeypatch.setenv("KZOO_CACHE", str(tmp_path / "cache"))
    download.cached_path(release).parent.mkdir(parents=True)
    shutil.copy(weights, download.cached_path(release))
    monkeypatch.setattr(download, "check_hash", lambda path, rel: None)
    sets = {"data.source": "digits", "epochs": 1, "finetune.features": True, "verbose": 0,
            "callbacks.tensorboard": False}  # fmt: skip
    params = {"include_top": False, "input": [64, 64, 3]}
    results = kzoo.finetune("resnet18:torchvision", sets=sets, params=params, output=str(tmp_path / "run"))
    assert 0 <= results["test_accuracy"] <= 1 and results["source"] == "resnet18:torchvision"
    from kzoo.saved import load_saved

    model = load_saved(tmp_path / "run")
    direct = kzoo.load("resnet18", weights=str(weights), include_top=False, input_shape=(64, 64, 3))
    for layer in ("conv1_conv", "conv3_block1_0_bn", "conv5_block2_2_conv"):  # frozen while the head trained
        for a, b in zip(model.get_layer(layer).get_weights(), direct.get_layer(layer).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    norm = model.get_layer("normalization")
    np.testing.assert_allclose(np.asarray(norm.mean).ravel(), [0.485, 0.456, 0.406], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.asarray(norm.variance)).ravel(), [0.229, 0.224, 0.225], rtol=1e-6)
