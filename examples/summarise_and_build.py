"""Analyse a zoo architecture without Keras, then build and run it.

python examples/summarise_and_build.py resnet18 depth=34 classes=10
"""

from __future__ import annotations

import sys

import numpy as np

import kzoo
from kzoo.lang import parse_override
from kzoo.report import summary_text
from kzoo.zoo import find


def main(name: str = "lenet5", *sets: str) -> None:
    overrides = dict(parse_override(s) for s in sets)
    graph = kzoo.analyse(find(name), overrides)  # static: shapes, params, multiply-adds
    print(summary_text(graph))
    model = kzoo.build(graph)  # the Keras model
    x = np.random.default_rng(0).normal(size=(1,) + graph.input_shape).astype("float32")
    outputs = model(x)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    print("output shapes:", [tuple(o.shape) for o in outputs])


if __name__ == "__main__":
    main(*sys.argv[1:])
