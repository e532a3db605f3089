"""The command line, in subprocesses, as a user runs it."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_kzoo, run_python

kzoo = run_kzoo


def test_static_commands_do_not_import_tensorflow_or_keras():
    result = run_python(
        """
        import sys, io, contextlib
        from kzoo.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["summary", "resnet152"]) == 0
            assert main(["validate", "architectures/googlenet.yaml", "architectures/vgg16.yaml"]) == 0
            assert main(["list"]) == 0
            assert main(["schema"]) == 0
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax"))
        print(heavy)
        assert not heavy, heavy
    """,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_summary_json_rows_and_totals():
    result = kzoo("summary", "resnet", "--param", "depth=18", "--param", "classes=10", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 11_703_912 - (512 * 1000 + 1000) + (512 * 10 + 10)
    assert data["layers"][-1]["output_shape"] == [10]
    row = next(r for r in data["layers"] if r["name"] == "conv1_conv")
    assert row["output_shape"] == [112, 112, 64] and row["params"] == 7 * 7 * 3 * 64 + 64
    unit_conv = _line_of("families/resnet.yaml", 'name: "${id}_conv"')  # conv1 is a call of the unit block
    assert row["madds"] == 112 * 112 * 64 * 7 * 7 * 3 and row["source"].endswith(f"families/resnet.yaml:{unit_conv}:9")
    assert sum(r["params"] for r in data["layers"]) == data["totals"]["params"]
    assert data["outputs"] == [{"name": "predictions", "shape": [10]}]


def _line_of(file, text):
    lines = (ROOT / "architectures" / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_summary_text_table():
    result = kzoo("summary", "architectures/lenet5.yaml")
    assert result.returncode == 0
    assert "Total params: 60,840 (trainable 60,000, non-trainable 840)" in result.stdout and "c3" in result.stdout


def test_list_json_and_schema():
    rows = json.loads(kzoo("list", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["vgg16"]["params"] == 138_357_544 and by_name["resnet50"]["aliases"] == ["resnet"]
    schema = json.loads(kzoo("schema").stdout)
    assert "conv" in schema["properties"]["defaults"]["properties"]
    assert "op_conv" in schema["$defs"]


@pytest.mark.slow
def test_build_saves_a_model(tmp_path):
    out = tmp_path / "sub" / "lenet.keras"
    result = kzoo("build", "architectures/lenet5.yaml", "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.is_file() and "Keras model 'lenet5': 60,840 params" in result.stdout
    assert not list(out.parent.glob(".*tmp*")), "the temporary file must be renamed away"


@pytest.mark.parametrize(
    "text, expect",
    [
        ("name: x\ninput: [8, 8, 1]\nlayers: [{conv: {filters: 2, kernal: 3}}]\n", "m.yaml:3:30: error: unknown key"),
        ("name: x\ninput: [8, 8, 1]\nlayers: [{pool: 2}]\n", "did you mean"),
        ("name: x\ninput: [8, 8, 1]\nlayers: [{conv: {filters: 2, kernel: 3, padding: no}}]\n", "quote it"),
        ("name: x\ninput: [8, 8, 1]\nlayers: [!!python/object:os.system {}]\n", "tag"),
        ("name: x\ninput: [8, 8, 1]\nlayers: [{conv: {filters: 2, kernel: 9}}]\n", "output would be 0x0"),
    ],
)
def test_mistakes_print_one_or_two_lines_and_exit_2(tmp_path, text, expect):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    for command in ("validate", "summary", "build"):
        result = kzoo(command, path)
        assert result.returncode == 2, (command, result.stderr)
        assert expect in result.stderr and "Traceback" not in result.stderr
        assert 1 <= len(result.stderr.strip().splitlines()) <= 2, result.stderr


def test_unknown_name_and_bad_set():
    result = kzoo("summary", "resnet5")
    assert result.returncode == 2 and "did you mean" in result.stderr
    result = kzoo("summary", "resnet", "--param", "depth")
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr
    result = kzoo("summary", "resnet", "--param", "depth=42")
    assert result.returncode == 2 and "18, 34, 50, 101, 152" in result.stderr


def test_help_lists_every_command():
    out = kzoo("--help").stdout
    for command in ("validate", "summary", "build", "list", "schema"):
        assert command in out


def test_every_architecture_file_validates_against_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the test extras")
    from kzoo.lang.loader import load_file
    from kzoo.lang.schema import json_schema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(f for f in (ROOT / "architectures").rglob("*.yaml") if f.parent.name != "weights")  # releases
    assert files
    for file in files:
        data = json.loads(json.dumps(load_file(file)))
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        assert error is None, (file, list(error.absolute_path), error.message)
    typo = {"name": "x", "input": [8, 8, 1], "layers": [{"conv": {"filters": 2, "kernal": 3}}]}
    assert not validator.is_valid(typo)
    assert not validator.is_valid({**typo, "layers": [{"conv": {"filters": 2, "kernel": 3}}], "layerz": []})


@pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_command(tmp_path):
    result = kzoo("plot", "resnet", "--param", "depth=18", "--depth", "1", "-o", tmp_path / "r.svg")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r.svg").read_text().count('<g id="node') == 6 + 8 + 2 + 1


@pytest.mark.slow
@pytest.mark.parametrize("args", [["summary", "resnet152"], ["summary", "resnet152", "--json"], ["weights"]])
def test_a_closed_pipe_is_not_an_error(args):
    """`kzoo summary ... | head -1`: the reader goes away after one line; kzoo exits 0 and says nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kzoo.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its lines
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and b"Broken pipe" not in err and b"Traceback" not in err, err.decode()[-2000:]


@pytest.mark.parametrize(
    "kind, files, bad",
    [
        ("recipe", "recipes/*.yaml", {"epochs": "many"}),
        ("study", "studies/*.yaml", {"seeds": [0], "variants": {"a": {"fro": "x"}}}),
        ("space", None, {"set": {"optimizer.lr": {"min": 0.1, "mx": 1}}}),
        ("releases", "architectures/weights/*.yaml", {"releases": {}, "tables": []}),
    ],
)
def test_every_file_kind_has_a_json_schema_its_shipped_files_meet(capsys, kind, files, bad):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the test extras")
    from kzoo.cli import main
    from kzoo.lang.loader import load_file

    assert main(["schema", kind, "--json"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    shipped = sorted((ROOT / "kzoo").glob(files)) if files else []
    assert shipped or kind == "space"
    for file in shipped:
        error = jsonschema.exceptions.best_match(validator.iter_errors(json.loads(json.dumps(load_file(file)))))
        assert error is None, (file, error.message)
    assert validator.is_valid({"set": {"optimizer.lr": {"min": 1e-4, "max": 0.1, "log": True}}}) or kind != "space"
    assert not validator.is_valid(bad)
