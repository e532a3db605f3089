"""Fine-tune any saved Keras model step by step with kzoo.transfer (your own training loop).

python examples/finetune_keras_file.py MODEL.keras folder:my_photos [--cut LAYER]

The steps kzoo finetune runs, one by one: cut the network (below its
classifier, or at --cut), freeze it, attach a new head declared in YAML, train
the head; then unfreeze the last conv/dense layers and train on at a lower rate.
"""

from __future__ import annotations

import argparse

import keras

import kzoo  # noqa: F401  (registers kzoo's layers, so kzoo-built .keras files load)
from kzoo.train.data import load_data
from kzoo.train.recipe import DataSection
from kzoo.transfer import attach_head, cut, freeze, unfreeze

HEAD = """
- dropout: 0.3
- dense: {units: $classes, activation: softmax}
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("data", help="folder:PATH, npz:PATH, tfds:NAME or digits")
    p.add_argument("--cut", default=None)
    p.add_argument("--epochs", type=int, default=5)
    args = p.parse_args()

    model = keras.saving.load_model(args.model, compile=False)
    splits = load_data(DataSection(source=args.data), model.input_shape[1:])
    train, val = splits.train.shuffle(4096, seed=0).batch(16), splits.val.batch(64)

    net = attach_head(freeze(cut(model, args.cut)), HEAD, splits.classes)
    net.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(train, validation_data=val, epochs=args.epochs, verbose=2)

    print("unfrozen:", unfreeze(net, "last:2"))
    net.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])  # recompile
    net.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    print("test accuracy:", net.evaluate(splits.test.batch(64), return_dict=True, verbose=0)["accuracy"])


if __name__ == "__main__":
    main()
