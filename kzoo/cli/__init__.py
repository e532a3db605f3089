"""The ``kzoo`` command line: thin, one library call per command.

  kzoo validate FILE [FILE ...]                     check files (no TensorFlow import)
  kzoo summary FILE|NAME [--param k=v] [--json]     shapes, params, multiply-adds
  kzoo build FILE|NAME [--param k=v] [-o m.keras]   build with Keras, summarise, save
  kzoo train FILE|NAME [--recipe R] [--data SRC] [--set k=v] [--param k=v]   train, write a run directory
  kzoo finetune --from MODEL --data SRC [--unfreeze NAMES] [--features]   adapt to new images
  kzoo predict MODEL|NAME:RELEASE IMAGE|FOLDER ... [--top K] [--score P --iou F]   classes, masks or boxes
  kzoo evaluate RUN [RUN ...] [--tta flip,crop]     test accuracy, TTA, ensembles; mean IoU; COCO mAP
  kzoo tune FILE|NAME --space S [--data SRC] [--algorithm grid|random|bayesian] [--trials N]   hyperparameter search
  kzoo study FILE.yaml [--output DIR] [--variant NAME ...] [--seeds 0,1] [--set k=v] [--report]   variants x seeds
  kzoo inspect init|filters|activations|occlusion|dream|curves ...   pictures of what is inside
  kzoo list [--json]                                the architectures of the zoo
  kzoo weights [NAME] [--json]                      released checkpoints: sources, params, transforms, accuracy
  kzoo plot FILE|NAME -o FILE.svg [--depth N]       draw the architecture (Graphviz)
  kzoo gallery FOLDER                               FOLDER/zoo.md with every architecture
  kzoo schema [KIND]                                JSON Schema of a file kind (architecture, recipe, study ...)
  kzoo import caffe NET.prototxt [--weights NET.caffemodel] [-o NAME.yaml] [--input R,C,CH]   from Caffe
  kzoo export caffe MODEL -o NAME.caffemodel [--prototxt NAME.prototxt] [--like REF.prototxt]   to Caffe

``--param NAME=VALUE`` always sets an architecture param and ``--set KEY=VALUE``
always a recipe field (only commands with a recipe take it). With ``--json``,
stdout is exactly one JSON document (an ``{"error": ...}`` one on failure);
everything else goes to stderr. A mistake prints one or two lines (file:line:col,
what was wrong, a hint) and exits with status 2; ``--verbose`` shows
TensorFlow's logs and, for an unexpected failure, the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from kzoo.cli.commands import (
    Failed,
    cmd_build,
    cmd_evaluate,
    cmd_export,
    cmd_finetune,
    cmd_gallery,
    cmd_import,
    cmd_inspect,
    cmd_list,
    cmd_plot,
    cmd_predict,
    cmd_schema,
    cmd_study,
    cmd_summary,
    cmd_train,
    cmd_tune,
    cmd_validate,
    cmd_weights,
)
from kzoo.cli.flags import (
    POSITIVE,
    SEED,
    Parser,
    UsageError,
    add_common,
    add_output_dir,
    add_params,
    add_recipe,
    classes_arg,
    fraction,
    seeds_arg,
    shape_arg,
    whole_number,
)
from kzoo.errors import KzooError, to_json


# -- the parser -----------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = Parser(prog="kzoo", description="Classic CNNs as YAML files, built as Keras models.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def add(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        add_common(sp)
        return sp

    sp = add("validate", cmd_validate, "check architecture files: schema, names, shapes (no TensorFlow)")
    sp.add_argument("files", nargs="+", metavar="FILE")
    add_params(sp)
    add_analysis_only(sp)
    sp = add("summary", cmd_summary, "per-layer output shape, params, multiply-adds, receptive field (no TensorFlow)")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    add_analysis_only(sp)
    sp = add("build", cmd_build, "validate, build the Keras model, print its summary and optionally save it")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    sp.add_argument("-o", "--output", metavar="FILE.keras", help="save the (untrained) model here")
    add("list", cmd_list, "list the architectures of the zoo with params and multiply-adds")
    sp = add("weights", cmd_weights, "list the released checkpoints: source, params, input transform, accuracy")
    sp.add_argument("target", nargs="?", metavar="NAME", help="one architecture (default: the whole zoo)")
    _add_train(add("train", cmd_train, "train an architecture with a recipe (default data: the built-in digits)"))
    _add_finetune(add("finetune", cmd_finetune, "adapt a trained network to new images: new head, frozen backbone"))
    _add_predict(
        add(
            "predict",
            cmd_predict,
            "predict with a trained model: top-k class names, a mask per image (segmentation) or boxes (detection)",
        )
    )
    sp = add("inspect", cmd_inspect, "look inside a network: init statistics, filters, feature maps, occlusion, dream")
    from kzoo.inspect.commands import add_arguments

    add_arguments(sp, add_common, add_params)
    _add_tune(add("tune", cmd_tune, "hyperparameter search (KerasTuner) over recipe fields and architecture params"))
    sp = add("study", cmd_study, "run a study: every variant x seed as a kzoo train run, then a compared report")
    sp.add_argument("file", metavar="FILE.yaml", help="the study: variants, seeds, data (see kzoo.study)")
    sp.add_argument("--output", metavar="DIR", help="where the runs and the report go (default studies/NAME)")
    sp.add_argument("--variant", action="append", default=[], metavar="NAME", help="run only this variant (repeat)")
    sp.add_argument("--report", action="store_true", help="train nothing: report the runs already finished")
    sp.add_argument("--seeds", type=seeds_arg, metavar="0,1,...", help="these seeds instead of the file's")
    sp.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a recipe field of every run (--set epochs=2)"
    )
    sp = add("evaluate", cmd_evaluate, "test accuracy of trained models, with test-time augmentation and ensembles")
    sp.add_argument("runs", nargs="+", metavar="RUN", help="run directories of kzoo train, or .keras files")
    sp.add_argument("--data", metavar="SOURCE", help="another data source (default: each run's recipe)")
    sp.add_argument("--tta", metavar="LIST", help="test-time augmentation: flip, crop or flip,crop")
    sp = add("plot", cmd_plot, "draw the architecture (.svg, .png, .pdf through Graphviz, or .dot)")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.svg, .png, .pdf or .dot")
    sp.add_argument(
        "--depth",
        type=whole_number(0),
        default=None,
        metavar="N",
        help="collapse scopes deeper than N (0: stages)",
    )
    sp = add("gallery", cmd_gallery, "write FOLDER/zoo.md and a diagram of every architecture")
    sp.add_argument("folder", metavar="FOLDER")
    sp = add("schema", cmd_schema, "print the JSON Schema of a file kind (for editors)")
    sp.add_argument(
        "kind",
        nargs="?",
        default="architecture",
        choices=["architecture", "recipe", "study", "space", "releases"],
        help="architecture (default), recipe, study, space (kzoo tune's search space) or releases (weights: FILE)",
    )
    sp = add("import", cmd_import, "a Caffe network definition (and its weights) as a kzoo architecture file")
    sp.add_argument("format", choices=["caffe"], help="the framework the network comes from")
    sp.add_argument("source", metavar="NET.prototxt", help="a Caffe network definition (deploy or train_val)")
    sp.add_argument("--weights", metavar="NET.caffemodel", help="also convert these weights (to NAME.weights.h5)")
    sp.add_argument("-o", "--output", metavar="NAME.yaml", help="the architecture file (default: ./NET.yaml)")
    sp.add_argument("--input", type=shape_arg, metavar="R,C,CH", help="input rows,cols,channels (for data layers)")
    sp.add_argument("--name", help="the architecture's name (default: the network's)")
    sp = add("export", cmd_export, "a model for Caffe, ONNX (onnxruntime, OpenCV) or LiteRT, checked in the runtime")
    sp.add_argument("format", choices=["caffe", "onnx", "litert"], help="the framework to write for")
    sp.add_argument(
        "model", metavar="MODEL", help="a .keras file, a run directory, NAME:RELEASE, or an architecture (FILE|NAME)"
    )
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="NAME.caffemodel, NAME.onnx or NAME.tflite")
    sp.add_argument("--prototxt", metavar="NAME.prototxt", help="caffe: also write the network definition")
    sp.add_argument("--like", metavar="REF.prototxt", help="caffe: name layers as this Caffe definition does")
    sp.add_argument("--dynamic-batch", action="store_true", help="onnx: any batch size (default: a batch of 1)")
    sp.add_argument("--weights", metavar="FILE", help="for an architecture: its weights (.weights.h5, .caffemodel)")
    add_params(sp)
    return p


def _add_train(sp: argparse.ArgumentParser) -> None:
    from kzoo.train.recipe import Recipe

    sp.add_argument("target", metavar="FILE|NAME")
    add_recipe(sp)
    add_params(sp, refuse_set=False)
    sp.add_argument("--strategy", choices=Recipe.model_fields["strategy"].annotation.__args__)  # type: ignore[union-attr]
    sp.add_argument("--precision", choices=Recipe.model_fields["precision"].annotation.__args__)  # type: ignore[union-attr]
    add_output_dir(sp, "runs/NAME-TIME")


def _add_finetune(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="MODEL",
        help="a .keras file, a run directory, or NAME[:WEIGHTS] of the zoo (WEIGHTS: a release - imagenet, "
        "torchvision, timm, keras, caffe: kzoo weights NAME - or a weights file)",
    )
    add_recipe(sp, "epochs of the head", "learning rate of the head (x finetune.lr_factor after unfreezing)")
    add_params(sp, refuse_set=False)
    sp.add_argument(
        "--to",
        metavar="NAME",
        help="a segmentation file (fcn32s, fcn16s, fcn8s) built on --from's architecture and started from its "
        "weights (fc layers convolutionalised); --param then sets the target's params",
    )
    sp.add_argument("--classes", type=classes_arg, default="auto", help="classes of the new head (default: the data's)")
    sp.add_argument("--cut", metavar="LAYER", help="the layer whose output feeds the head (default: the classifier's)")
    sp.add_argument("--head", metavar="YAML", help="the new head: a YAML layer list, or a .yaml file of one")
    sp.add_argument(
        "--unfreeze", metavar="NAMES", help="then unfreeze these layers or scopes (e.g. conv5, block5, last:3)"
    )
    sp.add_argument("--unfreeze-epochs", type=POSITIVE, help="epochs after unfreezing (default 10)")
    sp.add_argument("--features", action="store_true", help="export the frozen backbone's features; fit only the head")
    add_output_dir(sp, "runs/NAME-finetune-TIME")


def _add_predict(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "model", metavar="MODEL", help="a .keras file, a run directory, or NAME[:RELEASE] (releases: kzoo weights NAME)"
    )
    sp.add_argument("images", nargs="+", metavar="IMAGE|FOLDER", help="image files, or folders of them")
    sp.add_argument("--top", type=POSITIVE, default=3, metavar="K", help="the K most probable classes (default 3)")
    sp.add_argument("--tta", metavar="LIST", help="test-time augmentation: flip, crop or flip,crop")
    sp.add_argument("--batch-size", type=POSITIVE, default=32)
    sp.add_argument(
        "--output",
        metavar="DIR",
        help="where a segmentation model's masks and overlays go (default masks/), or a detector's annotated "
        "pictures (default detections/)",
    )
    sp.add_argument(
        "--score", type=fraction, default=0.2, metavar="P", help="detectors: the least class-specific score kept (0.2)"
    )
    sp.add_argument(
        "--iou", type=fraction, default=0.5, metavar="F", help="detectors: suppress boxes overlapping more (0.5)"
    )


def _add_tune(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("target", metavar="FILE|NAME")
    sp.add_argument("--space", required=True, metavar="FILE", help="YAML: field -> [values] or {min, max, step, log}")
    sp.add_argument("--recipe", metavar="FILE")
    sp.add_argument("--algorithm", choices=["grid", "random", "bayesian"], default="random")
    sp.add_argument("--trials", type=POSITIVE, default=10, help="at most this many trials")
    sp.add_argument("--objective", choices=["val_accuracy", "val_loss"], default="val_accuracy")
    sp.add_argument("--seed", type=SEED, default=0, help="seed of the search (the recipe's seed trains)")
    sp.add_argument("--output", metavar="DIR", help="search directory (default runs/tune-NAME-TIME); rerun to continue")
    sp.add_argument("--data", metavar="SOURCE", help="the data source (recipe field data.source)")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed recipe fields")
    add_params(sp, refuse_set=False)


def add_analysis_only(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--analysis-only",
        action="store_true",
        help="accept a model whose weights cannot fit in this machine's memory (its figures only; it cannot be built)",
    )


def _version() -> str:
    from kzoo.version import __version__

    return f"kzoo {__version__}"


# -- running --------------------------------------------------------------------------------------------------
def _fail(exc: KzooError, as_json: bool, stdout: Any) -> int:
    if isinstance(exc, UsageError):  # "kzoo train: error: argument --epochs: ..."
        print(exc, file=sys.stderr)
    elif not (isinstance(exc, Failed) and len(exc.doc) == 1):  # validate printed its one file's error itself
        print(f"kzoo: {exc}", file=sys.stderr)
    if as_json:
        doc = exc.doc if isinstance(exc, Failed) else to_json(exc)
        print(json.dumps(doc, indent=2, default=str), file=stdout)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    stdout = sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json, verbose = "--json" in argv, "--verbose" in argv
    try:
        args = parser().parse_args(argv)
    except KzooError as exc:
        return _fail(exc, as_json, stdout)
    if not verbose:
        from kzoo import quiet

        quiet.install()
        sys.unraisablehook = _quiet_unraisable  # h5py reports a failed write a second time while cleaning up
    with contextlib.ExitStack() as stack:
        if as_json:  # progress bars, KerasTuner's and every other print go to stderr; stdout gets the document
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        if not verbose:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
        try:
            doc = args.fn(args)
        except KzooError as exc:
            return _fail(exc, as_json, stdout)
        except BrokenPipeError:  # `kzoo ... | head` closed the pipe: not an error
            return _closed_pipe()
        except OSError as exc:
            from kzoo.files import os_error

            return _fail(os_error(exc), as_json, stdout)
        except MemoryError:
            return _fail(KzooError("out of memory", "use a smaller model, input or batch size"), as_json, stdout)
        except KeyboardInterrupt:
            print("kzoo: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # a bug, not a user's mistake: one line, the traceback on request
            if verbose:
                raise
            error = KzooError(
                f"internal error: {type(exc).__name__}: {exc}",
                "rerun with --verbose for the traceback, and please report it",
            )
            _fail(error, as_json, stdout)
            return 1
    if as_json:
        try:
            print(json.dumps(doc, indent=2, default=_jsonable), file=stdout, flush=True)
        except BrokenPipeError:
            return _closed_pipe()
    return 0


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): exit quietly, as Unix tools do; what is still buffered for
    stdout goes nowhere, so Python's flush at exit does not complain either."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in tests)
        pass
    return 0


def _quiet_unraisable(unraisable: Any) -> None:
    """Errors raised where Python cannot raise them (a destructor): the real error was reported already."""


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
