"""GPU benchmark: ResNet-50 training throughput, kzoo vs keras.applications (run it where a GPU is lent).

    KERAS_BACKEND=jax python benchmarks/gpu.py                 # batch 256, 224x224, float32 and mixed_bfloat16
    KERAS_BACKEND=tensorflow python benchmarks/gpu.py          # the same on the TF backend (XLA on)
    python benchmarks/gpu.py --batch 8 --size 64 --steps 2     # a smoke run (any machine)

For each precision: training images/s of kzoo's ResNet-50 and of
keras.applications.ResNet50 (same batch, same random data, SGD with
momentum, XLA-compiled train step), their ratio (target: >= 1/1.02 = 0.98,
the declarative layer costs nothing), and the fraction of the device's
measured bf16 matrix-multiply rate the run reaches, counting a training step
as 3x the forward pass's multiply-adds x 2 FLOPs per image (kzoo's static
count: 3.86 G multiply-adds per 224x224 image). Medians over repetitions after
a warm-up (which includes compilation). Writes the figures under "gpu_<backend>"
in benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import median_time  # noqa: E402  (the same medians as benchmarks/run.py)


def matmul_peak(dtype: str, n: int = 8192, reps: int = 10) -> float:
    """The device's measured dense matrix-multiply rate in FLOP/s (n x n by n x n in ``dtype``)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        a = jnp.ones((n, n), dtype)
        f = jax.jit(lambda x: x @ x)

        def once():
            f(a).block_until_ready()
    else:
        import tensorflow as tf

        a = tf.ones((n, n), getattr(tf, dtype))
        f = tf.function(lambda x: tf.matmul(x, x), jit_compile=True)

        def once():
            f(a).numpy()

    return 2 * n**3 / median_time(once, reps, warmup=1)  # the warm-up compiles


def images_per_second(make_model, batch: int, size: int, steps: int, repeat: int) -> float:
    import keras
    import numpy as np

    model = make_model()
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        jit_compile=True,
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 3)).astype("float32")
    y = rng.integers(0, 1000, batch)

    def steps_of_training():
        for _ in range(steps):
            model.train_on_batch(x, y)  # returns host numbers: the step has finished

    return batch * steps / median_time(steps_of_training, repeat, warmup=1)  # the warm-up compiles


def main() -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--peak-n", type=int, default=8192, help="matrix side of the bf16 peak measurement")
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results.json")
    args = p.parse_args()

    import keras

    import kzoo
    from kzoo.files import write_text_atomic

    backend = keras.backend.backend()
    madds = kzoo.analyse(kzoo.find("resnet50"), {"input": [args.size, args.size, 3]}).totals()["madds"]
    device = _device(backend)
    peak = matmul_peak("bfloat16", args.peak_n)
    results: dict = {
        "backend": backend,
        "device": device,
        "batch": args.batch,
        "size": args.size,
        "forward_madds_per_image": madds,
        "bf16_matmul_peak_tflops": peak / 1e12,
    }
    for precision in args.precisions.split(","):
        keras.mixed_precision.set_global_policy(precision)
        ours = images_per_second(lambda: kzoo.load("resnet50", input_shape=(args.size, args.size, 3)), args.batch,
                                 args.size, args.steps, args.repeat)  # fmt: skip
        keras.backend.clear_session()
        ref = images_per_second(
            lambda: keras.applications.ResNet50(weights=None, input_shape=(args.size, args.size, 3)),
            args.batch,
            args.size,
            args.steps,
            args.repeat,
        )
        keras.backend.clear_session()
        flops = 3 * madds * 2 * ours
        results[precision] = {
            "kzoo_images_per_s": ours,
            "keras_applications_images_per_s": ref,
            "ratio": ours / ref,
            "fraction_of_bf16_peak": flops / peak,
        }
        print(
            f"{precision:<15} kzoo {ours:8.1f} img/s  keras.applications {ref:8.1f} img/s  ratio {ours / ref:.3f}  "
            f"{flops / 1e12:.1f} TFLOP/s = {flops / peak:.1%} of the measured bf16 peak ({peak / 1e12:.0f} TFLOP/s)",
            flush=True,
        )
    keras.mixed_precision.set_global_policy("float32")
    worst = min(results[p]["ratio"] for p in args.precisions.split(","))
    results.update(ratio=worst, target=">= 0.98 (kzoo vs keras.applications images/s)", holds=worst >= 0.98)
    if not args.no_save:
        out = HERE / "results.json"
        old = json.loads(out.read_text()) if out.is_file() else {}
        old[f"gpu_{backend}"] = {**results, "date": time.strftime("%Y-%m-%d")}
        write_text_atomic(out, json.dumps(old, indent=2) + "\n")
    return results


def _device(backend: str) -> str:
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return f"{d.platform}: {getattr(d, 'device_kind', d)} x{len(jax.devices())}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU(s)" if gpus else "CPU"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main()
