"""What a task provides (:class:`Task`); kzoo.tasks registers one instance per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from kzoo.graph import Graph
    from kzoo.train.arrays import Splits
    from kzoo.train.recipe import DataSection, Recipe


class Task:
    """One kind of prediction. Subclasses set ``name`` and ``sources`` and implement every method."""

    name: ClassVar[str]
    sources: ClassVar[str]  # the data sources it reads, for hints

    # -- before TensorFlow --------------------------------------------------------------------------------------
    def check_outputs(self, recipe: Recipe, graph: Graph) -> None:
        """The model's outputs are what this task trains (a SpecError at the layer's line otherwise)."""
        raise NotImplementedError

    def check_one_output(self, graph: Graph) -> None:
        """A dense-prediction model has one output: a second one is an error at its line."""
        if len(graph.outputs) > 1:
            from kzoo.errors import SpecError

            extra = graph.nodes[graph.outputs[1]]
            raise SpecError(
                f"a {self.name} model has one output; {graph.name} also has {extra.name!r}",
                extra.source,
                extra.path,
                "remove the extra output (or its head)",
            )

    def check_recipe(self, recipe: Recipe) -> None:
        """Recipe fields this task cannot honour are refused by name (never silently ignored)."""

    def check_source(self, source: str) -> None:
        """The form of ``data.source`` and that its file or folder exists."""
        raise NotImplementedError

    def known_classes(self, source: str) -> int | None:
        """The class count of a built-in source, known without reading it; else None."""
        return None

    # -- data and training ---------------------------------------------------------------------------------------
    def load_data(self, spec: DataSection, input_shape: tuple[int, ...]) -> Splits:
        """Three unbatched tf.data splits of (image, target), the images prepared to ``input_shape``."""
        raise NotImplementedError

    def follow(self, targets: Any, transforms: Any, rows: int, cols: int) -> Any:
        """Targets after the images were resampled by ``transforms`` (ImageProjectiveTransformV3's)."""
        return targets

    def loss(self, recipe: Recipe, logits: bool, model: Any = None) -> Any:
        """The Keras loss of an output (``model``: the model compiled, whose kzoo params a task may need)."""
        raise NotImplementedError

    def metrics(self, classes: int, model: Any = None) -> list[Any]:
        """Keras metrics of the main output; the first is named ``accuracy`` (what checkpoints watch)."""
        raise NotImplementedError

    def test_scores(self, model: Any, splits: Splits, batch_size: int) -> dict[str, float]:
        """Scores ``kzoo train`` adds to its results beyond the compiled metrics' (detection: COCO's mAP)."""
        return {}

    # -- using trained models: kzoo evaluate and kzoo predict -------------------------------------------------
    def classes_of(self, model: Any) -> int:
        """How many classes a model of this task scores (its output's last axis)."""
        return int(model.outputs[0].shape[-1])

    def score(self, models: list[Any], splits: Splits, names: list[str], tta: list[str], batch_size: int) -> dict:
        """``kzoo evaluate``: each model's scores on the test split (and, where the task has them, their
        ensemble's); ``names`` are the class names."""
        raise NotImplementedError

    def report_text(self, report: dict[str, Any]) -> str:
        """``kzoo evaluate``'s report as text."""
        raise NotImplementedError

    def predict(self, model: Any, files: list[Any], names: list[str], options: dict[str, Any]) -> dict[str, Any]:
        """``kzoo predict`` on image files; ``options``: size, channels, pad, resize, logits, top, tta,
        batch_size, output, score, iou (each task reads what it uses)."""
        raise NotImplementedError

    def table(self, result: dict[str, Any]) -> str:
        """``kzoo predict``'s result as text, a line per image."""
        raise NotImplementedError

    def refuse_tta(self, tta: list[str] | None) -> None:
        """Test-time augmentation is a classifier's (which overrides this): other tasks refuse it by name. Called
        by kzoo evaluate and kzoo predict before anything loads."""
        if tta:
            from kzoo.errors import SpecError

            raise SpecError(f"--tta is for classifiers; a {self.name} model scores each image once")
