"""``kzoo finetune --from CLASSIFIER --to fcn8s``: a segmentation network started from a trained classifier.

Long et al. 2015 (Section 3.1, 4.3) start FCN from an ImageNet classifier: its convolutions as the backbone, its
fully connected layers convolutionalised. Here the target file (an FCN) is built on the classifier's own
architecture and params (``backbone``, ``backbone_params`` with ``include_top: false``, the classifier's input
channels), :func:`kzoo.convolutional.convolutionalise` copies the classifier's weights into it (same names; dense
layers into the convolutions of the same size), and the run is an ordinary ``kzoo train`` of the target with
the recipe's data (the target file's own recipe by default). Layers the classifier has no counterpart for (the
score layers, the upsampling) keep their initialisation; which layers came from where is said on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kzoo.convolutional import convolutionalise
from kzoo.errors import SpecError, printable
from kzoo.paths import architecture_files
from kzoo.saved import image_shape, meta
from kzoo.tasks import task_of
from kzoo.train.fit import train


def finetune_to(
    source: str,
    to: str,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``to`` (a file with a ``backbone`` param: fcn8s, ...) starting from the classifier ``source``."""
    from kzoo.train.finetune import check_source_fits, load_source

    classifier, graph, _ = load_source(source)
    check_source_fits(classifier, source)
    info = meta(classifier)
    name = graph.name if graph is not None else info.get("architecture")
    declared = dict(graph.meta["params"] if graph is not None else info.get("params") or {})
    if not isinstance(name, str) or name not in architecture_files():
        raise SpecError(
            f"--from {source}: its architecture {name!r} is not a file the zoo finds",
            hint="put its YAML file in a folder of KZOO_PATH, so that --to can build on it",
        )
    channels = image_shape(classifier, f"--from {source}")[2]
    rows, cols = check_target(to).input_shape[:2]  # the target's size (None: any), the classifier's channels
    given = {
        "backbone": name,
        "backbone_params": {**declared, "include_top": False},
        "input": [rows, cols, channels],
        **(params or {}),
    }

    def start(model: Any) -> None:
        taken = convolutionalise(classifier, model)
        moved = [f"{k}<-{v}" for k, v in taken.items() if k != v]
        print(
            printable(
                f"kzoo finetune: {len(taken)} layers start from {Path(source).name}"
                + (f" ({', '.join(moved)} convolutionalised)" if moved else "")
            ),
            file=sys.stderr,
        )

    return train(to, recipe_file, sets, given, output, overwrite, weights_from=start)


def check_target(to: str) -> Any:
    """``--to`` names a file whose task is not classification and which takes a backbone; its graph."""
    from kzoo.zoo import analyse

    graph = analyse(to)
    if task_of(graph).name == "classification" or "backbone" not in graph.meta["params"]:
        raise SpecError(
            f"--to {to}: expects a segmentation or detection file built on a backbone (fcn8s, yolo_v1, ...)",
            hint="kzoo finetune without --to gives a classifier a new head",
        )
    return graph
