"""A small photo folder trained from scratch with kzoo's defaults: the practitioner's first run, measured.

Writes a folder of 64x64 colour photos of three shapes (circle, square, triangle; random colours, sizes and
positions on a random background; 80 per class, seeded), then runs ``kzoo train NAME --data folder:...``
with nothing else but the input size, over three seeds, and prints the test accuracies (chance: 1/3).

    python benchmarks/small_photos.py [--models resnet18 lenet5_modern] [--seeds 0 1 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")


def write_folder(root: Path, per_class: int = 80, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            back = tuple(int(v) for v in rng.integers(0, 256, 3))
            fore = tuple(int(v) for v in (np.array(back) + rng.integers(80, 176, 3)) % 256)
            image = Image.new("RGB", (size, size), back)
            draw = ImageDraw.Draw(image)
            r = rng.uniform(0.15, 0.35) * size
            cx, cy = rng.uniform(r, size - r, 2)
            if name == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fore)
            elif name == "square":
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fore)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fore)
            noise = rng.normal(0, 8, (size, size, 3))
            array = np.clip(np.asarray(image, dtype="float32") + noise, 0, 255).astype("uint8")
            Image.fromarray(array).save(root / name / f"{i:03d}.png")
    return root


def run(model: str, folder: Path, seed: int, out: Path, extra: list[str]) -> dict:
    args = [sys.executable, "-m", "kzoo.cli", "train", model, "--data", f"folder:{folder}", "--seed", str(seed),
            "--output", str(out / f"{model}-{seed}"), "--overwrite", "--json", *extra]  # fmt: skip
    if model != "lenet5_modern":
        args += ["--param", "input=[64,64,3]"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["resnet18", "lenet5_modern"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", default="/tmp/kzoo-small-photos")
    p.add_argument("extra", nargs="*", help="more kzoo train arguments (after --)")
    a = p.parse_args()
    out = Path(a.out)
    folder = out / "photos"
    if not folder.is_dir():
        write_folder(folder)
    table = {}
    for model in a.models:
        scores = []
        for seed in a.seeds:
            r = run(model, folder, seed, out / "runs", a.extra)
            scores.append(r["test_accuracy"])
            print(f"{model} seed {seed}: test {r['test_accuracy']:.3f}, {r['epochs_run']} epochs, {r['stopped']}",
                  f"{r['wall_seconds']:.0f} s", flush=True)  # fmt: skip
        table[model] = {"mean": statistics.mean(scores), "std": statistics.pstdev(scores), "scores": scores}
        print(f"{model}: {table[model]['mean']:.3f} ± {table[model]['std']:.3f} over seeds {a.seeds}", flush=True)
    print(json.dumps(table))


if __name__ == "__main__":
    main()
