"""Are features generic? A miniature of the lectures' feature-transfer table, on scikit-learn's digits.

Pretrain LeNet-5 (modern) on the digits 0-4, then learn the digits 5-9 from
k = 1, 2, 5, 10, 20 or all training images per class, three ways:

  scratch   a fresh LeNet-5, every layer trained;
  finetune  the pretrained network cut below its classifier, a new softmax head
            trained on the frozen backbone, then every layer unfrozen at a tenth
            of the learning rate (kzoo.transfer: cut, freeze, attach_head, unfreeze);
  features  the frozen backbone's features exported once, a softmax classifier fit on them;
  lower     only the lower layers transferred (C1-S4, frozen), a new top (flatten, 84 ReLU units,
            softmax) trained on them - Yosinski et al.'s question of which layers are generic.

Each cell is the mean (and spread) of the test accuracy over several seeds
(the k images drawn anew, the new layers initialised anew). Writes a Markdown
table and a plot:

    python examples/transfer_digits.py                 # docs/transfer_digits.md and .svg
    python examples/transfer_digits.py --quick --out /tmp/t
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

NEW_TOP = """
- flatten: {}
- dense: {units: 84, activation: relu, init: he_normal}
- dense: {units: $classes, activation: softmax}
"""
METHODS = ("scratch", "finetune", "features", "lower")


def arrays(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset.batch(512)], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def sample(x, y, k, rng):
    """k images of every class (all of them when k is None)."""
    if k is None:
        return x, y
    picks = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)])
    return x[picks], y[picks]


def fit(model, x, y, steps, lr, seed):
    """``steps`` Adam steps on (x, y), batches of up to 32 reshuffled each pass (same budget for every k)."""
    import keras
    import tensorflow as tf

    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    batch = min(32, len(x))
    data = tf.data.Dataset.from_tensor_slices((x, y)).repeat().shuffle(len(x), seed=seed).batch(batch)
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return model


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=256), axis=1) == y))


def run(ks, seeds, steps, out: Path, layer: str | None = None) -> dict:
    import keras

    import kzoo
    from kzoo.train.data import load_data
    from kzoo.train.recipe import DataSpec
    from kzoo.transfer import attach_head, cut, freeze, head_model, unfreeze

    splits = load_data(DataSpec(pad=4, validation_split=0.15, test_split=0.25), (32, 32, 1))
    (xtr, ytr), (xte, yte) = arrays(splits.train), arrays(splits.test)
    mean, std = xtr.mean(), xtr.std()
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    source, target = ytr < 5, ytr >= 5

    keras.utils.set_random_seed(0)
    t0 = time.time()
    pretrained = fit(kzoo.load("lenet5_modern", classes=5), xtr[source], ytr[source], 6 * steps, 1e-3, seed=0)
    pre_acc = accuracy(pretrained, xte[yte < 5], yte[yte < 5])
    print(f"pretrained on 0-4: test accuracy {pre_acc:.3f} on 0-4 ({time.time() - t0:.0f} s)")

    xt, yt = xtr[target], ytr[target] - 5
    xe, ye = xte[yte >= 5], yte[yte >= 5] - 5
    backbone = freeze(cut(pretrained, layer))
    pretrained_weights = pretrained.get_weights()
    feats_test = backbone.predict(xe, verbose=0)
    rows = []
    for k in ks:
        scores: dict[str, list[float]] = {"scratch": [], "finetune": [], "features": [], "lower": []}
        for seed in range(seeds):
            rng = np.random.default_rng(1000 * seed + (k or 0))
            x, y = sample(xt, yt, k, rng)
            keras.utils.set_random_seed(seed)
            scratch = fit(kzoo.load("lenet5_modern", classes=5), x, y, steps, 1e-3, seed)
            scores["scratch"].append(accuracy(scratch, xe, ye))

            keras.utils.set_random_seed(seed)
            pretrained.set_weights(pretrained_weights)
            net = attach_head(freeze(cut(pretrained, layer)), classes=5)
            fit(net, x, y, steps // 2, 1e-2, seed)  # the new head, on the frozen backbone
            unfreeze(net, "last:9")  # every conv and dense layer of the backbone
            fit(net, x, y, steps // 2, 1e-3, seed)  # then everything, at a tenth of the rate
            scores["finetune"].append(accuracy(net, xe, ye))

            keras.utils.set_random_seed(seed)
            pretrained.set_weights(pretrained_weights)
            head = head_model(None, (int(backbone.output.shape[-1]),), 5)
            fit(head, backbone.predict(x, verbose=0), y, steps, 1e-2, seed)
            scores["features"].append(accuracy(head, feats_test, ye))

            keras.utils.set_random_seed(seed)
            pretrained.set_weights(pretrained_weights)
            lower = attach_head(freeze(cut(pretrained, "s4")), NEW_TOP, classes=5)
            fit(lower, x, y, steps, 1e-3, seed)
            scores["lower"].append(accuracy(lower, xe, ye))
        row = {"k": "all" if k is None else k, "images": int(len(sample(xt, yt, k, np.random.default_rng(0))[0]))}
        for name, values in scores.items():
            row[name] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "runs": values}
        rows.append(row)
        print(f"k={row['k']!s:>4}: " + ", ".join(f"{n} {row[n]['mean']:.3f} ± {row[n]['std']:.3f}" for n in METHODS))
    results = {
        "pretrained_test_accuracy_0_4": pre_acc,
        "seeds": seeds,
        "steps": steps,
        "cut": layer or "below the classifier",
        "test_images_5_9": int(len(ye)),
        "rows": rows,
        "wall_seconds": round(time.time() - t0, 1),
    }
    write(results, out)
    return results


def write(results: dict, out: Path) -> None:
    from kzoo.files import write_text_atomic
    from kzoo.inspect.pictures import pyplot

    plt = pyplot()

    out.parent.mkdir(parents=True, exist_ok=True)
    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = np.arange(len(rows))
    for name, style in zip(METHODS, ("o-", "s-", "^-", "d-"), strict=True):
        mean = [r[name]["mean"] for r in rows]
        std = [r[name]["std"] for r in rows]
        ax.errorbar(xs, mean, yerr=std, fmt=style, capsize=3, label=name)
    ax.set_xticks(xs, [str(r["k"]) for r in rows])
    ax.set_xlabel("training images per class (digits 5-9)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("LeNet-5 pretrained on digits 0-4, transferred to 5-9")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".svg"))
    plt.close(fig)

    lines = [
        "# Are features generic? Transfer from digits 0-4 to 5-9",
        "",
        "Generated by `python examples/transfer_digits.py` (scikit-learn's 8x8 digits, padded to 32x32;",
        f"LeNet-5 modern pretrained on 0-4 reaches {results['pretrained_test_accuracy_0_4']:.3f} test accuracy "
        "on 0-4).",
        f"Test accuracy on {results['test_images_5_9']} test images of 5-9, mean ± std over "
        f"{results['seeds']} seeds; every method gets {results['steps']} Adam steps.",
        "",
        "| images per class | scratch | fine-tune (head, then all layers) | features + softmax "
        "| lower layers (C1-S4 frozen) + new top |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[n]['mean']:.3f} ± {r[n]['std']:.3f}" for n in METHODS]
        lines.append(f"| {r['k']} ({r['images']} images) | " + " | ".join(cells) + " |")
    lines += ["", f"![transfer]({out.with_suffix('.svg').name})", ""]
    write_text_atomic(out.with_suffix(".md"), "\n".join(lines))
    write_text_atomic(out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="k = 1 and 10, one seed, fewer steps (a smoke run)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--cut", default=None, help="the feature layer (default: below the classifier, f6)")
    p.add_argument("--out", default="docs/transfer_digits", help="path stem of the .md, .svg and .json written")
    args = p.parse_args()
    if args.quick:
        ks, seeds, steps = [1, 10], 1, 60
    else:
        ks, seeds, steps = [1, 2, 5, 10, 20, None], args.seeds, args.steps
    run(ks, seeds, steps, Path(args.out), args.cut)
    print(f"wrote {args.out}.md, .svg, .json")


if __name__ == "__main__":
    main()
