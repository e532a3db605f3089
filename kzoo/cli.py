"""The ``kzoo`` command line: thin, one library call per command.

  kzoo validate FILE [FILE ...]          check files (no TensorFlow import)
  kzoo summary FILE|NAME [--set k=v] [--json]   shapes, params, multiply-adds
  kzoo build FILE|NAME [--set k=v] [-o model.keras]   build with Keras, summarise, save
  kzoo train FILE|NAME [--recipe R] [--data SRC] [--set k=v]   train, write a run directory
  kzoo finetune --from MODEL --data SRC [--unfreeze NAMES] [--features]   adapt to new images
  kzoo evaluate RUN [RUN ...] [--tta flip,crop]   test accuracy, TTA, ensembles
  kzoo tune FILE|NAME --space S [--algorithm grid|random|bayesian] [--trials N]   hyperparameter search
  kzoo inspect init|filters|activations|occlusion|dream|curves ...   pictures of what is inside
  kzoo list [--json]                     the architectures of the zoo
  kzoo plot FILE|NAME -o FILE.svg [--depth N]   draw the architecture (Graphviz)
  kzoo gallery FOLDER                    FOLDER/zoo.md with every architecture
  kzoo schema                            JSON Schema of architecture files

A mistake in a file or an option prints one or two lines (file:line:col,
what was wrong, a hint) and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError


def _overrides(pairs: Sequence[str]) -> dict[str, Any]:
    from kzoo.spec import parse_override

    return dict(parse_override(p) for p in pairs)


def _analyse(target: str, sets: Sequence[str]) -> Any:
    from kzoo.graph import analyse
    from kzoo.zoo import resolve_source

    return analyse(resolve_source(target), _overrides(sets), "--set")


def cmd_validate(args: argparse.Namespace) -> int:
    from kzoo.graph import analyse

    for file in args.files:
        graph = analyse(file)
        t = graph.totals()
        print(f"ok  {file}: {graph.name}, {t['layers']} layers, {t['params']:,} params")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from kzoo.report import summary_dict, summary_text

    graph = _analyse(args.target, args.set)
    print(json.dumps(summary_dict(graph), indent=2) if args.json else summary_text(graph))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from kzoo.build import build_graph
    from kzoo.report import summary_text

    graph = _analyse(args.target, args.set)
    model = build_graph(graph)
    print(summary_text(graph))
    print(f"Keras model {model.name!r}: {model.count_params():,} params")
    if args.output:
        from kzoo.build import save_atomic

        out = save_atomic(model, Path(args.output))
        print(f"saved {out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from kzoo.report import zoo_rows

    rows = zoo_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<14} {'aliases':<10} {'params':>14} {'multiply-adds':>14}  paper")
    for r in rows:
        gmadds = f"{r['madds'] / 1e9:.2f} G" if r["madds"] >= 1e8 else f"{r['madds'] / 1e6:.2f} M"
        print(f"{r['name']:<14} {','.join(r['aliases']):<10} {r['params']:>14,} {gmadds:>14}  {r['paper'] or ''}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from kzoo.inspect.diagram import render

    out = render(_analyse(args.target, args.set), args.output, args.depth)
    print(f"wrote {out}")
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from kzoo.inspect.diagram import gallery

    print(f"wrote {gallery(args.folder)}")
    return 0


def _recipe_sets(args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    """The recipe overrides of the common training flags (those given), then --set."""
    from kzoo.train.recipe import parse_sets

    flags = {
        "data.source": args.data,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer.lr": args.lr,
        "optimizer.name": args.optimizer,
        "seed": args.seed,
        **more,
    }
    return {**{k: v for k, v in flags.items() if v is not None}, **parse_sets(args.set)}


def cmd_train(args: argparse.Namespace) -> int:
    from kzoo.spec import parse_override
    from kzoo.train import train

    sets = _recipe_sets(args, strategy=args.strategy, precision=args.precision)
    params = dict(parse_override(p) for p in args.param)
    train(args.target, args.recipe, sets, params, args.output)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from kzoo.spec import parse_override
    from kzoo.train.finetune import finetune

    finetune_flags = {
        "finetune.cut": args.cut,
        "finetune.unfreeze": args.unfreeze,
        "finetune.unfreeze_epochs": args.unfreeze_epochs,
        "finetune.features": True if args.features else None,
        "finetune.head": args.head,  # YAML text or a .yaml file: read (with marks) by kzoo.transfer.head_model
    }
    sets = _recipe_sets(args, **finetune_flags)
    params = dict(parse_override(p) for p in args.param)
    classes = args.classes if args.classes == "auto" else int(args.classes)
    finetune(args.source, args.recipe, sets, params, args.output, classes)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from kzoo.inspect import commands

    return commands.run(args)


def cmd_tune(args: argparse.Namespace) -> int:
    from kzoo.spec import parse_override
    from kzoo.train.recipe import parse_sets
    from kzoo.tune import table, tune

    params = dict(parse_override(p) for p in args.param)
    summary = tune(
        args.target,
        args.space,
        args.recipe,
        parse_sets(args.set),
        params,
        args.algorithm,
        args.trials,
        args.objective,
        args.output,
        args.seed,
    )
    print(json.dumps(summary, indent=2) if args.json else table(summary))
    print(f"best recipe: {summary['best_recipe']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from kzoo.train.evaluate import evaluate, print_report

    tta = [t for t in (args.tta or "").split(",") if t]
    print_report(evaluate(args.runs, args.data, tta), args.json)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from kzoo.spec.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kzoo", description="Classic CNNs as YAML files, built as Keras models.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        return sp

    def sets(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a param of the file (repeatable), e.g. --set depth=101; "
            "--set input=[64,64,3] replaces the input shape",
        )

    sp = add("validate", cmd_validate, "check architecture files: schema, names, shapes (no TensorFlow)")
    sp.add_argument("files", nargs="+", metavar="FILE")
    sp = add("summary", cmd_summary, "per-layer output shape, params, multiply-adds, receptive field (no TensorFlow)")
    sp.add_argument("target", metavar="FILE|NAME")
    sets(sp)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp = add("build", cmd_build, "validate, build the Keras model, print its summary and optionally save it")
    sp.add_argument("target", metavar="FILE|NAME")
    sets(sp)
    sp.add_argument("-o", "--output", metavar="FILE.keras", help="save the (untrained) model here")
    sp = add("list", cmd_list, "list the architectures of the zoo with params and multiply-adds")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp = add("train", cmd_train, "train an architecture with a recipe (default data: the built-in digits)")
    sp.add_argument("target", metavar="FILE|NAME")
    sp.add_argument("--recipe", metavar="FILE", help="a recipe YAML (over the architecture's train: section)")
    sp.add_argument("--data", metavar="SOURCE", help="digits, npz:PATH, folder:PATH or tfds:NAME")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--batch-size", type=int, help="global batch size")
    sp.add_argument("--lr", type=float, help="base learning rate")
    sp.add_argument("--optimizer", choices=["sgd", "rmsprop", "adagrad", "adadelta", "adam"])
    sp.add_argument("--strategy", choices=["auto", "one_device", "mirrored", "multi_worker", "tpu", "parameter_server"])
    sp.add_argument("--precision", choices=["float32", "mixed_float16", "mixed_bfloat16"])
    sp.add_argument("--seed", type=int)
    sp.add_argument("--output", metavar="DIR", help="run directory (default runs/NAME-TIME)")
    sp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field (repeatable), e.g. --set optimizer.momentum=0.95",
    )
    sp.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an architecture param, e.g. --param depth=18",
    )
    sp = add("finetune", cmd_finetune, "adapt a trained network to new images: new head, frozen backbone, unfreeze")
    sp.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="MODEL",
        help="a .keras file, a run directory, or NAME[:WEIGHTS] of the zoo (WEIGHTS: imagenet or a weights file)",
    )
    sp.add_argument(
        "--data", metavar="SOURCE", help="folder:PATH (a sub-folder per class), npz:PATH, tfds:NAME, digits"
    )
    sp.add_argument("--classes", default="auto", help="number of classes of the new head (default: the data's)")
    sp.add_argument(
        "--cut", metavar="LAYER", help="the layer whose output feeds the head (default: below the classifier)"
    )
    sp.add_argument("--head", metavar="YAML", help="the new head: a YAML layer list, or a .yaml file of one")
    sp.add_argument(
        "--unfreeze",
        metavar="NAMES",
        help="after the head, unfreeze these layers or scopes (e.g. conv5, block5, last:3) and continue",
    )
    sp.add_argument("--unfreeze-epochs", type=int, help="epochs after unfreezing (default 10)")
    sp.add_argument("--features", action="store_true", help="export the frozen backbone's features; fit only the head")
    sp.add_argument("--recipe", metavar="FILE", help="a recipe YAML (its finetune: section too)")
    sp.add_argument("--epochs", type=int, help="epochs of the head")
    sp.add_argument("--batch-size", type=int, help="global batch size")
    sp.add_argument("--lr", type=float, help="learning rate of the head (x finetune.lr_factor after unfreezing)")
    sp.add_argument("--optimizer", choices=["sgd", "rmsprop", "adagrad", "adadelta", "adam"])
    sp.add_argument("--seed", type=int)
    sp.add_argument("--output", metavar="DIR", help="run directory (default runs/NAME-finetune-TIME)")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe field")
    sp.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="a zoo architecture's param (NAME sources)"
    )
    sp = add("inspect", cmd_inspect, "look inside a network: init statistics, filters, feature maps, occlusion, dream")
    from kzoo.inspect.commands import add_arguments

    add_arguments(sp)
    sp = add("tune", cmd_tune, "hyperparameter search (KerasTuner) over recipe fields and architecture params")
    sp.add_argument("target", metavar="FILE|NAME")
    sp.add_argument("--space", required=True, metavar="FILE", help="YAML: field -> [values] or {min, max, step, log}")
    sp.add_argument("--recipe", metavar="FILE")
    sp.add_argument("--algorithm", choices=["grid", "random", "bayesian"], default="random")
    sp.add_argument("--trials", type=int, default=10, help="at most this many trials")
    sp.add_argument("--objective", choices=["val_accuracy", "val_loss"], default="val_accuracy")
    sp.add_argument("--seed", type=int, default=0, help="seed of the search (the recipe's seed trains)")
    sp.add_argument("--output", metavar="DIR", help="search directory (default runs/tune-NAME-TIME); rerun to continue")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed recipe fields")
    sp.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="fixed architecture params")
    sp = add("evaluate", cmd_evaluate, "test accuracy of trained models, with test-time augmentation and ensembles")
    sp.add_argument("runs", nargs="+", metavar="RUN", help="run directories of kzoo train, or .keras files")
    sp.add_argument("--data", metavar="SOURCE", help="another data source (default: each run's recipe)")
    sp.add_argument("--tta", metavar="LIST", help="test-time augmentation: flip, crop or flip,crop")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp = add("plot", cmd_plot, "draw the architecture (.svg, .png, .pdf through Graphviz, or .dot)")
    sp.add_argument("target", metavar="FILE|NAME")
    sets(sp)
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.svg, .png, .pdf or .dot")
    sp.add_argument(
        "--depth",
        type=int,
        default=None,
        metavar="N",
        help="collapse scopes nested deeper than N into one box (0: stages, 1: blocks)",
    )
    sp = add("gallery", cmd_gallery, "write FOLDER/zoo.md and a diagram of every architecture")
    sp.add_argument("folder", metavar="FOLDER")
    add("schema", cmd_schema, "print the JSON Schema of architecture files (for editors)")
    return p


def _version() -> str:
    from kzoo import __version__

    return f"kzoo {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except KzooError as exc:
        print(f"kzoo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
