"""Run directories: one process at a time, resumed only with the same settings, never left half-made.

A run directory is marked by ``run.json`` (what kind of run, its resolved
settings — recipe and architecture — and whether it finished). Opening one:

* takes an exclusive lock (``.lock``, ``fcntl.flock``: released by the kernel
  when the process dies, even by kill -9); a second process refuses at once,
  naming the first one; the holder removes ``.lock`` when it is done;
* refuses a folder that holds other things and no ``run.json`` (``--output ~``
  must not become a run directory);
* compares the settings with the saved ones: equal — an unfinished run resumes,
  a finished one is reported and not trained again; different — refused, naming
  the differing keys, unless ``--overwrite`` (which removes kzoo's files and
  starts again);
* and, if the run fails before training starts (bad data, a recipe that does not
  fit the model), removes the directory again when it created it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError, SpecError, clip, short
from kzoo.files import read_bytes, write_text_atomic
from kzoo.saved import MODEL_FILE

# The layout of a run directory: every file name kzoo reads or writes there, in one place.
MARKER = "run.json"  # what kind of run, its settings, whether it finished
LOCK = ".lock"
MODEL = MODEL_FILE  # model.keras: the best weights, with kzoo.json (kzoo.saved)
BEST = "best.keras"  # the checkpoint of the best validation score
RECIPE = "recipe.yaml"  # the resolved recipe
LOG = "log.csv"  # one row per epoch: metrics, learning rate, momentum (read_log, read_rows)
RESULTS = "results.json"  # test scores and how the run ended
#: What kzoo writes in a run directory (removed by --overwrite); anything else there is left alone.
ARTIFACTS = [
    MODEL,
    BEST,
    RECIPE,
    LOG,
    RESULTS,
] + "tensorboard backup backup-head backup-unfreeze backup-features phases".split()


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two settings trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


class RunDir:
    """An open, locked run directory. Use :meth:`open`; a ``with`` block removes it on early failure."""

    def __init__(self, path: Path, created: bool, fd: int):
        self.path = path
        self.created = created
        self.fd = fd
        self.started = False  # set once training writes state worth keeping
        self.finished_results: dict[str, Any] | None = None
        self.resuming = False

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """Create (or find) the directory and lock it; :meth:`check` then compares the settings."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise SpecError(f"--output {path} is a file, not a directory", hint="choose another --output")
        created = not path.exists()
        if not created and not (path / MARKER).is_file():
            others = [p.name for p in path.iterdir() if not p.name.startswith((".", "worker-", "chief-"))]
            if others:
                raise SpecError(
                    f"--output {path} is not empty and not a kzoo run directory (it holds {others[0]!r} ...)",
                    hint="give a new or empty directory",
                )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise SpecError(
                f"cannot create --output {path}: a file is in the way", hint="choose another --output"
            ) from None
        return cls(path, created, _lock(path))

    def check(self, kind: str, settings: dict[str, Any], overwrite: bool = False) -> None:
        """Resume, report a finished run (``finished_results``), or refuse other settings; then mark it running."""
        marker = self.path / MARKER
        previous = None
        if marker.is_file():
            try:
                previous = json.loads(marker.read_text())
            except (OSError, ValueError):
                previous = None
        if previous is not None and overwrite:
            self.clear()
            previous = None
        if previous is not None:
            if previous.get("kind") != kind:
                raise SpecError(
                    f"{self.path} holds a kzoo {previous.get('kind')} run, not a {kind} run",
                    hint="choose another --output",
                )
            diff = differences(previous.get("settings"), settings)
            if diff:
                shown = ", ".join(diff[:5]) + (f" and {len(diff) - 5} more" if len(diff) > 5 else "")
                raise SpecError(
                    f"{self.path} holds a run with other settings ({shown} differ)",
                    hint="rerun with the same settings to resume, --overwrite to start again, or another --output",
                )
            if previous.get("status") == "finished" and (self.path / RESULTS).is_file():
                self.finished_results = json.loads((self.path / RESULTS).read_text())
                return
            self.resuming = True
        record = {
            "kind": kind,
            "status": "running",
            "settings": settings,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        write_text_atomic(marker, json.dumps(record, indent=2, default=str) + "\n")

    def clear(self) -> None:
        """Remove what kzoo wrote here (for --overwrite)."""
        for name in (*ARTIFACTS, MARKER):
            p = self.path / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def finish(self) -> None:
        marker = self.path / MARKER
        record = json.loads(marker.read_text())
        record.update(status="finished", finished=time.strftime("%Y-%m-%d %H:%M:%S"))
        write_text_atomic(marker, json.dumps(record, indent=2, default=str) + "\n")

    def close(self, failed: bool = False) -> None:
        if failed and self.created and not self.started:
            shutil.rmtree(self.path, ignore_errors=True)
        try:
            (self.path / LOCK).unlink(missing_ok=True)  # while still held: nothing of kzoo's is left behind
        except OSError:
            pass
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        except OSError:
            pass
        self.fd = -1

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        self.close(failed=kind is not None)
        return False


def _lock(path: Path) -> int:
    """The lock of ``path``, held. The holder removes ``.lock`` when it closes, so a lock taken on a file that
    was removed meanwhile is let go and taken again on the new one."""
    for _ in range(100):
        fd = _try_lock(path)
        try:
            same = os.fstat(fd).st_ino == os.stat(path / LOCK).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"PID {os.getpid()}, since {time.strftime('%H:%M:%S')}".encode())
            return fd
        os.close(fd)
    raise KzooError(f"{path}: could not lock {LOCK}", "another process keeps replacing it; try again")


def _try_lock(path: Path) -> int:
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            other = os.read(fd, 200).decode(errors="replace").strip() or "?"
        except OSError:
            other = "?"
        os.close(fd)
        raise KzooError(
            f"{path} is in use by another kzoo process ({other})",
            "wait for it to finish, or give another --output",
        ) from None
    return fd


def read_rows(path: str | Path, before_epoch: int | None = None) -> list[dict[str, Any]]:
    """The rows of a log.csv as kzoo.train.callbacks.EpochLog writes it (those of epochs before ``before_epoch``),
    to continue it on resume; a row that cannot be read is left out."""

    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            try:
                row = {"epoch": int(r.pop("epoch"))}
                row.update({k: float(v) for k, v in r.items() if v not in ("NA", "", None)})
            except (ValueError, TypeError, KeyError):
                continue
            rows.append(row)
    return [r for r in rows if before_epoch is None or r["epoch"] < before_epoch]


LOG_BYTES = 64 << 20  # a log.csv row is ~200 bytes an epoch


def read_log(run: str | Path) -> dict[str, list[float]]:
    """The per-epoch columns of a run directory's log.csv (or of such a file), refusing anything else (a file
    from anywhere: kzoo inspect curves); NaN where a cell is NA."""
    path = Path(run)
    path = path / LOG if path.is_dir() else path
    hint = "give a run directory of kzoo train (it holds log.csv)"
    if not path.exists():
        raise SpecError(f"no training log at {path}", hint=hint)
    try:
        text = read_bytes(path, "training log", LOG_BYTES, hint).decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not a training log (not UTF-8 text)", hint=hint) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise SpecError(f"{path} is not a training log (it holds binary data)", hint=hint)
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows, header = list(reader), set(reader.fieldnames or ())
    except csv.Error:
        raise SpecError(f"{path} is not a training log (not CSV text)", hint=hint) from None
    if "epoch" not in header or not header & {"loss", "accuracy"}:
        raise SpecError(f"{path} is not a training log: it has no epoch and loss columns", hint=hint)
    if not rows:
        raise SpecError(f"{path} holds no epochs yet")
    for line, row in enumerate(rows, start=2):  # CSVLogger writes numbers, "NA" where a value is missing
        bad = [k for k, v in row.items() if k is None or v is None or not _cell_ok(k, v)]
        if bad:
            column = bad[0] if bad[0] is not None else "(extra cells)"
            raise SpecError(
                f"{path}:{line}: {clip(column, 40)} is {short(row.get(column), 40)}, not a number",
                hint="a log.csv of kzoo train has one number per column and epoch",
            )
    return {k: [_number(r.get(k)) for r in rows] for k in reader.fieldnames if k != "epoch"}


def _cell_ok(column: str, text: str) -> bool:
    if column == "epoch":
        return text.strip().isdigit()
    if text.strip() in ("NA", ""):
        return True
    try:
        float(text)
        return True
    except ValueError:
        return False


def _number(text: str | None) -> float:
    """A CSV cell as a float; CSVLogger's "NA" (and anything else unreadable) is NaN."""
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
