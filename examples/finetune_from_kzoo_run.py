"""Train a kzoo model here, then fine-tune it on your own images (kzoo.finetune).

python examples/finetune_from_kzoo_run.py folder:my_photos [RUN_DIR]

Step 1 trains LeNet-5 (modern) on the built-in digits into RUN_DIR/pretrained
(skipped when it is there already); step 2 cuts it below its classifier, trains
a new head for the folder's classes on the frozen backbone, then unfreezes the
last two layers (c5, f6) and continues at a tenth of the learning rate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import kzoo
from kzoo.train import train


def main(data: str, run_dir: str = "runs/example-finetune") -> None:
    root = Path(run_dir)
    quiet = {"verbose": 2, "callbacks.tensorboard": False}
    if not (root / "pretrained" / "model.keras").is_file():
        train("lenet5_modern", sets={"epochs": 10, **quiet}, output=str(root / "pretrained"))
    results = kzoo.finetune(
        str(root / "pretrained"),
        sets={
            "data.source": data,
            "epochs": 10,
            "finetune.unfreeze": "c5,f6",
            "finetune.unfreeze_epochs": 5,
            **quiet,
        },
        output=str(root / "finetuned"),
    )
    print(f"head only: {results['test_accuracy_head']:.3f}; after unfreezing c5, f6: {results['test_accuracy']:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
