"""kzoo tune: search spaces (checked with file:line errors) and real searches on digits through KerasTuner."""

from __future__ import annotations

import json

import pytest

from conftest import run_kzoo
from kzoo.errors import SpecError
from kzoo.tune import hyperparameters, load_space


def test_a_space_of_recipe_fields_and_params(write):
    space = write(
        """
        set:
          optimizer.lr: {min: 1.0e-4, max: 0.1, log: true}
          weight_decay: [0, 1.0e-4]
        param:
          init: [he_normal, glorot_uniform]
          width: {min: 4, max: 8, step: 4}
        """,
        "space.yaml",
    )
    arch = write(
        """
        name: narrow
        input: [8, 8, 1]
        params: {classes: 10, init: he_normal, width: 4}
        layers:
          - conv: {filters: $width, kernel: 3, init: $init, activation: relu}
          - flatten
          - dense: {units: $classes, activation: softmax}
        """,
        "narrow.yaml",
    )
    dims = {d.name: d for d in load_space(space, str(arch))}
    assert dims["--set optimizer.lr"].log and not dims["--set optimizer.lr"].is_int
    assert dims["--set weight_decay"].values == [0, 1e-4]  # as written: each value is checked as given
    assert dims["--param width"].is_int
    hp = hyperparameters(list(dims.values()), "random")
    assert {p.name for p in hp.space} == set(dims)
    decay = next(p for p in hp.space if p.name == "--set weight_decay")
    assert [type(v) for v in decay.values] == [float, float]  # mixed int/float: KerasTuner gets floats
    with pytest.raises(SpecError, match="grid search needs a list of values or a step") as err:
        hyperparameters(list(dims.values()), "grid")
    assert err.value.line == 3


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("param:\n  depth: [1, 2]\n", "no param 'depth'", 2, 3),
        ("set:\n  batch_size: [32]\n  optimizer.lr: [0.1, -1.0]\n", "optimizer.lr = -1.0", 3, 3),
        ("set:\n  optimizer.nme: [sgd]\n", "optimizer.nme", 2, 3),
        ("set:\n  epochs: {min: 5, max: 2}\n", "min < max", 2, 11),
        ("set:\n  epochs: {min: 1, max: 3, stride: 1}\n", "unknown key 'stride'", 2, 28),
        ("set:\n  seed: []\n", "empty list", 2, 9),
        ("set:\n  epochs: [1, 2.5]\n", "epochs = 2.5: invalid 'epochs'", 2, 3),  # the bad value, as written
        ("set:\n  seed: [1, a]\n", "one type only", 2, 9),
        ("params.init: [he_normal]\n", "write it under param:", 1, 1),
        ("param:\n  init: [he_normal]\n  classes: [10, 12]\n", "classes cannot be searched", 3, 3),
    ],
)
def test_space_errors_point_into_the_space_file(write, text, message, line, col):
    path = write(text, "space.yaml")
    with pytest.raises(SpecError, match=message) as err:
        load_space(path, "lenet5_modern")
    assert err.value.file == str(path) and (err.value.line, err.value.col) == (line, col)


def _tune(*args):
    return run_kzoo("tune", "lenet5_modern", *args)


@pytest.mark.slow
def test_grid_search_on_digits_writes_a_sorted_table_and_the_best_recipe(tmp_path, write):
    from kzoo.train.recipe import resolve_recipe

    space = write("set: {optimizer.lr: [1.0e-5, 3.0e-3]}\nparam: {init: [he_normal]}\n", "space.yaml")
    fixed = ["--set", "epochs=2", "--set", "verbose=0", "--set", "callbacks.tensorboard=false"]
    out = tmp_path / "search"
    result = _tune("--space", space, "--algorithm", "grid", "--trials", "5", "--output", out, "--json", *fixed)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "tune.json").read_text())
    scores = [t["val_accuracy"] for t in summary["trials"]]
    assert len(scores) == 2 and scores == sorted(scores, reverse=True)  # the grid has two points
    best = summary["trials"][0]
    assert best["values"]["--set optimizer.lr"] == 3.0e-3  # 1e-5 barely moves in two epochs
    text = (out / "best_recipe.yaml").read_text()
    assert "--param init=he_normal" in text.splitlines()[1]
    recipe, _ = resolve_recipe(None, out / "best_recipe.yaml")
    assert recipe.optimizer.lr == pytest.approx(3.0e-3) and recipe.epochs == 2

    again = _tune("--space", space, "--algorithm", "grid", "--trials", "5", "--output", out, *fixed)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "kzoo train" not in again.stdout  # the search state was kept: nothing left to run


@pytest.mark.slow
def test_bayesian_search_runs_its_trials(tmp_path, write):
    space = write("set:\n  optimizer.lr: {min: 1.0e-4, max: 1.0e-2, log: true}\n", "space.yaml")
    fixed = ["--set", "epochs=1", "--set", "verbose=0", "--set", "callbacks.tensorboard=false"]
    result = _tune("--space", space, "--algorithm", "bayesian", "--trials", "3", "--output", tmp_path / "b", *fixed)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = json.loads((tmp_path / "b" / "tune.json").read_text())["trials"]
    assert len(trials) == 3 and len({t["values"]["--set optimizer.lr"] for t in trials}) == 3
    assert all(1e-4 <= t["values"]["--set optimizer.lr"] <= 1e-2 for t in trials)


def test_tune_takes_data_and_refuses_a_missing_source_before_any_trial(tmp_path, capsys):
    from kzoo.cli import main

    space = tmp_path / "space.yaml"
    space.write_text("set: {optimizer.lr: [0.1, 0.01]}\n")
    out = tmp_path / "search"
    args = ["tune", "lenet5_modern", "--space", str(space), "--output", str(out), "--json"]
    assert main([*args, "--data", f"folder:{tmp_path / 'missing'}"]) == 2
    assert "no such folder" in capsys.readouterr().out and not out.exists()
