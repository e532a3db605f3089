"""Run directories (kzoo.train.rundir): a lock, settings compared on resume, cleanup of a failed start."""

from __future__ import annotations

import json

import pytest

from kzoo.errors import KzooError, SpecError
from kzoo.train.rundir import RunDir, differences


def test_differences_name_dotted_keys():
    old = {"recipe": {"seed": 0, "optimizer": {"name": "adam", "lr": 0.001}}, "data": {"source": "digits"}}
    new = {"recipe": {"seed": 2, "optimizer": {"name": "sgd", "lr": 0.001}}, "data": {"source": "digits"}}
    assert differences(old, new) == ["recipe.optimizer.name", "recipe.seed"]
    assert differences(old, old) == []


def test_a_run_directory_locks_resumes_reports_and_refuses(tmp_path):
    path = tmp_path / "run"
    settings = {"recipe": {"seed": 0}}
    with RunDir.open(path) as run:
        run.check("train", settings)
        with pytest.raises(KzooError, match=r"in use by another kzoo process \(PID"):
            RunDir.open(path)  # the same process, another open file: flock refuses it too
        run.started = True
    assert json.loads((path / "run.json").read_text())["status"] == "running"
    with RunDir.open(path) as run:
        run.check("train", settings)
        assert run.resuming and run.finished_results is None
        (path / "results.json").write_text('{"test_accuracy": 0.5}')
        run.finish()
    assert not (path / ".lock").exists()  # a finished run directory holds nothing of the lock
    with RunDir.open(path) as run:
        run.check("train", settings)
        assert run.finished_results == {"test_accuracy": 0.5}
    with RunDir.open(path) as run, pytest.raises(SpecError, match=r"other settings \(recipe.seed differ"):
        run.check("train", {"recipe": {"seed": 1}})
    with RunDir.open(path) as run, pytest.raises(SpecError, match="not a finetune run"):
        run.check("finetune", settings)
    with RunDir.open(path) as run:
        run.check("train", {"recipe": {"seed": 1}}, overwrite=True)
        assert not (path / "results.json").exists() and not run.resuming


def test_a_failed_start_removes_the_directory_it_created_and_nothing_else(tmp_path):
    path = tmp_path / "new"
    with pytest.raises(RuntimeError), RunDir.open(path):
        raise RuntimeError("bad data")
    assert not path.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "run.json").write_text(json.dumps({"kind": "train", "status": "running", "settings": {}}))
    with pytest.raises(RuntimeError), RunDir.open(kept):
        raise RuntimeError("bad data")
    assert (kept / "run.json").is_file()


def test_a_folder_of_other_things_is_not_taken_over(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="not a kzoo run directory"):
        RunDir.open(tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(SpecError, match="is a file"):
        RunDir.open(tmp_path / "f")
