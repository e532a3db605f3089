"""The command line's flags: argparse with kzoo's errors, value types that refuse bad input, shared groups.

Every command takes ``--json`` and ``--verbose``; those with an architecture take
``--param NAME=VALUE`` (and refuse ``--set``, naming ``--param``); those with a recipe
take the training flags and ``--set KEY=VALUE``. Choices (optimizers, strategies,
precisions) come from the recipe's schema, not retyped here.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from kzoo.errors import KzooError, clip


class UsageError(KzooError):
    """A command line argparse refuses."""


class Parser(argparse.ArgumentParser):
    """argparse with errors in kzoo's two-line form (no usage block) instead of exit."""

    def error(self, message: str) -> Any:  # noqa: D102
        raise UsageError(f"{self.prog}: error: {message}", f"{self.prog} --help lists the options")

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)  # --epoch must not quietly mean --epochs
        super().__init__(*args, **kwargs)


# -- argument types: a bad value is a clean usage error -------------------------------------------------------
def whole_number(low: int, high: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {clip(repr(text), 40)}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {value}")
        return value

    return parse


POSITIVE = whole_number(1)
SEED = whole_number(0, 2**32 - 1, "a seed")


def seeds_arg(text: str) -> list[int]:
    """``0,1,2``: distinct seeds, each a whole number 0 .. 2^32-1."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() and int(p) < 2**32 for p in parts) or len(set(map(int, parts))) != len(parts):
        raise argparse.ArgumentTypeError(f"expected distinct seeds 0 .. 2^32-1 separated by commas, got {text!r}")
    return [int(p) for p in parts]


def shape_arg(text: str) -> tuple[int, int, int]:
    """``ROWS,COLS,CHANNELS`` (e.g. 227,227,3) as a tuple of three positive whole numbers."""
    parts = [p.strip() for p in text.replace("x", ",").split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected ROWS,COLS,CHANNELS of positive whole numbers, got {text!r}")
    rows, cols, channels = (int(p) for p in parts)
    return rows, cols, channels


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {clip(repr(text), 40)}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number from 0 to 1 (a threshold)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {clip(repr(text), 40)}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value


def classes_arg(text: str) -> int | str:
    return "auto" if text == "auto" else whole_number(2, what="'auto' or a number of classes")(text)


# -- shared flag groups ---------------------------------------------------------------------------------------
def add_common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--json", action="store_true", help="print one JSON document on stdout (messages on stderr)")
    sp.add_argument("--verbose", action="store_true", help="show TensorFlow's logs and tracebacks")


def add_params(sp: argparse.ArgumentParser, refuse_set: bool = True) -> None:
    sp.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an architecture param (repeatable), e.g. --param depth=101; "
        "--param input=[64,64,3] replaces the input shape",
    )
    if refuse_set:  # only commands with a recipe take --set; elsewhere it is refused with a hint
        sp.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)


def add_recipe(sp: argparse.ArgumentParser, epochs_help: str = "epochs", lr_help: str = "base learning rate") -> None:
    from kzoo.train.recipe import OptimizerSection

    optimizers = OptimizerSection.model_fields["name"].annotation.__args__  # type: ignore[union-attr]
    sp.add_argument("--recipe", metavar="FILE", help="a recipe YAML (over the architecture's train: section)")
    sp.add_argument(
        "--data",
        metavar="SOURCE",
        help="digits, mnist5000[:0-4], scene_digits, npz:PATH, folder:PATH or tfds:NAME; segmentation and "
        "detection: scenes, folder:/voc: (masks), coco:PATH.json, yolo:PATH (boxes)",
    )
    sp.add_argument("--epochs", type=POSITIVE, help=epochs_help)
    sp.add_argument("--batch-size", type=POSITIVE, help="global batch size")
    sp.add_argument("--lr", type=positive_float, help=lr_help)
    sp.add_argument("--optimizer", choices=optimizers)
    sp.add_argument("--seed", type=SEED)
    sp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field (repeatable), e.g. --set optimizer.momentum=0.95",
    )


def add_output_dir(sp: argparse.ArgumentParser, default: str) -> None:
    sp.add_argument("--output", metavar="DIR", help=f"run directory (default {default}); rerun to resume")
    sp.add_argument(
        "--overwrite", action="store_true", help="start the run in --output again instead of resuming or refusing"
    )
