"""Ratio benchmarks: kzoo against the baseline a user would pick instead, in one run.

    python benchmarks/run.py [--quick] [NAME ...]

Prints a table and writes benchmarks/results.json (each benchmark: its ratio,
its target, whether it holds). Timings are medians of several repetitions
after warm-up; no timing goes into tests. Names: static, build, train_step,
input_pipeline, main_job, whole_job.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def median_times(fns: list, repeat: int, warmup: int = 1) -> list[float]:
    """Medians of several functions timed in turn (A, B, A, B, ...): a drift in the machine's speed hits both."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def median_time(fn, repeat: int, warmup: int = 1) -> float:
    return median_times([fn], repeat, warmup)[0]


def process(args: list[str]) -> None:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])


def bench_static(repeat: int) -> dict:
    """`kzoo summary resnet152` (no TensorFlow) vs building keras.applications.ResNet152 and summary()."""
    ours, ref = median_times(
        [
            lambda: process(["-m", "kzoo.cli", "summary", "resnet152"]),
            lambda: process(["-c", "import keras; keras.applications.ResNet152(weights=None).summary()"]),
        ],
        repeat,
        0,
    )
    return {"kzoo_s": ours, "baseline_s": ref, "ratio": ours / ref, "target": "< 0.1", "holds": ours / ref < 0.1}


def bench_build(repeat: int) -> dict:
    """kzoo.load(NAME) vs the keras.applications constructor, same process, after warm-up.

    ResNet-50 is loaded with init=glorot_uniform, keras.applications' initializer: the
    paper's he_normal draws truncated normals, which cost more than the declarative layer.
    """
    import keras

    import kzoo

    rows = {}
    same_init = {"resnet50": {"init": "glorot_uniform"}}
    for name, ref in (("vgg16", "VGG16"), ("resnet50", "ResNet50"), ("inception_v3", "InceptionV3")):
        ours, base = median_times(
            [
                lambda n=name: kzoo.load(n, **same_init.get(n, {})),
                lambda r=ref: getattr(keras.applications, r)(weights=None),
            ],
            repeat,
        )
        rows[name] = {"kzoo_s": ours, "baseline_s": base, "ratio": ours / base}
    worst = max(r["ratio"] for r in rows.values())
    return {"models": rows, "ratio": worst, "target": "<= 1.1", "holds": worst <= 1.1}


def bench_train_step(repeat: int) -> dict:
    """Train-step time of kzoo's ResNet-50 vs keras.applications.ResNet50, same batch and backend."""
    import keras
    import numpy as np

    import kzoo

    shape, batch = (128, 128, 3), 8
    x = np.random.default_rng(0).normal(size=(batch, *shape)).astype("float32")
    y = np.arange(batch) % 10

    def step(model):
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        return lambda: model.train_on_batch(x, y)

    def ours_model():
        return kzoo.load("resnet50", input_shape=shape, classes=10)

    def base_model():
        return keras.applications.ResNet50(weights=None, input_shape=shape, classes=10)

    # The model built first in a process steps 1-4% slower here, whichever it is: time both build
    # orders, each on a fresh pair, and take the geometric mean, so the order cancels.
    kzoo_first = median_times([step(ours_model()), step(base_model())], repeat, warmup=2)
    base_first = median_times([step(base_model()), step(ours_model())], repeat, warmup=2)[::-1]
    ours = statistics.geometric_mean([kzoo_first[0], base_first[0]])
    base = statistics.geometric_mean([kzoo_first[1], base_first[1]])
    return {
        "kzoo_s": ours,
        "baseline_s": base,
        "ratio": ours / base,
        "ratio_by_build_order": {
            "kzoo_first": kzoo_first[0] / kzoo_first[1],
            "baseline_first": base_first[0] / base_first[1],
        },
        "target": "<= 1.02",
        "holds": ours / base <= 1.02,
        "setup": f"ResNet-50, batch {batch}, {shape}, CPU",
    }


def bench_input_pipeline(repeat: int) -> dict:
    """Training steps/s with the full augmentation pipeline vs on cached, unaugmented tensors."""
    import numpy as np

    import kzoo
    from kzoo.train.augment import apply, make_augmenter
    from kzoo.train.data import load_data
    from kzoo.train.recipe import AugmentSection, DataSection, ElasticSection

    shape = (32, 32, 3)
    splits = load_data(DataSection(pad=4), shape)
    # The whole training set (1,259 images) in one pass; it is also the colour-PCA sample, as in kzoo train.
    batches = [(x.numpy(), y.numpy()) for x, y in splits.train.batch(500)]
    images, labels = np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    spec = AugmentSection(
        crop_padding=2,
        flip="horizontal",
        zoom=0.1,
        shift=0.08,
        rotation=10,
        color_pca=0.1,
        elastic=ElasticSection(alpha=4, sigma=3),
    )
    augment = make_augmenter(spec, shape, images, 0)
    import tensorflow as tf

    passes = 4  # epochs per timing: a pass over 1,259 images is only 39 steps
    full = apply(splits.train.cache().shuffle(2000, seed=0).repeat(passes), augment, 0, 32)
    full = full.prefetch(tf.data.AUTOTUNE)
    cached = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(32, drop_remainder=True)
        .cache()
        .repeat(passes)
        .prefetch(tf.data.AUTOTUNE)
    )
    model = kzoo.load("lenet5_modern", input_shape=shape)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(cached, epochs=1, verbose=0)
    steps, aug_steps = passes * (len(labels) // 32), passes * len(labels) // 32
    aug_s, base_s, alone_s = median_times(
        [
            lambda: model.fit(full, epochs=1, verbose=0),
            lambda: model.fit(cached, epochs=1, verbose=0),
            lambda: sum(1 for _ in full),  # the pipeline with no model: what it delivers with the cores to itself
        ],
        repeat,
    )
    ratio = (aug_steps / aug_s) / (steps / base_s)
    return {
        "augmented_steps_per_s": aug_steps / aug_s,
        "cached_steps_per_s": steps / base_s,
        "pipeline_alone_batches_per_s": aug_steps / alone_s,
        "ratio": ratio,
        "target": ">= 0.95",
        "holds": ratio >= 0.95,
    }


def bench_main_job(repeat: int) -> dict:
    sys.argv = [sys.argv[0], "--repeat", str(repeat)]
    sys.path.insert(0, str(HERE))
    import main_job

    result = main_job.main()
    return {**result, "ratio": None}


def _timed_process(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one whole process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_whole_job(repeat: int) -> dict:
    """`kzoo train lenet5_modern --recipe benchmarks/whole_job_recipe.yaml` against the same job written by hand in
    Keras (benchmarks/whole_job_script.py: the same model, data, recipe and 30 epochs, early stopping off): whole
    processes, start-up included, timed in turn (A, B, A, B), medians."""
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp())
    ours, ref = [], []
    for _ in range(repeat):
        shutil.rmtree(work / "run", ignore_errors=True)
        ours.append(
            _timed_process(
                [
                    "-m",
                    "kzoo.cli",
                    "train",
                    "lenet5_modern",
                    "--recipe",
                    str(HERE / "whole_job_recipe.yaml"),
                    "--output",
                    str(work / "run"),
                ],
                work,
            )
        )
        ref.append(_timed_process([str(HERE / "whole_job_script.py")], work))
    shutil.rmtree(work, ignore_errors=True)
    wall = statistics.median(a for a, _ in ours) / statistics.median(a for a, _ in ref)
    cpu = statistics.median(b for _, b in ours) / statistics.median(b for _, b in ref)
    return {
        "kzoo_wall_s": statistics.median(a for a, _ in ours),
        "script_wall_s": statistics.median(a for a, _ in ref),
        "cpu_ratio": cpu,
        "ratio": wall,
        "target": "<= 1.1 (wall; whole processes)",
        "holds": wall <= 1.1,
    }


BENCHMARKS = {
    "static": bench_static,
    "build": bench_build,
    "train_step": bench_train_step,
    "input_pipeline": bench_input_pipeline,
    "main_job": bench_main_job,
    "whole_job": bench_whole_job,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    results = {}
    for name in args.names or list(BENCHMARKS):
        results[name] = BENCHMARKS[name](repeat if name not in ("main_job", "whole_job") else (1 if args.quick else 3))
        r = results[name]
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.3f}"
        print(f"{name:<16} ratio {ratio:>8}  target {r['target']:<40} holds: {r['holds']}", flush=True)
    out = HERE / "results.json"
    old = json.loads(out.read_text()) if out.is_file() else {}
    old.update(results)
    out.write_text(
        json.dumps({**old, "_machine": f"{os.cpu_count()} CPUs", "_date": time.strftime("%Y-%m-%d")}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
