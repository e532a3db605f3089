"""Classification: one class per image (the first task; what kzoo trained before tasks existed).

The output is class probabilities (softmax, or LeNet-5's map_softmax) or logits
(kzoo.score_kind); targets are integer labels read by kzoo.train.data's sources
(digits, mnist5000, npz:, folder:, tfds:); they do not move with augmentation;
the loss is the recipe's cross-entropy (or ``map``), the metric accuracy.
"""

from __future__ import annotations

from typing import Any

from kzoo import score_kind
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
            score_kind.kind(activation, node.name, node.source, node.path)

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

    def classes_of(self, model: Any) -> int:
        out = model.outputs[0]
        if len(out.shape) != 2:
            raise SpecError(f"the model's output has shape {tuple(out.shape)}, not one score per class")
        return int(out.shape[-1])

    def refuse_tta(self, tta: list[str] | None) -> None:
        """A classifier takes test-time augmentation."""

    def score(self, models: list[Any], splits: Any, names: list[str], tta: list[str], batch_size: int) -> dict:
        """Test accuracy of each model, of their mean probabilities and majority vote, and per class."""
        import numpy as np

        from kzoo.train.evaluate import dataset_probabilities, ensemble

        results = [dataset_probabilities(m, splits.test.batch(batch_size), tta) for m in models]
        labels = results[0][1]
        report = ensemble([p for p, _ in results], labels)
        mean = np.mean([p for p, _ in results], axis=0).argmax(1)
        report["per_class"] = {
            str(n): float((mean[labels == c] == c).mean()) if (labels == c).any() else None for c, n in enumerate(names)
        }
        return report

    def report_text(self, report: dict[str, Any]) -> str:
        tta = f" with test-time augmentation ({', '.join(report['tta'])})" if report["tta"] else ""
        lines = [f"test accuracy on {report['test_images']} images of {report['data']}{tta}:"]
        for model, acc in zip(report["models"], report["members"], strict=True):
            lines.append(f"  {acc:.4f}  {model}")
        if len(report["members"]) > 1:
            lines.append(f"  {report['mean_probability']:.4f}  ensemble, mean of probabilities")
            lines.append(f"  {report['majority_vote']:.4f}  ensemble, majority vote")
        per = ", ".join(f"{k} {v:.3f}" for k, v in report["per_class"].items() if v is not None)
        lines.append(f"per class: {per}")
        return "\n".join(lines)

    def predict(self, model: Any, files: list[Any], names: list[str], options: dict[str, Any]) -> dict[str, Any]:
        """The top classes with their probabilities, per image."""
        import numpy as np

        from kzoo.train import images as imgs
        from kzoo.train.evaluate import probabilities

        top = max(1, min(int(options["top"]), len(names)))
        rows, tta, batch_size = [], list(options["tta"] or []), options["batch_size"]
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            batch = np.stack(
                [imgs.load(f, options["size"], options["channels"], options["pad"], options["resize"]) for f in chunk]
            )
            probs = probabilities(model, batch, tta, options["logits"])
            for f, p in zip(chunk, probs, strict=True):
                order = np.argsort(-p)[:top]
                rows.append({"file": str(f), "top": [{"class": names[i], "p": float(p[i])} for i in order]})
        return {"classes": names, "tta": tta, "predictions": rows}

    def table(self, result: dict[str, Any]) -> str:
        """One line per image: the file, then the top classes with their probabilities."""
        width = min(60, max(len(r["file"]) for r in result["predictions"]))
        lines = []
        for r in result["predictions"]:
            best = "  ".join(f"{t['class']} {t['p']:.3f}" for t in r["top"])
            lines.append(f"{r['file']:<{width}}  {best}")
        return "\n".join(lines)


from kzoo.tasks import register_task  # noqa: E402

register_task(Classification)
