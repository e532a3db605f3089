"""kzoo study: variants x seeds as train runs, resumable, with a failed variant reported and a paired report."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kzoo.cli import main
from kzoo.errors import SpecError
from kzoo.study import load_study

TINY = """
name: tiny
input: [8, 8, 1]
params: {classes: 10, act: relu, width: 4}
layers:
  - conv: {filters: $width, kernel: 3, padding: same, activation: $act}
  - maxpool: 2
  - flatten
  - dense: {units: $classes, activation: softmax}
"""


def _files(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    x = np.random.default_rng(0).uniform(0, 1, (40, 8, 8, 1)).astype("float32")
    x[3, 2, 2, 0] = np.nan  # found when the run loads its data, after the static checks passed
    y = np.arange(40) % 10
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=y, x_test=x[:20], y_test=y[:20])
    study = tmp_path / "tiny_study.yaml"
    study.write_text(
        textwrap.dedent(
            """
            name: tiny_study
            description: two activations and a broken data file
            architecture: tiny.yaml
            data: digits
            seeds: [0, 1]
            set: {epochs: 2, batch_size: 64, verbose: 0}
            baseline: act-relu
            ensembles: [act-tanh, broken]
            variants:
              act: {param: {act: [relu, tanh]}}
              broken: {set: {data.source: npz:bad.npz}}
            """
        )
    )
    return study


@pytest.mark.slow
def test_a_tiny_study_runs_resumes_and_reports_a_failed_variant(tmp_path, capsys):
    study = _files(tmp_path)
    out = tmp_path / "out"
    assert main(["study", str(study), "--output", str(out), "--variant", "act-relu"]) == 0
    first = {s: (out / "runs" / "act-relu" / f"seed{s}" / "results.json").stat().st_mtime_ns for s in (0, 1)}
    capsys.readouterr()
    assert main(["study", str(study), "--output", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout holds exactly the document
    assert "broken seed 0 failed" in captured.err and "nan pixels" in captured.err
    rows = {r["variant"]: r for r in doc["variants"]}
    assert list(rows) == ["act-relu", "act-tanh", "broken"]
    assert rows["act-relu"]["finished"] == rows["act-tanh"]["finished"] == 2 and rows["broken"]["finished"] == 0
    assert len(doc["failed"]) == 2 and not doc["complete"]
    for s in (0, 1):  # the finished runs were read, not trained again
        assert (out / "runs" / "act-relu" / f"seed{s}" / "results.json").stat().st_mtime_ns == first[s]
    relu, tanh = rows["act-relu"], rows["act-tanh"]
    accs = [r["test_accuracy"] for r in tanh["runs"]]
    assert tanh["mean"] == pytest.approx(np.mean(accs)) and tanh["std"] == pytest.approx(np.std(accs, ddof=1))
    paired = [t["test_accuracy"] - r["test_accuracy"] for t, r in zip(tanh["runs"], relu["runs"], strict=True)]
    assert tanh["paired_difference"] == pytest.approx(np.mean(paired)) and relu["paired_difference"] == 0
    for name in ("study.json", "report.md", "curves.png", "accuracy.png"):
        assert (out / name).stat().st_size > 0
    assert "| act-tanh | 2/2 |" in (out / "report.md").read_text()
    tanh_ens, broken_ens = doc["ensembles"]  # the two seeds' models together, on the same test images
    assert tanh_ens["seeds"] == [0, 1] and tanh_ens["members"] == pytest.approx(accs, abs=1e-6)
    assert 0 < tanh_ens["mean_probability"] <= 1 and "needs two" in broken_ens["error"]
    capsys.readouterr()
    assert main(["study", str(study), "--output", str(out), "--report", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["mean"] for r in again["variants"]] == [r["mean"] for r in doc["variants"]]


@pytest.mark.parametrize(
    "text, match, line, col",
    [
        ("variants: {a: {}}\n", "needs .seeds.", 1, 1),
        ("seeds: [0]\nvariants: {a: {}}\n", "names no architecture", 2, 15),
        ("seeds: [0, 0]\narchitecture: lenet5\nvariants: {a: {}}\n", "each seed once", 1, 8),
        ("seeds: [0]\narchitecture: lenet5\nvariants: {a: {param: {actt: relu}}}\n", "actt", 3, 12),
        ("seeds: [0]\narchitecture: lenet5\nvariants: {a: {set: {epochz: 1}}}\n", "epochz", 3, 12),
        ("seeds: [0]\narchitecture: lenet5\nbaseline: b\nvariants: {a: {}}\n", "baseline", 3, 11),
        ("seeds: [0]\narchitecture: lenet5\nvariants: {a: {params: {}}}\n", "did you mean 'param'", 3, 16),
        ("seeds: [0]\narchitecture: lenet5\ndata: csv:x\nvariants: {a: {}}\n", "unknown data source", 4, 12),
        ("seeds: [0]\narchitecture: nosuchnet\nvariants: {a: {}}\n", "nosuchnet", 3, 12),
        ("seedz: [0]\n", "did you mean 'seeds'", 1, 1),
        ("seeds: [0, 1]\narchitecture: lenet5\nensembles: [b]\nvariants: {a: {}}\n", "ensembles: 'b'", 3, 12),
        ("seeds: [0]\narchitecture: lenet5\nensembles: [a]\nvariants: {a: {}}\n", "at least two seeds", 3, 12),
        ("seeds: [0]\narchitecture: lenet5\nvariants: {a: {param: {output: []}}}\n", "empty list", 3, 23),
        # from: an earlier variant, a run, a model file or a release, for a file that takes a backbone
        ("seeds: [0]\narchitecture: yolo_v1\nvariants: {a: {from: no/such/run}}\n", "from: no run or model", 3, 12),
        (
            "seeds: [0]\narchitecture: yolo_v1\nvariants: {a: {from: b}, b: {architecture: lenet5}}\n",
            "before it",
            3,
            12,
        ),
        ("seeds: [0]\narchitecture: lenet5\nvariants: {b: {}, a: {from: b}}\n", "segmentation or detection", 3, 19),
        # a name becomes a folder: one plain path component
        ("seeds: [0]\narchitecture: lenet5\nvariants: {'../up': {}}\n", "variant '../up': a name of letters", 3, 12),
        ("name: ..\nseeds: [0]\narchitecture: lenet5\nvariants: {a: {}}\n", "name: letters", 1, 7),
        # the built-in digits have 10 classes: a variant that sets another count would fail every run
        ("seeds: [0]\narchitecture: lenet5\nvariants: {a: {param: {classes: [10, 3]}}}\n", "has 10 classes", 3, 12),
        (
            "seeds: [0]\ndata: mnist5000:0-4\narchitecture: lenet5_modern\nparam: {classes: 10}\nvariants: {a: {}}\n",
            "has 5 classes",
            5,
            12,
        ),
    ],
)
def test_study_mistakes_are_located_before_anything_trains(tmp_path, text, match, line, col):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=match) as err:
        load_study(path)
    if line is not None:
        assert (err.value.line, err.value.col) == (line, col)


def test_a_grid_expands_into_named_variants(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0]\narchitecture: lenet5_modern\n"
        "variants:\n  g: {param: {activation: [relu, tanh]}, set: {optimizer.lr: [0.1, 0.01]}}\n"
    )
    names = [v.name for v in load_study(path).variants]
    assert names == ["g-0.1-relu", "g-0.1-tanh", "g-0.01-relu", "g-0.01-tanh"]


def test_list_params_of_the_study_reach_every_variant_and_a_nested_list_is_one_value(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0]\narchitecture: vgg11\nparam: {input: [32, 32, 1], classes: 10, widths: [8, 8, 16, 16, 16]}\n"
        "variants:\n  a: {}\n  b: {param: {widths: [[4, 4, 8, 8, 8]]}}\n"
    )
    a, b = load_study(path).variants  # each variant is checked (its graph analysed) while loading
    assert a.params["widths"] == [8, 8, 16, 16, 16] and b.params["widths"] == [4, 4, 8, 8, 8]
    assert b.name == "b-4x4x8x8x8"  # a list value names its variant by its items


STUDIES = sorted((Path(__file__).resolve().parents[2] / "studies").glob("*.yaml"))


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_every_shipped_study_loads_and_each_variant_resolves(path):
    """The studies in studies/ are what docs/studies.md reports: each variant's architecture, params and
    recipe resolve as kzoo train would take them, and the grids expand into the variants the report names."""
    study = load_study(path)
    names = [v.name for v in study.variants]
    assert study.baseline in names and len(names) == len(set(names)) >= 2
    assert len(study.seeds) >= 2
    if path.stem.startswith("init_"):
        grid = {f"init-{i}-{a}" for i in ("torch_legacy", "glorot_uniform", "he_normal") for a in ("tanh", "relu")}
        assert grid <= set(names)


def test_a_study_whose_every_run_fails_exits_2_and_still_writes_its_report(tmp_path, capsys):
    study = _files(tmp_path)
    text = study.read_text().replace("ensembles: [act-tanh, broken]\n", "")
    study.write_text(text)
    out = tmp_path / "out"
    assert main(["study", str(study), "--output", str(out), "--variant", "broken"]) == 2
    err = capsys.readouterr().err
    assert "no run of study tiny_study finished: 2 failed" in err and "nan pixels" in err
    assert "the others are reported" not in err
    doc = json.loads((out / "study.json").read_text())
    assert len(doc["failed"]) == 2 and not doc["complete"]


def test_the_command_line_shortens_a_study(tmp_path):
    """--set reaches every variant over the file's own fields; --seeds replaces the file's seeds; a bad --seeds
    is one line."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0, 1, 2]\narchitecture: lenet5_modern\nset: {epochs: 12}\n"
        "variants:\n  a: {}\n  b: {set: {epochs: 20, batch_size: 16}}\n"
    )
    study = load_study(path, {"epochs": 1}, [5])
    assert study.seeds == [5] and [v.sets["epochs"] for v in study.variants] == [1, 1]
    assert study.variants[1].sets["batch_size"] == 16
    assert main(["study", str(path), "--seeds", "1,1", "--report"]) == 2
