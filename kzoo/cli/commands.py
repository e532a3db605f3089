"""The commands of ``kzoo``: each is one call into the library, returning the JSON document ``--json`` prints."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kzoo.cli.flags import UsageError
from kzoo.errors import KzooError, printable, to_json

JSON = dict[str, Any] | list[Any]


# -- helpers --------------------------------------------------------------------------------------------------
def say(*parts: Any) -> None:
    """A message for people: stdout normally, stderr under --json (then stdout holds only the document)."""
    print(*(printable(p) for p in parts), flush=True)


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


def _buildable(graph: Any) -> None:
    """Refuse (in validate and summary) a model whose weights no memory here can hold, unless --analysis-only."""
    from kzoo.errors import SpecError
    from kzoo.graph.budget import check_weights

    try:
        check_weights(graph)
    except SpecError as exc:
        hint = f"{exc.hint}; --analysis-only gives its figures anyway"
        raise SpecError(exc.message, exc.mark, exc.path, hint) from None


# -- commands -------------------------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> JSON:
    from kzoo.graph import analyse

    rows, failed = [], []
    for file in args.files:
        try:
            graph = analyse(file, _params(args), "--param")
            if not args.analysis_only:
                _buildable(graph)
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
    if not args.analysis_only:
        _buildable(graph)
    if not args.json:
        say(summary_text(graph))
    return summary_dict(graph)


def cmd_build(args: argparse.Namespace) -> JSON:
    from kzoo.builder import build_graph
    from kzoo.report import summary_text
    from kzoo.saved import save_atomic

    graph = _graph(args)
    if args.output:
        from kzoo.saved import check_output

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


def cmd_weights(args: argparse.Namespace) -> JSON:
    from kzoo.zoo import list_weights

    rows = list_weights(args.target)
    if not rows:
        print(f"{args.target} has no released weights (kzoo weights lists those that have)", file=sys.stderr)
    elif not args.json:
        say(f"{'architecture':<13} {'release':<12} {'kind':<19} {'input':>9} {'top-1':>7} {'top-5':>7}  params")
        for r in rows:
            size = f"{r['crop']}/{r['resize']}" if r["crop"] else "-"
            top1 = f"{r['top1']:.2f}" if r["top1"] is not None else "-"
            top5 = f"{r['top5']:.2f}" if r["top5"] is not None else "-"
            params = " ".join(f"{k}={v}" for k, v in r["params"].items()) or "-"
            release = r["release"] + ("*" if r["default"] else "")
            say(f"{r['architecture']:<13} {release:<12} {r['kind']:<19} {size:>9} {top1:>7} {top5:>7}  {params}")
        say(
            "* weights='imagenet' (the default release); input: centre crop / resized shorter side; top-1/5: "
            "published ImageNet-1k validation %"
        )
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
    if args.to is not None:
        from kzoo.train.dense_start import check_target, finetune_to

        given = [f"--{k.split('.')[1]}" for k, v in finetune_flags.items() if v is not None]
        if given or args.classes != "auto":
            raise UsageError(
                f"kzoo finetune: error: {(given or ['--classes'])[0]} is for a new classifier head, not with --to",
                "with --to the target file's head is trained; its classes follow the data",
            )
        check_target(args.to)
        sets = _recipe_sets(args)
        return finetune_to(args.source, args.to, args.recipe, sets, _params(args), args.output, args.overwrite)
    sets = _recipe_sets(args, **finetune_flags)
    return finetune(args.source, args.recipe, sets, _params(args), args.output, args.classes, overwrite=args.overwrite)


def cmd_predict(args: argparse.Namespace) -> JSON:
    from kzoo.prediction import predict, predictions_table

    tta = [t for t in (args.tta or "").split(",") if t]
    result = predict(
        args.model, args.images, args.top, tta, args.batch_size, args.output, score=args.score, iou=args.iou
    )
    if not args.json:
        say(predictions_table(result))
    return result


def cmd_inspect(args: argparse.Namespace) -> JSON:
    from kzoo.inspect import commands

    return commands.run(args, say)


def cmd_tune(args: argparse.Namespace) -> JSON:
    from kzoo.lang import parse_override
    from kzoo.tune import trials_table, tune

    sets = {**({"data.source": args.data} if args.data else {}), **dict(parse_override(p, "--set") for p in args.set)}
    summary = tune(
        args.target,
        args.space,
        args.recipe,
        sets,
        _params(args),
        args.algorithm,
        args.trials,
        args.objective,
        args.output,
        args.seed,
    )
    if not args.json:
        say(trials_table(summary))
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
    """The JSON Schema of one file kind, from the pydantic schema that validates it."""
    from kzoo.lang.schema import json_schema

    if args.kind == "architecture":
        schema = json_schema()
    else:
        from kzoo.lang.schema import ReleasesFile
        from kzoo.search_space import SearchSpace
        from kzoo.study.schema import StudyFile
        from kzoo.train.recipe import Recipe

        model = {"recipe": Recipe, "study": StudyFile, "space": SearchSpace, "releases": ReleasesFile}[args.kind]
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(by_alias=True),
            "title": f"kzoo {args.kind} file",
        }
    if not args.json:
        say(json.dumps(schema, indent=2))
    return schema


def cmd_import(args: argparse.Namespace) -> JSON:
    from kzoo.caffe.bridge import import_caffe

    doc = import_caffe(args.source, args.output, args.weights, args.input, args.name)
    say(
        f"wrote {doc['wrote']}: {doc['name']}, {doc['lines']} lines from {doc['source_lines']} "
        f"({doc['caffe_layers']} Caffe layers, {doc['layers']} kzoo layers, {doc['params']:,} params)"
    )
    if doc["weights"]:
        say(f"wrote {doc['weights']}")
    for note in doc["assumed"]:
        print(f"note: {note}", file=sys.stderr)
    return doc


def cmd_export(args: argparse.Namespace) -> JSON:
    from pathlib import Path

    from kzoo.caffe.bridge import export_caffe

    if args.format != "caffe":
        from kzoo.deploy import export

        if args.prototxt or args.like:
            raise UsageError(f"--prototxt and --like are for caffe, not {args.format}")
        doc = export(args.format, args.model, args.output, args.weights, _params(args), args.dynamic_batch)
        say(f"wrote {doc['wrote']} (checked in the runtime: largest difference {doc['max_difference']:.1e})")
        return doc
    if args.dynamic_batch:
        raise UsageError("--dynamic-batch is for onnx")

    target = Path(args.model)
    if target.is_dir() or target.suffix == ".keras":
        if args.param or args.weights:
            raise UsageError("--param and --weights are for an architecture, not a saved model")
        from kzoo.saved import load_saved

        model = load_saved(target)
    else:
        from kzoo.zoo import load

        model = load(args.model, weights=args.weights, **_params(args))
        if not args.weights:
            print(
                f"kzoo: warning: {args.model} is exported with freshly initialised weights (no --weights given)",
                file=sys.stderr,
            )
    doc = export_caffe(model, args.output, args.prototxt, args.like)
    say(f"wrote {doc['wrote']} ({doc['layers']} Caffe layers)" + (f" and {doc['prototxt']}" if doc["prototxt"] else ""))
    return doc


def cmd_study(args: argparse.Namespace) -> JSON:
    from pathlib import Path

    from kzoo.lang import parse_override
    from kzoo.study.plan import load_study
    from kzoo.study.report import report
    from kzoo.study.run import study

    sets = dict(parse_override(p, "--set") for p in args.set)
    if args.report:
        plan = load_study(args.file, sets, args.seeds)
        return report(plan, Path(args.output) if args.output else Path("studies") / plan.name)
    return study(args.file, args.output, args.variant or None, sets, args.seeds)
