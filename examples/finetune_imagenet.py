"""Fine-tune keras.applications' ImageNet ResNet-50 (ported into kzoo's ResNet-50) on your images.

python examples/finetune_imagenet.py folder:my_photos [SIZE]

Needs the internet the first time (Keras downloads the weights). The model
gets keras.applications' preprocessing as a layer in front (images in [0, 1],
RGB), the ImageNet classifier is replaced by a head for your classes, the
backbone is frozen for the head, then the last stage (conv5) is unfrozen.
"""

from __future__ import annotations

import sys

import kzoo


def main(data: str, size: str = "160") -> None:
    side = int(size)
    results = kzoo.finetune(
        "resnet50:imagenet",
        params={"include_top": False, "input": [side, side, 3]},
        sets={
            "data.source": data,
            "batch_size": 32,
            "epochs": 5,
            "optimizer": {"name": "adam", "lr": 1e-3},
            "augment": {"flip": "horizontal"},
            "finetune": {"head": [{"global_avgpool": {}}, {"dense": {"units": "$classes", "activation": "softmax"}}],
                         "unfreeze": "conv5", "unfreeze_epochs": 5},
            "verbose": 2,
        },
    )  # fmt: skip
    print(f"head only: {results['test_accuracy_head']:.3f}; after unfreezing conv5: {results['test_accuracy']:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
