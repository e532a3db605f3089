"""Benchmark: the README's main job, `kzoo train lenet5`, as a user runs it.

Whole-process wall time (TensorFlow's import included) and the test accuracy
it reaches on the built-in digits. Targets: accuracy >= 0.98, wall < 60 s on
the project's 2-core CPU machine. Run: python benchmarks/main_job.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "kzoo.cli", "train", "lenet5", "--output", tmp, "--set", "verbose=0"],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        accuracy = json.loads((Path(tmp) / "results.json").read_text())["test_accuracy"]
    return wall, accuracy


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [run_once() for _ in range(args.repeat)]
    walls, accs = [w for w, _ in runs], [a for _, a in runs]
    result = {
        "name": "main_job",
        "wall_seconds_median": round(statistics.median(walls), 1),
        "wall_seconds": [round(w, 1) for w in walls],
        "test_accuracy": accs,
        "target": "test_accuracy >= 0.98 and wall < 60 s",
        "holds": min(accs) >= 0.98 and max(walls) < 60,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
