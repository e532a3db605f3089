"""Classification: one class per image (the first task; what kzoo trained before tasks existed).

The output is class probabilities (softmax, or LeNet-5's map_softmax) or logits
(kzoo.scores); targets are integer labels read by kzoo.train.data's sources
(digits, mnist5000, npz:, folder:, tfds:); they do not move with augmentation;
the loss is the recipe's cross-entropy (or ``map``), the metric accuracy.
"""

from __future__ import annotations

from typing import Any

from kzoo import scores
from kzoo.errors import SpecError
from kzoo.tasks.base import Task


class Classification(Task):
    name = "classification"
    sources = "digits, mnist5000, scene_digits, npz:PATH, folder:PATH or tfds:NAME"

    def check_outputs(self, recipe: Any, graph: Any) -> None:
        """Every output gives class probabilities or logits; ``loss: map`` needs map_softmax."""
        for name in graph.outputs:
            activation, node = graph.final_activation(name)
            if recipe.loss == "map" and activation != "map_softmax":
                raise SpecError(
                    f"loss: map needs an output with a rubbish class (map_softmax); {graph.name}'s output {name!r} "
                    f"ends in {activation}",
                    path="loss",
                    hint="LeNet-5's RBF output has one (--param output=rbf); for other outputs --set loss=crossentropy",
                )
            scores.kind(activation, node.name, node.source, node.path)

    def check_source(self, source: str) -> None:
        from kzoo.train.data import check_source

        check_source(source)

    def known_classes(self, source: str) -> int | None:
        from kzoo.train.data import known_classes

        return known_classes(source)

    def load_data(self, spec: Any, input_shape: tuple[int, ...]) -> Any:
        from kzoo.train.data import load_data

        return load_data(spec, input_shape)

    def loss(self, recipe: Any, logits: bool, model: Any = None) -> Any:
        """The recipe's loss: Keras's cross-entropy (``from_logits`` for an output without a softmax), or ``map``,
        the negative log-likelihood of the output as it is (Eq. 9 of LeCun et al. 1998 on a map_softmax output,
        and equal to the cross-entropy on a softmax)."""
        import keras

        from kzoo.keras.losses import NegativeLogLikelihood

        if logits:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return "sparse_categorical_crossentropy" if recipe.loss == "crossentropy" else NegativeLogLikelihood()

    def metrics(self, classes: int, model: Any = None) -> list[Any]:
        return ["accuracy"]


from kzoo.tasks import register_task  # noqa: E402

register_task(Classification)
