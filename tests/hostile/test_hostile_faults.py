"""File-system faults and concurrency: a kill -9 or a full disk during training and during a save, two runs into
one output, reruns with other settings, a read-only disk, leftovers of killed writers.

The full-disk and read-only cases mount a small tmpfs (they need root, as CI has; they skip, saying so,
where mounting is not allowed). Subprocesses run the real CLI; a kill during a save is injected by a
test-side wrapper that patches Keras' writer to write half a file and SIGKILL its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, run_kzoo

FAST = ["--epochs", "3", "--set", "verbose=0", "--set", "callbacks.tensorboard=false"]
TRAIN = ["train", "lenet5_modern", *FAST]


@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()[:200]}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True, capture_output=True)


def clean_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith(("kzoo:", "  hint:"))]
    assert lines and len(lines) <= 4, result.stderr[-3000:]
    for needle in needles:
        assert needle.lower() in result.stderr.lower(), (needle, result.stderr[-2000:])


def complete(run: Path) -> None:
    """Whatever the run directory holds is whole: JSON parses, the log parses, a model loads, no temporaries."""
    import keras

    import kzoo  # noqa: F401

    for f in run.rglob("*.json"):
        json.loads(f.read_text())
    if (run / "log.csv").is_file():
        rows = (run / "log.csv").read_text().strip().splitlines()
        assert all(len(r.split(",")) == len(rows[0].split(",")) for r in rows), rows
    for name in ("model.keras", "best.keras"):
        if (run / name).is_file():
            keras.saving.load_model(run / name)
    assert not [p for p in run.glob(".*tmp*") if p.is_file()], list(run.glob(".*tmp*"))


def killer(code_before: str, argv: list[str]) -> str:
    """Python code that patches something (``code_before``) and then runs the kzoo CLI with ``argv``."""
    return textwrap.dedent(code_before) + f"\nimport sys\nfrom kzoo.cli import main\nsys.exit(main({argv!r}))\n"


DIE_IN_BACKUP = """
import os, signal, keras
original = keras.Model.save_weights
calls = []
def save_weights(self, path, *args, **kwargs):
    calls.append(path)
    if len(calls) == 2:  # the second epoch's backup: half a file, then a kill -9
        with open(path, "wb") as f:
            f.write(b"\\x89HDF\\r\\n\\x1a\\n half of a weights file")
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, path, *args, **kwargs)
keras.Model.save_weights = save_weights
"""

DIE_IN_MODEL_SAVE = """
import os, signal, keras
original = keras.Model.save
def save(self, path, *args, **kwargs):
    if str(path).endswith(".keras") and "model" in os.path.basename(str(path)):
        with open(path, "wb") as f:
            f.write(b"PK\\x03\\x04 half of a zip")
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, path, *args, **kwargs)
keras.Model.save = save
"""


def python(code: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


@pytest.mark.slow
def test_kill_during_a_backup_leaves_the_last_good_one_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    killed = python(killer(DIE_IN_BACKUP, [*TRAIN, "--output", str(out)]))
    assert killed.returncode == -9, killed.stderr[-2000:]
    latest = json.loads((out / "backup" / "latest.json").read_text())
    assert latest["epoch"] == 1  # the half-written second backup never became the latest
    complete(out)
    resumed = run_kzoo(*TRAIN, "--output", out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stderr and "epoch 2" in resumed.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["epochs_run"] == 3 and results["epochs_this_session"] == 2
    assert len((out / "log.csv").read_text().strip().splitlines()) == 1 + 3  # every epoch's row kept
    assert not list((out).rglob(".e*.tmp")) and not (out / "backup").exists()
    complete(out)


@pytest.mark.slow
def test_kill_during_the_model_save_never_leaves_a_partial_model(tmp_path):
    out = tmp_path / "run"
    killed = python(killer(DIE_IN_MODEL_SAVE, [*TRAIN, "--output", str(out)]))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (out / "model.keras").exists() and not (out / "results.json").exists()
    assert list(out.glob(".model.*.tmp.keras"))  # what the kill left
    resumed = run_kzoo(*TRAIN, "--output", out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not list(out.glob(".model.*.tmp.keras"))  # removed by the next save of model.keras
    assert json.loads((out / "results.json").read_text())["epochs_this_session"] == 0  # nothing retrained
    complete(out)


@pytest.mark.slow
def test_a_full_disk_during_training_stops_with_one_line_and_the_run_resumes(tmp_path):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        out = disk / "run"
        full = run_kzoo(*TRAIN, "--output", out)
        clean_error(full, "full")
        assert full.returncode != -11 and full.returncode != 139
        complete(out)
        remount(disk, "size=64m")
        resumed = run_kzoo(*TRAIN, "--output", out)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert json.loads((out / "results.json").read_text())["epochs_run"] == 3
        complete(out)


FILL_BEFORE_SAVE = """
import kzoo.train.fit as fit
original = fit.evaluate_test
def evaluate_then_fill_the_disk(*args, **kwargs):
    scores = original(*args, **kwargs)
    with open({ballast!r}, "wb") as f:
        try:
            while True:
                f.write(bytes(1 << 16))
                f.flush()
        except OSError:
            pass
    return scores
fit.evaluate_test = evaluate_then_fill_the_disk
"""

NO_SPACE_CHECK = """
import sys, kzoo.files, kzoo.saved, kzoo.train.backup
for module in ("kzoo.files", "kzoo.saved", "kzoo.train.backup"):
    sys.modules[module].check_space = lambda *args, **kwargs: None  # let the writer itself hit the full disk
"""


@pytest.mark.slow
@pytest.mark.parametrize("checked", [True, False], ids=["space-checked", "writer-fails"])
def test_a_full_disk_during_the_final_save_keeps_the_backup_to_finish_from(tmp_path, checked):
    with tmpfs(tmp_path / "disk", "64m") as disk:
        out, ballast = disk / "run", disk / "ballast"
        patch = FILL_BEFORE_SAVE.format(ballast=str(ballast)) + ("" if checked else NO_SPACE_CHECK)
        full = python(killer(patch, [*TRAIN, "--output", str(out)]))
        clean_error(full, "full" if checked else "no space left")
        assert not (out / "model.keras").exists() and (out / "backup" / "latest.json").is_file()
        complete(out)
        ballast.unlink()
        again = run_kzoo(*TRAIN, "--output", out)
        assert again.returncode == 0, again.stderr[-2000:]
        assert json.loads((out / "results.json").read_text())["epochs_this_session"] == 0  # nothing retrained
        complete(out)


@pytest.mark.slow
def test_two_runs_into_one_output_the_second_refuses_at_once(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    long = ["train", "lenet5_modern", "--epochs", "500", "--set", "verbose=0", "--set", "callbacks.early_stopping=null"]
    first = subprocess.Popen(
        [sys.executable, "-m", "kzoo.cli", *long, "--output", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (out / "backup" / "latest.json").is_file() and time.time() < deadline and first.poll() is None:
            time.sleep(0.05)  # until the first run is training
        assert first.poll() is None, first.stderr.read()[-2000:]
        second = run_kzoo(*long, "--output", out, timeout=120)
        clean_error(second, "in use by another kzoo process", f"PID {first.pid}")
        assert first.poll() is None  # the second touched nothing: the first trains on
    finally:
        first.terminate()
        first.communicate(timeout=120)
    complete(out)


@pytest.mark.slow
def test_reruns_resume_report_refuse_or_overwrite(tmp_path):
    out = tmp_path / "run"
    assert run_kzoo(*TRAIN, "--output", out).returncode == 0
    mtime = (out / "model.keras").stat().st_mtime
    same = run_kzoo(*TRAIN, "--output", out)
    assert same.returncode == 0 and "finished run" in same.stdout
    assert (out / "model.keras").stat().st_mtime == mtime  # not trained again
    other = run_kzoo(*TRAIN, "--seed", "2", "--optimizer", "sgd", "--output", out)
    clean_error(other, "recipe.seed", "recipe.optimizer.name", "--overwrite")
    again = run_kzoo(*TRAIN, "--seed", "2", "--optimizer", "sgd", "--output", out, "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "results.json").read_text())["seed"] == 2
    complete(out)


def test_output_that_is_not_a_run_directory_is_left_alone(tmp_path, capsys):
    from kzoo.cli import main

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("years of work")
    assert main([*TRAIN, "--output", str(tmp_path / "home"), "--overwrite"]) == 2
    assert "not a kzoo run directory" in capsys.readouterr().err
    assert (tmp_path / "home" / "thesis.tex").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    assert main([*TRAIN, "--output", str(tmp_path / "file" / "run")]) == 2
    assert "file" in capsys.readouterr().err


def test_a_locked_output_is_refused_naming_the_holder(tmp_path, capsys):
    import fcntl

    from kzoo.cli import main

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "w") as holder:
        holder.write("PID 4242, since 12:00:00")
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main([*TRAIN, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "in use by another kzoo process (PID 4242" in err and len(err.strip().splitlines()) <= 2


def test_a_read_only_disk_is_one_clear_line(tmp_path, capsys):
    from kzoo.cli import main

    with tmpfs(tmp_path / "ro", "1m") as disk:
        remount(disk, "ro")
        assert main(["build", "lenet5", "-o", str(disk / "m.keras")]) == 2
        err = capsys.readouterr().err
        assert "read-only" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_stale_temporaries_of_dead_writers_are_removed_by_the_next_save(tmp_path):
    from kzoo.files import write_text_atomic

    dead = tmp_path / ".results.99999999.tmp.json"
    dead.write_text("{half")
    alive = tmp_path / f".results.{os.getppid()}.tmp.json"  # a running process's: kept
    alive.write_text("{")
    write_text_atomic(tmp_path / "results.json", "{}\n")
    assert not dead.exists() and alive.exists() and (tmp_path / "results.json").read_text() == "{}\n"


def test_a_damaged_backup_is_set_aside_and_training_starts_afresh(tmp_path):
    import keras

    from kzoo.train.backup import Backup

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    backup = Backup(tmp_path / "backup")
    backup.set_model(model)
    backup.save(2)
    (tmp_path / "backup" / "e0002" / "model.weights.h5").write_bytes(b"garbage")
    assert Backup(tmp_path / "backup").restore(model) == 0
    assert (tmp_path / "backup" / "e0002.unreadable").is_dir()
