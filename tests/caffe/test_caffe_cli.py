"""kzoo import caffe / kzoo export caffe through the CLI's entry function: documents, files, errors."""

from __future__ import annotations

import json

import pytest
from helpers import caffe_definition

from kzoo.cli import main


def _json(capsys, *argv):
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_import_writes_a_file_kzoo_reads(tmp_path, capsys):
    code, doc, err = _json(
        capsys, "import", "caffe", str(caffe_definition("bvlc_lenet.prototxt")), "-o", str(tmp_path / "l.yaml")
    )
    assert code == 0 and doc["wrote"] == str(tmp_path / "l.yaml") and doc["params"] == 431_080
    assert "wrote" in err
    assert main(["validate", str(tmp_path / "l.yaml")]) == 0


def test_import_needs_input_for_a_train_val_file(tmp_path, capsys):
    from nets import LENET_V1_TRAIN_VAL

    (tmp_path / "tv.prototxt").write_text(LENET_V1_TRAIN_VAL)
    code, doc, _ = _json(capsys, "import", "caffe", str(tmp_path / "tv.prototxt"), "-o", str(tmp_path / "tv.yaml"))
    assert code == 2 and "--input" in doc["hint"] and not (tmp_path / "tv.yaml").exists()
    code, doc, _ = _json(
        capsys, "import", "caffe", str(tmp_path / "tv.prototxt"), "-o", str(tmp_path / "tv.yaml"), "--input", "28,28,1"
    )
    assert code == 0 and doc["params"] == 20 * 25 + 20 + 12 * 12 * 20 * 50 + 50 + 510


HEAD = 'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'


@pytest.mark.parametrize(
    "text, where",
    [
        ('layer {\n  name: "c"\n  typo: 3\n', 3),  # unbalanced and unknown
        (HEAD + 'layer { name: "p" type: "SPP" bottom: "data" top: "p" }\n', 6),
        (
            HEAD + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n pooling_param { pool: STOCHASTIC } }\n',
            6,
        ),
        (HEAD + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" }\n', 6),
        ('input: "data"\ninput_dim: 3\ninput_dim: 8\nlayer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n', 1),
        ("\x00\x01binary", None),
    ],
)
def test_import_errors_are_located_one_or_two_lines(tmp_path, capsys, text, where):
    path = tmp_path / "bad.prototxt"
    path.write_text(text)
    code = main(["import", "caffe", str(path), "-o", str(tmp_path / "bad.yaml")])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert str(path) in err
    if where is not None:
        assert f"{path}:{where}" in err
    assert not (tmp_path / "bad.yaml").exists()


def test_import_refuses_a_wrong_output_suffix(tmp_path, capsys):
    code = main(["import", "caffe", str(caffe_definition("bvlc_lenet.prototxt")), "-o", str(tmp_path / "l.keras")])
    assert code == 2 and ".yaml" in capsys.readouterr().err


def test_weights_that_do_not_fit_are_named(tmp_path, capsys):
    lenet = caffe_definition("bvlc_lenet.prototxt")
    assert main(["export", "caffe", "lenet5_modern", "-o", str(tmp_path / "other.caffemodel")]) == 0
    assert "lenet5_modern is exported with freshly initialised weights" in capsys.readouterr().err  # said, not silent
    code = main(
        ["import", "caffe", str(lenet), "-o", str(tmp_path / "l.yaml"), "--weights", str(tmp_path / "other.caffemodel")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "other.caffemodel" in err and len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "l.yaml").exists() and not (tmp_path / "l.weights.h5").exists()
    (tmp_path / "cut.caffemodel").write_bytes((tmp_path / "other.caffemodel").read_bytes()[:5000])
    code = main(
        ["import", "caffe", str(lenet), "-o", str(tmp_path / "l.yaml"), "--weights", str(tmp_path / "cut.caffemodel")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "truncated" in err and len(err.strip().splitlines()) <= 2


def test_export_of_a_saved_model_and_its_errors(tmp_path, capsys):
    assert main(["build", "lenet5_modern", "-o", str(tmp_path / "m.keras")]) == 0
    capsys.readouterr()
    code, doc, _ = _json(
        capsys,
        "export",
        "caffe",
        str(tmp_path / "m.keras"),
        "-o",
        str(tmp_path / "m.caffemodel"),
        "--prototxt",
        str(tmp_path / "m.prototxt"),
    )
    assert code == 0 and doc["wrote"] == str(tmp_path / "m.caffemodel") and (tmp_path / "m.prototxt").is_file()
    code, doc, _ = _json(capsys, "export", "caffe", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.h5"))
    assert code == 2 and ".caffemodel" in doc["error"]
    code, doc, _ = _json(capsys, "export", "caffe", "lenet5", "-o", str(tmp_path / "p.caffemodel"))
    assert code == 2 and "Caffe" in doc["error"] and not (tmp_path / "p.caffemodel").exists()
