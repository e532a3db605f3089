"""Training recipes: what to train on and how, apart from the architecture.

A recipe is YAML read by the same loader and error machinery as
architecture files (errors carry file:line:column). The layers, lowest
first: kzoo's defaults (:class:`Recipe`), the architecture file's ``train:``
section (the paper's own settings), a recipe file (``--recipe``), then
command-line flags and ``--set key.sub=value``. Mappings merge key by key. Every field is described
beside its schema below (docs/reference.md lists them). Part of recipes/vgg_imagenet.yaml::

    optimizer: {name: sgd, lr: 0.01, momentum: 0.9}
    schedule: {plateau: {monitor: val_accuracy, patience: 3, factor: 10, max_drops: 3}}
    augment: {crop_padding: 16, flip: horizontal, color_pca: 0.1}
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kzoo.errors import Mark, SpecError, short
from kzoo.lang.loader import YMap, load_file, loads, mark_of
from kzoo.lang.resolve import merge, parse_override
from kzoo.lang.validate import validate
from kzoo.paths import locate


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)


Fraction = Annotated[float, Field(ge=0, lt=1)]


class DataSection(Part):
    """Where the images come from and how they are split."""

    source: str = Field(
        "digits",
        description="classification: digits | mnist5000[:DIGITS] | scene_digits | npz:PATH | folder:PATH | tfds:NAME; "
        "segmentation: scenes | folder:PATH | voc:PATH | tfds:NAME; detection: scenes | coco:PATH.json | yolo:PATH | "
        "tfds:NAME",
    )
    data_dir: str | None = Field(None, description="TFDS data folder")
    download: bool = Field(False, description="let TFDS download and prepare the data set")
    validation_split: Fraction = Field(0.15, description="held out of training when the source has no validation set")
    test_split: Fraction = Field(0.15, description="held out when the source has no test set")
    image_size: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[rows, cols]: must equal the model's input (default: the model's input)"
    )
    pad: int = Field(0, ge=0, description="resize to the size less 2*pad, then pad with zeros (MNIST's 28 -> 32)")
    cache: bool = Field(True, description="keep the prepared images in memory after the first epoch")
    shuffle_buffer: int = Field(10_000, ge=1, le=10_000_000, description="images shuffled together")
    verify: bool = Field(True, description="decode every image file before training (names a damaged one at once)")
    partial_batches: bool | None = Field(
        None, description="train on an epoch's last partial batch (default: on one replica yes, on several no)"
    )

    @model_validator(mode="after")
    def _splits_leave_training_images(self) -> DataSection:
        if self.validation_split + self.test_split >= 1:
            raise ValueError(
                f"validation_split {self.validation_split:g} and test_split {self.test_split:g} hold out every image,"
                " leaving none to train on; together they must stay below 1"
            )
        return self


class PreprocessSection(Part):
    normalize: bool = Field(True, description="per-channel zero mean, unit variance from the training split")
    scale: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        None,
        description="[background, foreground]: map pixel 0 to the first and 1 to the second instead of normalize "
        "(LeCun et al. 1998, Section II-A: [-0.1, 1.175], mean about 0 and variance about 1 on MNIST)",
    )

    @model_validator(mode="after")
    def _scale_is_a_range(self) -> PreprocessSection:
        if self.scale is not None and not self.scale[0] < self.scale[1]:
            raise ValueError(f"scale: [background, foreground] with background < foreground, not {self.scale}")
        return self


class ElasticSection(Part):
    alpha: float = Field(34.0, gt=0, description="displacement scale in pixels (Simard et al. 2003)")
    sigma: float = Field(4.0, gt=0, description="Gaussian smoothing of the displacement field")


class AugmentSection(Part):
    """On-the-fly augmentation in tf.data (applied to training batches only)."""

    crop_padding: int = Field(0, ge=0, description="pad by this many pixels, then crop back at random")
    flip: Literal["none", "horizontal", "vertical", "both"] = Field("none", description="random mirror images")
    zoom: Fraction = Field(0.0, description="random zoom in or out by up to this fraction")
    shift: Fraction = Field(0.0, description="random translation, as a fraction of the size")
    rotation: float = Field(0.0, ge=0, le=180, description="degrees")
    color_pca: float = Field(0.0, ge=0, description="std of AlexNet's PCA colour noise (0.1 in the paper)")
    elastic: ElasticSection | None = None


class OptimizerSection(Part):
    name: Literal["sgd", "rmsprop", "adagrad", "adadelta", "adam"] = Field("sgd", description="the optimizer")
    lr: float = Field(0.01, gt=0, description="the learning rate")
    momentum: float = Field(0.9, ge=0, le=1, description="sgd, rmsprop")
    nesterov: bool = Field(False, description="sgd: Nesterov's momentum")
    rho: float = Field(0.9, gt=0, lt=1, description="rmsprop, adadelta decay")
    beta_1: float = Field(0.9, ge=0, lt=1, description="adam: the gradients' moving average")
    beta_2: float = Field(0.999, ge=0, lt=1, description="adam: the squared gradients' moving average")
    epsilon: float = Field(1e-7, gt=0, description="added to the denominator of adaptive optimizers")


Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]


class PlateauSection(Part):
    monitor: Monitor = Field("val_accuracy", description="the metric that must improve")
    patience: int = Field(5, ge=1, description="epochs without improvement before a drop")
    factor: float = Field(10.0, gt=1, description="divide the learning rate by this")
    max_drops: int = Field(3, ge=1, le=3, description="after this many drops, the next plateau stops training")
    min_delta: float = Field(0.0, ge=0, description="the least change that counts as an improvement")


class ScheduleSection(Part):
    """Warm-up, step drops and plateau drops, composed by one controller."""

    warmup_epochs: float = Field(0.0, ge=0, description="the learning rate rises linearly from 0 over these epochs")
    scale_batch: int | None = Field(None, ge=1, description="linear rule: lr * global_batch / scale_batch")
    step_drops: list[int] = Field(default_factory=list, description="epochs at which to divide lr by step_factor")
    step_factor: float = Field(10.0, gt=1, description="each drop divides the learning rate by it")
    plateau: PlateauSection | None = None


class MomentumRampSection(Part):
    start: float = Field(0.5, ge=0, le=1, description="SGD's momentum at the start")
    end: float = Field(0.9, ge=0, le=1, description="its value after the ramp")
    epochs: float = Field(10.0, gt=0, description="the half-cosine ramp's length")


SMALL_VALIDATION = 200  # validation images below which one epoch's score is mostly noise


class EarlyStoppingSection(Part):
    monitor: Monitor = Field("val_loss", description="the metric that must improve")
    patience: int | Literal["auto"] = Field(
        "auto", description="epochs without improvement; auto: 10, or a third of the epochs on a small validation set"
    )
    start_from_epoch: int | Literal["auto"] = Field(
        "auto", description="epochs before any is judged or kept; auto: 0, or a quarter on a small validation set"
    )

    @field_validator("patience", "start_from_epoch")
    @classmethod
    def _whole(cls, value: Any, info: Any) -> Any:
        low = 1 if info.field_name == "patience" else 0
        if value != "auto" and (isinstance(value, bool) or value < low):
            raise ValueError(f"a whole number >= {low}, or auto")
        return value

    def plan(self, epochs: int, val_size: int) -> tuple[int, int]:
        """(patience, start_from_epoch) for a run of ``epochs`` over ``val_size`` validation images (-1: unknown).

        On fewer than 200 validation images one epoch's score is mostly noise (36 images: +-8% accuracy), and
        the classic "no improvement in ten" kept an early epoch while the network was still learning; there
        early stopping waits a third of the run and judges no epoch of its first quarter."""
        small = 0 <= val_size < SMALL_VALIDATION
        patience = self.patience if self.patience != "auto" else (max(10, -(-epochs // 3)) if small else 10)
        start = self.start_from_epoch if self.start_from_epoch != "auto" else (epochs // 4 if small else 0)
        return max(1, int(patience)), int(start)


class CallbacksSection(Part):
    early_stopping: EarlyStoppingSection | None = Field(default_factory=EarlyStoppingSection)
    checkpoint: bool = Field(True, description="keep the best model as best.keras")
    csv: bool = Field(True, description="write log.csv (metrics, learning rate, momentum per epoch)")
    tensorboard: bool = Field(True, description="write TensorBoard logs to tensorboard/")
    layer_stats: int | None = Field(
        None, ge=1, description="every N steps, log each layer's activation and gradient std to TensorBoard"
    )


class FinetuneSection(Part):
    """How ``kzoo finetune`` adapts a trained network (its ``epochs`` are the recipe's, for the head)."""

    cut: str | None = Field(None, description="layer whose output feeds the new head; default: the classifier's input")
    head: list[Any] | str | None = Field(
        None, description="the new head: a layer list (or a YAML file); default: a softmax dense layer"
    )
    unfreeze: str | None = Field(
        None, description="then unfreeze these layers or scopes (comma-separated; last:N = the last N conv/dense)"
    )
    unfreeze_epochs: int = Field(10, ge=1, description="epochs after unfreezing")
    lr_factor: float = Field(0.1, gt=0, le=1, description="learning rate after unfreezing = lr x lr_factor")
    batchnorm: bool = Field(False, description="unfreeze batch normalisation too (default: it stays in inference mode)")
    features: bool = Field(False, description="export the frozen backbone's features, fit only the head on them")


class Recipe(Part):
    """A whole training recipe; every field has a default."""

    data: DataSection = Field(default_factory=DataSection)
    preprocess: PreprocessSection = Field(default_factory=PreprocessSection, description="how pixels are scaled")
    augment: AugmentSection = Field(default_factory=AugmentSection)
    batch_size: int = Field(32, ge=1, le=1_000_000, description="global batch (all replicas together)")
    epochs: int = Field(30, ge=1, le=100_000, description="passes over the training data")
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection, description="the optimizer and its settings")
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    momentum_ramp: MomentumRampSection | None = Field(None, description="a half-cosine ramp of SGD's momentum")
    weight_decay: float = Field(0.0, ge=0, description="L2 coefficient lambda of every conv and dense kernel")
    loss: Literal["crossentropy", "map"] = Field(
        "crossentropy",
        description="crossentropy, or map: LeCun et al.'s MAP criterion (1998, Eq. 9) for an output with a "
        "rubbish class (map_softmax, LeNet-5's RBF output)",
    )
    class_weights: list[Annotated[float, Field(ge=0)]] | Literal["balanced"] | None = Field(
        None,
        description="the loss's weight of each class (one per class), or balanced: median-frequency weights of the "
        "training targets (Eigen & Fergus 2015); pixels labelled 255 weigh nothing",
    )
    callbacks: CallbacksSection = Field(default_factory=CallbacksSection, description="what a run watches and writes")
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "float32", description="Keras' dtype policy, set before the strategy"
    )
    jit_compile: bool | Literal["auto"] = Field("auto", description="XLA compilation (auto: Keras' choice)")
    strategy: Literal["auto", "one_device", "mirrored", "multi_worker", "tpu", "parameter_server"] = Field(
        "auto",
        description="tf.distribute: auto (every GPU, else the CPU), one_device, mirrored, multi_worker (TF_CONFIG), "
        "tpu; parameter_server is refused (Keras 3 does not support it)",
    )
    devices: list[str] | None = Field(None, description="devices of the mirrored strategy; default: every GPU")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="the seed of everything: weights, splits, shuffling")
    deterministic: bool = Field(True, description="deterministic TensorFlow ops (bitwise repeatable on CPU)")
    output: str | None = Field(None, description="run directory; default runs/<arch>-<time>")
    verbose: Literal[0, 1, 2] = Field(
        1,
        description="0 silent, 1 a progress bar (one line per epoch when stdout is not a terminal), 2 a line per epoch",
    )
    finetune: FinetuneSection = Field(default_factory=FinetuneSection)


def _set_dotted(data: YMap, key: str, value: Any, mark: Mark) -> None:
    if isinstance(value, dict) and value:  # a mapping merges key by key, as the recipe's layers do
        for sub, item in value.items():
            _set_dotted(data, f"{key}.{sub}", item, mark)
        return
    parts = key.split(".")
    if not all(p.isidentifier() for p in parts):
        raise SpecError(f"--set {short(key)}: not a recipe field", mark, hint="e.g. --set optimizer.lr=0.1")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, YMap):
            child = YMap()
            child.mark = mark
            node.put(part, child, mark, mark)
        node = child
    node.put(parts[-1], value, mark, mark)


BUILT_IN_SOURCES = ("digits", "mnist5000")


def _pad_stays_with_its_source(data: YMap, overrides: dict[str, Any], source: Any, pad: Any) -> None:
    """A recipe's ``data.pad`` prepares its own built-in source (the 8x8 digits padded as MNIST is); when ``--data``
    names another source, a user's photos are not padded unless ``--set data.pad`` says so (and the run says so)."""
    new = overrides.get("data.source")
    if not pad or new is None or new == source or "data.pad" in overrides:
        return
    if not (isinstance(source, str) and source.split(":")[0] in BUILT_IN_SOURCES):
        return
    if isinstance(new, str) and new.split(":")[0] in BUILT_IN_SOURCES:
        return
    _set_dotted(data, "data.pad", 0, Mark("--data"))
    print(
        f"kzoo: note: the recipe's data.pad {pad} prepares its {source}; {new} is not padded (--set data.pad={pad} "
        "pads it)",
        file=sys.stderr,
    )


def resolve_recipe(
    arch_train: Any = None,
    recipe_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    arch_params: Any = (),
) -> tuple[Recipe, YMap]:
    """Merge the layers of a recipe and validate; returns the recipe and its merged data.

    ``arch_params``: the architecture's param names, so that ``--set depth=34`` is told to use ``--param``.
    """
    for key in overrides or {}:
        if key.split(".")[0] in arch_params and key.split(".")[0] not in Recipe.model_fields:
            raise SpecError(
                f"{key.split('.')[0]!r} is an architecture param, not a recipe field",
                Mark(f"--set {key}"),
                hint=f"use --param {key}={overrides[key]!r}"
                if not isinstance(overrides[key], str)
                else f"use --param {key}={overrides[key]}",
            )
    data = YMap()
    data.mark = Mark("recipe defaults")
    if arch_train is not None:
        if not isinstance(arch_train, YMap):
            raise SpecError("train: must be a mapping of recipe fields", getattr(arch_train, "mark", None), "train")
        data = merge(data, arch_train)
    if recipe_file is not None:
        recipe_file = locate(recipe_file, "recipes") or recipe_file  # recipes/NAME.yaml or NAME: kzoo's own
        loaded = load_file(recipe_file, "recipe file")
        if not isinstance(loaded, YMap):
            raise SpecError("a recipe file must be a mapping (data:, optimizer:, ...)", Mark(str(recipe_file), 1, 1))
        data = merge(data, loaded)
    declared = data.get("data") if isinstance(data.get("data"), YMap) else YMap()
    declared_source, declared_pad = declared.get("source", "digits"), declared.get("pad", 0)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value, Mark(f"--set {key}"))
    _pad_stays_with_its_source(data, overrides or {}, declared_source, declared_pad)
    recipe = validate(Recipe, _plain(data), data, "train", "a recipe", data.mark)
    check_consistent(recipe, data)
    return recipe, data


def _mark(data: YMap, dotted: str) -> Mark | None:
    node: Any = data
    for part in dotted.split(".")[:-1]:
        if not isinstance(node, YMap) or part not in node:
            return getattr(node, "mark", None)
        node = node[part]
    last = dotted.split(".")[-1]
    return mark_of(node, last) if isinstance(node, YMap) and last in node else getattr(node, "mark", None)


def located(error: SpecError, data: YMap) -> SpecError:
    """``error`` at the line of the recipe field its path names (the file that set it, or ``--set``), if it has
    no place yet."""
    if error.mark is not None or not error.path:
        return error
    return SpecError(error.message, _mark(data, error.path), error.path, error.hint)


def check_consistent(recipe: Recipe, data: YMap) -> None:
    """Fields that are each valid but wrong together: a SpecError at the field's line."""
    epochs, s = recipe.epochs, recipe.schedule

    def fail(field: str, message: str, hint: str | None = None) -> SpecError:
        return SpecError(message, _mark(data, field), field, hint)

    if s.warmup_epochs > epochs:
        raise fail(
            "schedule.warmup_epochs", f"a warm-up of {s.warmup_epochs:g} epochs is longer than the run ({epochs})"
        )
    late = [e for e in s.step_drops if not 1 <= e < epochs]
    if late:
        raise fail(
            "schedule.step_drops",
            f"a step drop at epoch {late[0]} lies outside the run's epochs 1..{epochs - 1}",
            "drops divide the learning rate at the start of the epochs listed; "
            "--set schedule.step_drops=[] removes them",
        )
    if recipe.momentum_ramp is not None and recipe.optimizer.name != "sgd":
        raise fail(
            "momentum_ramp",
            f"a momentum ramp needs optimizer sgd, not {recipe.optimizer.name}",
            "remove momentum_ramp (--set momentum_ramp=null) or use --optimizer sgd",
        )
    if recipe.devices is not None:
        if recipe.strategy not in ("one_device", "mirrored"):
            raise fail("devices", f"devices apply to the one_device and mirrored strategies, not {recipe.strategy}")
        for d in recipe.devices:
            if not DEVICE.match(d):
                raise fail("devices", f"{d!r} is not a device name", "e.g. /gpu:0, /cpu:0 or GPU:1")
    if recipe.strategy == "one_device" and recipe.devices is not None and len(recipe.devices) != 1:
        raise fail("devices", "strategy one_device takes exactly one device")


DEVICE = re.compile(r"^(/job:[\w-]+(/replica:\d+)?(/task:\d+)?)?/?(device:)?(cpu|gpu|tpu|CPU|GPU|TPU):\d+$")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``--set optimizer.lr=0.1`` pairs, values read as YAML."""
    return dict(parse_override(p, "--set") for p in pairs)


def dump(recipe: Recipe) -> str:
    """The resolved recipe as YAML (saved in every run directory)."""
    import yaml

    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False)


__all__ = ["Recipe", "dump", "loads", "parse_sets", "resolve_recipe"]
