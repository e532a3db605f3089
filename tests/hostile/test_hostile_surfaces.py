"""Hostile and mistaken inputs on the surfaces added since the first corpus: saved-model metadata, predict and
evaluate, Caffe import and export, studies, tune and data files. Each class is refused cleanly (tests/hostile.py
says what that means); cases run in-process through ``kzoo.cli.main``."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from hostile import build_world, cases, check, write
from PIL import Image


def retamper(src, dst, change):
    """A copy of the .keras file ``src`` whose kzoo.json is ``change(meta)`` (a str is written as is)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "kzoo.json":
                new = change(json.loads(data))
                data = (new if isinstance(new, str) else json.dumps(new)).encode()
            zout.writestr(item, data)


CAFFE_IN = 'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'  # 5 lines
CONV = 'layer {{\n  name: "c"\n  type: "Convolution"\n  bottom: "data"\n  top: "c"\n  convolution_param {{ {} }}\n}}\n'
CAFFE_NETS = {
    "strid": CONV.format("num_output: 4 kernel_size: 3 strid: 2"),
    "bottm": 'layer {\n  name: "r"\n  type: "ReLU"\n  bottm: "data"\n  top: "r"\n}\n',
    "group": CONV.format("num_output: 4 kernel_size: 3 group: 3"),
    "stride0": CONV.format("num_output: 4 kernel_size: 3 stride: 0"),
    "kernel_big": CONV.format("num_output: 4 kernel_size: 9"),
    "outputs_1e9": CONV.format("num_output: 1000000000 kernel_size: 3"),
    "dropout_1": 'layer {\n  name: "d"\n  type: "Dropout"\n  bottom: "data"\n  top: "data"\n'
    "  dropout_param { dropout_ratio: 1 }\n}\n",
    "eltwise": CONV.format("num_output: 4 kernel_size: 3")
    + 'layer {\n  name: "e"\n  type: "Eltwise"\n  bottom: "data"\n  bottom: "c"\n  top: "e"\n}\n',
    "concat": CONV.format("num_output: 4 kernel_size: 3")
    + 'layer {\n  name: "k"\n  type: "Concat"\n  bottom: "data"\n  bottom: "c"\n  top: "k"\n}\n',
    "dup_top": CONV.format("num_output: 4 kernel_size: 3")
    + 'layer {\n  name: "c2"\n  type: "Convolution"\n  bottom: "data"\n  top: "c"\n'
    "  convolution_param { num_output: 4 kernel_size: 3 } }\n",
    "python_inplace": 'layer {\n  name: "py"\n  type: "Python"\n  bottom: "data"\n  top: "data"\n'
    '  python_param { module: "m" layer: "L" }\n}\n',
    "deep": 'layer { name: "p" type: "Python" top: "x" python_param ' + "{ a " * 20000 + "}" * 20001 + " }\n",
    "many_layers": "".join(
        f'layer {{ name: "r{i}" type: "ReLU" bottom: "data" top: "data" }}\n' for i in range(100_000)
    ),
}


def caffemodel(path, blobs):
    """A .caffemodel with one Convolution layer "c" holding ``blobs`` (numpy arrays)."""
    from kzoo.caffe.schema import message

    net = message("NetParameter")()
    layer = net.layer.add(name="c", type="Convolution")
    for array in blobs:
        blob = layer.blobs.add()
        blob.shape.dim.extend(array.shape)
        blob.data.extend(array.reshape(-1).astype("float32").tolist())
    path.write_bytes(net.SerializeToString())


def forge_npz(path, name, shape):
    """An .npz whose ``name`` member's header claims ``shape`` of float64 and holds a few bytes."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}.npy", header.getvalue() + bytes(64))


META = {
    "list": lambda m: [m],
    "pad_text": lambda m: {**m, "input": {**m["input"], "pad": "two"}},
    "pad_big": lambda m: {**m, "input": {**m["input"], "pad": 40}},
    "input_text": lambda m: {**m, "input": "32x32"},
    "size_other": lambda m: {**m, "input": {**m["input"], "size": [64, 64]}},
    "channels_other": lambda m: {**m, "input": {**m["input"], "channels": 3}},
    "names_text": lambda m: {**m, "class_names": "abcdefghij"},
    "names_count": lambda m: {**m, "class_names": ["a", "b"]},
    "names_repeated": lambda m: {**m, "class_names": ["a"] * 10},
    "names_numbers": lambda m: {**m, "class_names": list(range(10))},
    "not_json": lambda m: "{not json",
    "deep_json": lambda m: "[" * 100_000 + "]" * 100_000,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from kzoo.cli import main

    w = build_world(tmp_path_factory.mktemp("surfaces"))
    assert main(["build", str(w / "tiny.yaml"), "--param", "input=[32,32,1]", "-o", str(w / "model.keras")]) == 0
    meta = {"input": {"size": [32, 32], "channels": 1, "pad": 0}, "class_names": [str(i) for i in range(10)]}
    retamper(w / "model.keras", w / "named.keras", lambda m: {**m, **meta})
    (w / "meta").mkdir()
    for name, change in META.items():
        retamper(w / "named.keras", w / "meta" / f"{name}.keras", change)
    # two-class models whose class names differ from a folder's (a, b) in order or in name
    two = ["build", str(w / "tiny.yaml"), "--param", "input=[8,8,1]", "--param", "classes=2"]
    assert main([*two, "-o", str(w / "two.keras")]) == 0
    (w / "two").mkdir()
    for name, names in (("ba", ["b", "a"]), ("catdog", ["cat", "dog"])):
        info = {"input": {"size": [8, 8], "channels": 1, "pad": 0}, "class_names": names}
        retamper(w / "two.keras", w / "two" / f"{name}.keras", lambda m, info=info: {**m, **info})
    forge_npz(w / "npz" / "forged.npz", "x_train", (10**6, 10**6))
    forge_npz(w / "npz" / "forged_labels.npz", "y_train", (2**40,))
    write(w / "left" / "pad.yaml", "epochs: 1\ndata:\n  source: digits\n  pad: 20\n")
    write(w / "left" / "crop.yaml", "epochs: 1\naugment: {crop_padding: 40}\n")
    write(
        w / "left" / "typo_default.yaml",
        "name: x\ninput: [8, 8, 1]\nparams: {pooling: maxpol}\nlayers:\n  - conv: {filters: 2, kernel: 3}\n"
        "  - when: \"${pooling == 'maxpool'}\"\n    maxpool: 2\n"
        "  - when: \"${pooling == 'avgpool'}\"\n    avgpool: 2\n",
    )
    (w / "left" / "binary.csv").write_bytes(b"epoch,loss\n0,1\n" + bytes(range(256)))
    (w / "left" / "words.csv").write_text("epoch,loss,accuracy\n0,0.5,0.1\n1,lots,0.2\n")
    grid = "[" + ", ".join(str(0.001 * (i + 1)) for i in range(1000)) + "]"
    write(
        w / "st" / "million.yaml",
        f"name: million\narchitecture: ../tiny.yaml\nseeds: [0]\nvariants:\n  big:\n"
        f"    set: {{optimizer.lr: {grid}, optimizer.momentum: {grid}}}\n",
    )
    write(
        w / "st" / "bad_arch.yaml",
        "name: x\ninput: [8, 8, 1]\nparams: {classes: 10}\nlayers:\n  - conv: {filters: 0}\n",
    )
    write(w / "st" / "bad_recipe.yaml", "epochs: 1\noptimizer: {lr: -1}\n")
    write(
        w / "st" / "inner.yaml",
        "name: inner\nseeds: [0]\nvariants:\n  a: {architecture: bad_arch.yaml}\n"
        "  b: {architecture: ../tiny.yaml, recipe: bad_recipe.yaml}\n",
    )
    write(
        w / "st" / "inner_b.yaml",
        "name: inner_b\nseeds: [0]\nvariants:\n  b: {architecture: ../tiny.yaml, recipe: bad_recipe.yaml}\n",
    )
    write(w / "st" / "ok.yaml", "name: ok\narchitecture: ../tiny.yaml\nseeds: [0, 1]\nvariants:\n  a: {}\n  b: {}\n")
    for variant, seed, text in (("a", 0, "{broken"), ("a", 1, "[1, 2]"), ("b", 0, '{"test_accuracy": "high"}')):
        write(w / "st" / "out" / "runs" / variant / f"seed{seed}" / "results.json", text)
    write(w / "st" / "out" / "runs" / "b" / "seed1" / "results.json", '{"test_accuracy": 0.5, "epochs_run": 1}')
    write(
        w / "sp" / "many.yaml",
        "set:\n  optimizer.lr: [" + ", ".join(f"{0.0001 * (i + 1):.4f}" for i in range(5000)) + "]\n",
    )
    write(w / "sp" / "depth_range.yaml", "param:\n  depth: {min: 18, max: 152}\n")
    write(w / "sp" / "sources.yaml", f"set:\n  data.source: [digits, 'npz:{w}/npz/nothere.npz']\n")
    write(w / "sp" / "twice.yaml", "set:\n  batch_size: [16, 32, 16]\n")
    for name, body in CAFFE_NETS.items():
        write(w / "cf" / f"{name}.prototxt", CAFFE_IN + body)
    write(w / "cf" / "good.prototxt", CAFFE_IN + CONV.format("num_output: 4 kernel_size: 3"))
    kernel, bias = np.ones((4, 3, 3, 3)), np.zeros(4)
    caffemodel(w / "cf" / "nan.caffemodel", [np.where(kernel > 0, np.nan, 0), bias])
    caffemodel(w / "cf" / "extra.caffemodel", [kernel, bias, bias])
    os.mkfifo(w / "cf" / "fifo.caffemodel")
    tiny_like = 'input: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 32\ninput_dim: 32\nlayer {{\n  name: "conv1"\n'
    tiny_like += '  type: "Convolution"\n  bottom: "data"\n  top: "conv1"\n  convolution_param {{ {} }}\n}}\n'
    write(w / "cf" / "like_wider.prototxt", tiny_like.format("num_output: 8 kernel_size: 3 pad: 1"))
    write(w / "cf" / "like_kernel.prototxt", tiny_like.format("num_output: 4 kernel_size: 5 pad: 2"))
    write(w / "cf" / "like_conv_only.prototxt", tiny_like.format("num_output: 4 kernel_size: 3 pad: 1"))
    write(
        w / "cf" / "like_more.prototxt",
        tiny_like.format("num_output: 4 kernel_size: 3 pad: 1")
        + 'layer {\n  name: "predictions"\n  type: "InnerProduct"\n  bottom: "conv1"\n  top: "p"\n'
        "  inner_product_param { num_output: 10 }\n}\n"
        + 'layer {\n  name: "extra"\n  type: "InnerProduct"\n  bottom: "p"\n  top: "extra"\n'
        "  inner_product_param { num_output: 10 }\n}\n",
    )
    (w / "cf" / "locked.prototxt").write_text("an earlier export\n")
    (w / "cf" / "locked.prototxt").chmod(0o444)
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (w / "folders" / "good" / c).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype="uint8")).save(w / "folders" / "good" / c / f"{i}.png")
    return w


@pytest.fixture
def run(capsys):
    from kzoo.cli import main

    def go(argv):
        capsys.readouterr()
        rc = main(argv)
        out, err = capsys.readouterr()
        return rc, out, err

    return go


PREDICT_META = "predict {{w}}/meta/{}.keras {{w}}/images/one.png"
SAVED = cases(
    *[(f"meta_{name}_file", PREDICT_META.format(name), f"{name}.keras") for name in META],
    *[(f"meta_{name}_member", PREDICT_META.format(name), "kzoo.json") for name in META],
    ("meta_evaluate", "evaluate {w}/meta/names_count.keras --data npz:{w}/npz/pixels_255_float.npz", "names 2 classes"),
    ("meta_inspect", "inspect occlusion {w}/meta/pad_big.keras {w}/images/one.png", "input.pad"),
    ("classes_order", "evaluate {w}/two/ba.keras --data folder:{w}/folders/good", "another order"),
    ("classes_other", "evaluate {w}/two/catdog.keras --data folder:{w}/folders/good", "other classes"),
)


LEFT = cases(
    ("recipe_pad_line", "train {w}/tiny.yaml --recipe {w}/left/pad.yaml", "pad.yaml:4:"),
    ("recipe_crop_line", "train {w}/tiny.yaml --recipe {w}/left/crop.yaml --param input=[32,32,1]", "crop.yaml:2:"),
    ("recipe_set_pad", "train {w}/tiny.yaml --set data.pad=9", "--set data.pad"),
    ("default_typo", "validate {w}/left/typo_default.yaml", "typo_default.yaml:3:"),
    ("default_typo_hint", "summary {w}/left/typo_default.yaml", "did you mean 'maxpool'"),
    ("validate_huge", "validate {w}/a/filters_huge.yaml", "memory"),
    ("summary_huge", "summary {w}/a/units_huge.yaml", "--analysis-only"),
    ("override_blamed", "summary lenet5 --param classes=0", "from classes=0 given to --param"),
    ("override_blamed_depth", "summary resnet18 --param classes=0", "from classes=0"),
    ("curves_binary", "inspect curves {w}/left/binary.csv -o {w}/out/c.png", "binary"),
    ("curves_words", "inspect curves {w}/left/words.csv -o {w}/out/c.png", "words.csv:3"),
)


@pytest.mark.parametrize("case", LEFT, ids=[c.id for c in LEFT])
def test_left_from_the_first_corpus(world, run, case):
    check(world, case, run)


def test_analysis_only_gives_the_figures(world, run):
    rc, out, err = run(["validate", str(world / "a" / "filters_huge.yaml"), "--analysis-only"])
    assert rc == 0 and "ok" in out, err


STUDIES = cases(
    ("study_million", "study {w}/st/million.yaml --report --output {w}/out/m", "1,000,000 combinations"),
    ("study_arch_line", "study {w}/st/inner.yaml --report --output {w}/out/m", "bad_arch.yaml:5:"),
    ("study_recipe_line", "study {w}/st/inner_b.yaml --report --output {w}/out/m", "bad_recipe.yaml:2:"),
)


@pytest.mark.parametrize("case", STUDIES, ids=[c.id for c in STUDIES])
def test_studies(world, run, case):
    check(world, case, run)


def test_a_damaged_results_file_is_named_and_skipped(world, run):
    rc, out, err = run(["study", str(world / "st" / "ok.yaml"), "--report", "--output", str(world / "st" / "out")])
    assert rc == 0 and "Traceback" not in err and "internal error" not in err
    assert "seed0" in err and "not readable JSON" in err and "not a mapping" in err and "test_accuracy" in err
    doc = json.loads((world / "st" / "out" / "study.json").read_text())
    b = next(v for v in doc["variants"] if v["variant"] == "b")
    assert b["finished"] == 1 and b["mean"] == 0.5


TUNE = cases(
    ("tune_5000", "tune {w}/tiny.yaml --space {w}/sp/many.yaml --output {w}/out/t", "5,000 values"),
    ("tune_depth_range", "tune resnet --space {w}/sp/depth_range.yaml --output {w}/out/t", "depth takes only"),
    ("tune_missing_source", "tune {w}/tiny.yaml --space {w}/sp/sources.yaml --output {w}/out/t", "nothere.npz"),
    ("tune_twice", "tune {w}/tiny.yaml --space {w}/sp/twice.yaml --output {w}/out/t", "listed twice"),
)


@pytest.mark.parametrize("case", TUNE, ids=[c.id for c in TUNE])
def test_tune(world, run, case):
    check(world, case, run)


def test_failing_trials_are_one_line_each_and_a_search_of_failures_fails(world, run, monkeypatch, tmp_path):
    import kzoo.tune

    def broken(*args, **kwargs):
        raise TypeError("something deep inside went wrong")

    monkeypatch.setattr(kzoo.tune, "train", broken)
    space = tmp_path / "space.yaml"
    space.write_text("set: {optimizer.lr: [0.1, 0.01]}\n")
    rc, out, err = run(["tune", str(world / "tiny.yaml"), "--space", str(space), "--trials", "2", "--output",
                        str(tmp_path / "t")])  # fmt: skip
    assert rc == 2, err
    assert "Traceback" not in out + err and 'File "' not in out + err
    assert err.count("something deep inside went wrong") >= 2 and "no trial finished" in err


IMPORT = "import caffe {{w}}/cf/{}.prototxt -o {{w}}/out/i.yaml"
CAFFE_CASES = cases(
    ("caffe_unknown_field", IMPORT.format("strid"), "strid.prototxt:11:"),
    ("caffe_unknown_field_hint", IMPORT.format("strid"), "did you mean 'stride'"),
    ("caffe_unknown_layer_field", IMPORT.format("bottm"), "bottm.prototxt:9:"),
    ("caffe_group", IMPORT.format("group"), "group.prototxt:7:"),
    ("caffe_stride0", IMPORT.format("stride0"), "stride0.prototxt:7:"),
    ("caffe_kernel_big", IMPORT.format("kernel_big"), "kernel_big.prototxt:7:"),
    ("caffe_outputs_1e9", IMPORT.format("outputs_1e9"), "outputs_1e9.prototxt:7:"),
    ("caffe_dropout_1", IMPORT.format("dropout_1"), "dropout_1.prototxt:7:"),
    ("caffe_eltwise", IMPORT.format("eltwise"), "eltwise.prototxt:1"),
    ("caffe_concat", IMPORT.format("concat"), "concat.prototxt:1"),
    ("caffe_dup_top", IMPORT.format("dup_top"), "already written"),
    ("caffe_python_inplace", IMPORT.format("python_inplace"), "python"),
    ("caffe_deep", IMPORT.format("deep"), "nest"),
    ("caffe_many_layers", IMPORT.format("many_layers"), "100,000 layers"),
    ("caffe_nan", IMPORT.format("good") + " --weights {w}/cf/nan.caffemodel", "NaN"),
    ("caffe_extra_blob", IMPORT.format("good") + " --weights {w}/cf/extra.caffemodel", "3 blobs"),
    ("caffe_fifo_weights", IMPORT.format("good") + " --weights {w}/cf/fifo.caffemodel", "not a regular file"),
)


@pytest.mark.parametrize("case", CAFFE_CASES, ids=[c.id for c in CAFFE_CASES])
def test_caffe_import(world, run, case):
    check(world, case, run)


def test_no_error_names_kzoos_own_temporary_file(world, run):
    for name in CAFFE_NETS:
        rc, out, err = run(IMPORT.format(name).replace("{w}", str(world)).split())
        assert rc == 2 and ".tmp" not in err, (name, err)


EXPORT = "export caffe {w}/model.keras -o {w}/out/x.caffemodel"
EXPORT_CASES = cases(
    ("export_like_other_net", EXPORT + " --like /work/shared/caffe/bvlc_alexnet.prototxt", "num_output is 96"),
    ("export_like_other_net_local", EXPORT + " --like {w}/cf/good.prototxt", "no layer 'conv1'"),
    ("export_like_wider", EXPORT + " --like {w}/cf/like_wider.prototxt", "num_output is 8"),
    ("export_like_kernel", EXPORT + " --like {w}/cf/like_kernel.prototxt", "kernel is 5x5"),
    ("export_like_fewer", EXPORT + " --like {w}/cf/like_wider.prototxt".replace("wider", "kernel"), "kernel"),
    ("export_like_no_dense", EXPORT + " --like {w}/cf/like_more.prototxt".replace("more", "conv_only"), "predictions"),
    ("export_like_more", EXPORT + " --like {w}/cf/like_more.prototxt", "like_more.prototxt:21"),
    ("export_locked_prototxt", EXPORT + " --prototxt {w}/cf/locked.prototxt", "read-only"),
)


@pytest.mark.parametrize("case", EXPORT_CASES, ids=[c.id for c in EXPORT_CASES])
def test_caffe_export(world, run, case):
    if "/work/shared" in case.argv and not os.path.exists("/work/shared/caffe/bvlc_alexnet.prototxt"):
        pytest.skip("the shared Caffe definitions are not here")
    check(world, case, run)
    assert not (world / "out" / "x.caffemodel").exists()  # the pair is written whole or not at all
    assert (world / "cf" / "locked.prototxt").read_text() == "an earlier export\n"


def test_a_failed_second_rename_puts_the_earlier_pair_back(world, run, monkeypatch):
    import kzoo.files

    out = world / "out" / "pair"
    argv = ["export", "caffe", str(world / "model.keras"), "-o", f"{out}.caffemodel", "--prototxt", f"{out}.prototxt"]
    assert run(argv)[0] == 0
    before = (out.with_suffix(".caffemodel").read_bytes(), out.with_suffix(".prototxt").read_text())
    real = os.replace

    def replace(src, dst):
        if str(dst).endswith("pair.prototxt") and ".tmp" in str(src):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(kzoo.files.os, "replace", replace)
    rc, _, err = run([*argv, "--like", str(world / "cf" / "like_more.prototxt").replace("like_more", "like_wider")])
    assert rc == 2  # refused by --like before anything is written
    rc, _, err = run(argv)
    assert rc == 2 and "space" in err.lower(), err
    assert (out.with_suffix(".caffemodel").read_bytes(), out.with_suffix(".prototxt").read_text()) == before
    assert not [p for p in (world / "out").iterdir() if p.name.startswith(".pair")]


DATA = cases(
    ("npz_forged_images", "train {w}/tiny.yaml --data npz:{w}/npz/forged.npz --epochs 1", "x_train"),
    ("npz_forged_labels", "evaluate {w}/named.keras --data npz:{w}/npz/forged_labels.npz", "header of y_train"),
)


@pytest.mark.parametrize("case", DATA, ids=[c.id for c in DATA])
def test_data_files(world, run, case):
    check(world, case, run)


def test_an_npz_larger_than_memory_is_refused_by_name(tmp_path, monkeypatch):
    from kzoo.errors import SpecError
    from kzoo.graph import budget
    from kzoo.train.data import read_npz

    np.savez(tmp_path / "big.npz", x_train=np.zeros((64, 32, 32)), y_train=np.zeros(64))
    monkeypatch.setattr(budget, "available_memory", lambda: 100_000)
    with pytest.raises(SpecError, match=r"big.npz: x_train is \(64, 32, 32\) float64"):
        read_npz(str(tmp_path / "big.npz"))


@pytest.mark.parametrize("case", SAVED, ids=[c.id for c in SAVED])
def test_saved_model_metadata(world, run, case):
    check(world, case, run)


def test_good_metadata_still_loads(world):
    from kzoo.saved import load_saved, meta

    model = load_saved(world / "named.keras")
    assert meta(model)["class_names"] == [str(i) for i in range(10)]
    assert np.isfinite(model(np.zeros((1, 32, 32, 1), "float32"))).all()


def test_names_holding_terminal_escapes_print_as_text(world, run, tmp_path):
    from shutil import copy

    sneaky = tmp_path / "red\x1b[31m\x1b[2Jcat\x07.png"
    copy(world / "images" / "one.png", sneaky)
    rc, out, err = run(["predict", str(world / "named.keras"), str(sneaky)])
    assert rc == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "\\x1b[31m" in out  # the name shown, escaped
    rc, out, err = run(["predict", str(world / "named.keras"), str(tmp_path / "no\x1b[2Jne.png")])
    assert rc == 2 and "\x1b" not in err and "\\x1b" in err
