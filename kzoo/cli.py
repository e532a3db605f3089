"""The ``kzoo`` command line: thin, one library call per command.

  kzoo validate FILE [FILE ...]                     check files (no TensorFlow import)
  kzoo summary FILE|NAME [--param k=v] [--json]     shapes, params, multiply-adds
  kzoo build FILE|NAME [--param k=v] [-o m.keras]   build with Keras, summarise, save
  kzoo train FILE|NAME [--recipe R] [--data SRC] [--set k=v] [--param k=v]   train, write a run directory
  kzoo finetune --from MODEL --data SRC [--unfreeze NAMES] [--features]   adapt to new images
  kzoo predict MODEL IMAGE|FOLDER ... [--top K] [--tta flip,crop]   classify new images
  kzoo evaluate RUN [RUN ...] [--tta flip,crop]     test accuracy, TTA, ensembles
  kzoo tune FILE|NAME --space S [--algorithm grid|random|bayesian] [--trials N]   hyperparameter search
  kzoo inspect init|filters|activations|occlusion|dream|curves ...   pictures of what is inside
  kzoo list [--json]                                the architectures of the zoo
  kzoo plot FILE|NAME -o FILE.svg [--depth N]       draw the architecture (Graphviz)
  kzoo gallery FOLDER                               FOLDER/zoo.md with every architecture
  kzoo schema                                       JSON Schema of architecture files

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
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from kzoo.errors import KzooError, clip, to_json

JSON = dict[str, Any] | list[Any]


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
def _int(low: int, high: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
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


POSITIVE = _int(1)
SEED = _int(0, 2**32 - 1, "a seed")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {clip(repr(text), 40)}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def classes_arg(text: str) -> int | str:
    return "auto" if text == "auto" else _int(2, what="'auto' or a number of classes")(text)


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
    from kzoo.train.recipe import OptimizerSpec

    optimizers = OptimizerSpec.model_fields["name"].annotation.__args__  # type: ignore[union-attr]
    sp.add_argument("--recipe", metavar="FILE", help="a recipe YAML (over the architecture's train: section)")
    sp.add_argument("--data", metavar="SOURCE", help="digits, npz:PATH, folder:PATH or tfds:NAME")
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


# -- helpers --------------------------------------------------------------------------------------------------
def say(*parts: Any) -> None:
    """A message for people: stdout normally, stderr under --json (then stdout holds only the document)."""
    print(*parts, flush=True)


def _params(args: argparse.Namespace) -> dict[str, Any]:
    from kzoo.lang import parse_override

    return dict(parse_override(p, "--param") for p in args.param)


def _no_set(args: argparse.Namespace) -> None:
    if getattr(args, "set", None):
        raise UsageError(
            f"kzoo {args.command}: error: --set sets recipe fields, and kzoo {args.command} has no recipe",
            f"architecture params are set with --param, e.g. --param {args.set[0]}",
        )


def _graph(args: argparse.Namespace) -> Any:
    from kzoo.graph import analyse
    from kzoo.zoo import resolve_source

    _no_set(args)
    return analyse(resolve_source(args.target), _params(args), "--param")


def _recipe_sets(args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    """The recipe overrides of the common training flags (those given), then --set."""
    from kzoo.lang import parse_override

    flags = {
        "data.source": args.data,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer.lr": args.lr,
        "optimizer.name": args.optimizer,
        "seed": args.seed,
        **more,
    }
    sets = dict(parse_override(p, "--set") for p in args.set)
    return {**{k: v for k, v in flags.items() if v is not None}, **sets}


# -- commands -------------------------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> JSON:
    from kzoo.graph import analyse

    rows, failed = [], []
    for file in args.files:
        try:
            graph = analyse(file, _params(args), "--param")
        except KzooError as exc:
            failed.append(exc)
            rows.append({"file": file, "ok": False, **to_json(exc)})
            print(f"kzoo: {exc}", file=sys.stderr)
            continue
        t = graph.totals()
        rows.append({"file": file, "ok": True, "name": graph.name, "layers": t["layers"], "params": t["params"]})
        say(f"ok  {file}: {graph.name}, {t['layers']} layers, {t['params']:,} params")
    if failed:
        raise Failed(rows, f"{len(failed)} of {len(rows)} files have errors")
    return rows


class Failed(KzooError):
    """A command that reported its own errors (validate) and must still exit 2."""

    def __init__(self, doc: JSON, message: str):
        self.doc = doc
        super().__init__(message)


def cmd_summary(args: argparse.Namespace) -> JSON:
    from kzoo.report import summary_dict, summary_text

    graph = _graph(args)
    if not args.json:
        say(summary_text(graph))
    return summary_dict(graph)


def cmd_build(args: argparse.Namespace) -> JSON:
    from kzoo.builder import build_graph, save_atomic
    from kzoo.report import summary_text

    graph = _graph(args)
    if args.output:
        from kzoo.builder import check_output

        check_output(args.output)  # a bad -o fails before the (slow) build
    model = build_graph(graph)
    say(summary_text(graph))
    say(f"Keras model {model.name!r}: {model.count_params():,} params")
    doc: dict[str, Any] = {"name": model.name, "params": int(model.count_params()), "saved": None}
    if args.output:
        doc["saved"] = str(save_atomic(model, args.output, graph=graph))
        say(f"saved {doc['saved']}")
    return doc


def cmd_list(args: argparse.Namespace) -> JSON:
    from kzoo.report import zoo_rows

    rows = zoo_rows()
    if not args.json:
        say(f"{'name':<14} {'aliases':<10} {'params':>14} {'multiply-adds':>14}  paper")
        for r in rows:
            gmadds = f"{r['madds'] / 1e9:.2f} G" if r["madds"] >= 1e8 else f"{r['madds'] / 1e6:.2f} M"
            say(f"{r['name']:<14} {','.join(r['aliases']):<10} {r['params']:>14,} {gmadds:>14}  {r['paper'] or ''}")
    return rows


def cmd_plot(args: argparse.Namespace) -> JSON:
    from kzoo.inspect.diagram import render

    out = render(_graph(args), args.output, args.depth)
    say(f"wrote {out}")
    return {"wrote": str(out)}


def cmd_gallery(args: argparse.Namespace) -> JSON:
    from kzoo.inspect.diagram import gallery

    out = gallery(args.folder)
    say(f"wrote {out}")
    return {"wrote": str(out)}


def cmd_train(args: argparse.Namespace) -> JSON:
    from kzoo.train import train

    sets = _recipe_sets(args, strategy=args.strategy, precision=args.precision)
    return train(args.target, args.recipe, sets, _params(args), args.output, overwrite=args.overwrite)


def cmd_finetune(args: argparse.Namespace) -> JSON:
    from kzoo.train.finetune import finetune

    if args.unfreeze is not None and not [n for n in args.unfreeze.split(",") if n.strip()]:
        raise UsageError(
            f"kzoo finetune: error: --unfreeze {args.unfreeze!r} names no layer", "e.g. --unfreeze conv5 or last:2"
        )
    finetune_flags = {
        "finetune.cut": args.cut,
        "finetune.unfreeze": args.unfreeze,
        "finetune.unfreeze_epochs": args.unfreeze_epochs,
        "finetune.features": True if args.features else None,
        "finetune.head": args.head,  # YAML text or a .yaml file: read (with marks) by kzoo.transfer.head_model
    }
    sets = _recipe_sets(args, **finetune_flags)
    return finetune(args.source, args.recipe, sets, _params(args), args.output, args.classes, overwrite=args.overwrite)


def cmd_predict(args: argparse.Namespace) -> JSON:
    from kzoo.prediction import predict, table

    tta = [t for t in (args.tta or "").split(",") if t]
    result = predict(args.model, args.images, top=args.top, tta=tta, batch_size=args.batch_size)
    if not args.json:
        say(table(result))
    return result


def cmd_inspect(args: argparse.Namespace) -> JSON:
    from kzoo.inspect import commands

    return commands.run(args, say)


def cmd_tune(args: argparse.Namespace) -> JSON:
    from kzoo.lang import parse_override
    from kzoo.tune import table, tune

    summary = tune(
        args.target,
        args.space,
        args.recipe,
        dict(parse_override(p, "--set") for p in args.set),
        _params(args),
        args.algorithm,
        args.trials,
        args.objective,
        args.output,
        args.seed,
    )
    if not args.json:
        say(table(summary))
        say(f"best recipe: {summary['best_recipe']}")
    return summary


def cmd_evaluate(args: argparse.Namespace) -> JSON:
    from kzoo.train.evaluate import evaluate, report_text

    tta = [t for t in (args.tta or "").split(",") if t]
    report = evaluate(args.runs, args.data, tta)
    if not args.json:
        say(report_text(report))
    return report


def cmd_schema(args: argparse.Namespace) -> JSON:
    from kzoo.lang.schema import json_schema

    schema = json_schema()
    if not args.json:
        say(json.dumps(schema, indent=2))
    return schema


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
    sp = add("summary", cmd_summary, "per-layer output shape, params, multiply-adds, receptive field (no TensorFlow)")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    sp = add("build", cmd_build, "validate, build the Keras model, print its summary and optionally save it")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    sp.add_argument("-o", "--output", metavar="FILE.keras", help="save the (untrained) model here")
    add("list", cmd_list, "list the architectures of the zoo with params and multiply-adds")
    _add_train(add("train", cmd_train, "train an architecture with a recipe (default data: the built-in digits)"))
    _add_finetune(add("finetune", cmd_finetune, "adapt a trained network to new images: new head, frozen backbone"))
    _add_predict(add("predict", cmd_predict, "classify image files with a trained model: top-k class names"))
    sp = add("inspect", cmd_inspect, "look inside a network: init statistics, filters, feature maps, occlusion, dream")
    from kzoo.inspect.commands import add_arguments

    add_arguments(sp, add_common, add_params)
    _add_tune(add("tune", cmd_tune, "hyperparameter search (KerasTuner) over recipe fields and architecture params"))
    sp = add("evaluate", cmd_evaluate, "test accuracy of trained models, with test-time augmentation and ensembles")
    sp.add_argument("runs", nargs="+", metavar="RUN", help="run directories of kzoo train, or .keras files")
    sp.add_argument("--data", metavar="SOURCE", help="another data source (default: each run's recipe)")
    sp.add_argument("--tta", metavar="LIST", help="test-time augmentation: flip, crop or flip,crop")
    sp = add("plot", cmd_plot, "draw the architecture (.svg, .png, .pdf through Graphviz, or .dot)")
    sp.add_argument("target", metavar="FILE|NAME")
    add_params(sp)
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.svg, .png, .pdf or .dot")
    sp.add_argument(
        "--depth", type=_int(0), default=None, metavar="N", help="collapse scopes nested deeper than N (0: stages)"
    )
    sp = add("gallery", cmd_gallery, "write FOLDER/zoo.md and a diagram of every architecture")
    sp.add_argument("folder", metavar="FOLDER")
    add("schema", cmd_schema, "print the JSON Schema of architecture files (for editors)")
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
        help="a .keras file, a run directory, or NAME[:WEIGHTS] of the zoo (WEIGHTS: imagenet or a weights file)",
    )
    add_recipe(sp, "epochs of the head", "learning rate of the head (x finetune.lr_factor after unfreezing)")
    add_params(sp, refuse_set=False)
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
    sp.add_argument("model", metavar="MODEL", help="a .keras file or a run directory")
    sp.add_argument("images", nargs="+", metavar="IMAGE|FOLDER", help="image files, or folders of them")
    sp.add_argument("--top", type=POSITIVE, default=3, metavar="K", help="the K most probable classes (default 3)")
    sp.add_argument("--tta", metavar="LIST", help="test-time augmentation: flip, crop or flip,crop")
    sp.add_argument("--batch-size", type=POSITIVE, default=32)


def _add_tune(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("target", metavar="FILE|NAME")
    sp.add_argument("--space", required=True, metavar="FILE", help="YAML: field -> [values] or {min, max, step, log}")
    sp.add_argument("--recipe", metavar="FILE")
    sp.add_argument("--algorithm", choices=["grid", "random", "bayesian"], default="random")
    sp.add_argument("--trials", type=POSITIVE, default=10, help="at most this many trials")
    sp.add_argument("--objective", choices=["val_accuracy", "val_loss"], default="val_accuracy")
    sp.add_argument("--seed", type=SEED, default=0, help="seed of the search (the recipe's seed trains)")
    sp.add_argument("--output", metavar="DIR", help="search directory (default runs/tune-NAME-TIME); rerun to continue")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed recipe fields")
    add_params(sp, refuse_set=False)


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
        except OSError as exc:
            from kzoo.files import os_error

            return _fail(os_error(exc), as_json, stdout)
        except MemoryError:
            return _fail(KzooError("out of memory", "use a smaller model, input or batch size"), as_json, stdout)
        except KeyboardInterrupt:
            print("kzoo: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
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
        print(json.dumps(doc, indent=2, default=_jsonable), file=stdout)
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


if __name__ == "__main__":
    sys.exit(main())
