"""``kzoo inspect``: each sub-command measures (kzoo.inspect.stats, .look), draws (.plots), and with
``--json`` prints its numbers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="what", required=True, metavar="WHAT")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("-o", "--output", metavar="FILE", help="the picture (.png, .svg, .pdf); default NAME-WHAT.png")
        p.add_argument("--json", action="store_true", help="print the numbers as JSON")
        return p

    p = add("init", "activation and gradient spread per layer of a freshly initialised network")
    p.add_argument("target", metavar="FILE|NAME")
    p.add_argument("--init", help="initializer for every layer that uses the file's init param (e.g. glorot_uniform)")
    p.add_argument("--activation", help="activation for the file's activation param (e.g. tanh)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--data", default="random", help="random (normal inputs) or a data source: digits, folder:PATH")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override another param")
    p = add("filters", "a conv layer's kernels as an image grid (colour for the first layer)")
    p.add_argument("model", metavar="MODEL", help="a .keras file or a run directory")
    p.add_argument("--layer", required=True)
    p.add_argument("--channel", type=int, default=0, help="input channel shown for layers that read more than 3")
    p = add("activations", "a layer's feature maps for one image, as a grid")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--layer", required=True)
    p = add("occlusion", "Zeiler & Fergus: p(class) as a square of the image's mean colour slides over it")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--class", dest="cls", type=int, help="default: the class predicted for the whole image")
    p.add_argument("--size", type=int, help="occluder side in pixels (default: a quarter of the image)")
    p.add_argument("--stride", type=int, help="default: half the size")
    p.add_argument("--fill", type=float, help="the square's value (default: the image's mean colour)")
    p = add("dream", "class visualisation by gradient ascent on the input, with jitter, blur and L2")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--class", dest="cls", type=int, required=True)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p = add("curves", "loss, accuracy and learning rate per epoch of a training run")
    p.add_argument("run", metavar="RUN", help="a run directory (or its log.csv)")


def _default_out(args: argparse.Namespace, stem: str) -> str:
    return args.output or f"{stem}-{args.what}.png"


def _stem(path: str) -> str:
    p = Path(path)
    return (p.name if p.is_dir() else p.stem) or "model"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)))


def run(args: argparse.Namespace) -> int:
    what = args.what
    if what == "curves":
        from kzoo.inspect.plots import plot_curves, read_log

        log = read_log(args.run)
        out = plot_curves(log, _default_out(args, _stem(args.run)), _stem(args.run))
        if args.json:
            _print_json(log)
        print(f"wrote {out}")
        return 0
    if what == "init":
        from kzoo.inspect.stats import init_report, plot_stats, stats_table
        from kzoo.spec import parse_override

        sets = dict(parse_override(s) for s in args.set)
        model, stats = init_report(args.target, args.init, args.activation, sets, args.batch, args.data, args.seed)
        title = f"{model.name}: init={args.init or 'as declared'}, activation={args.activation or 'as declared'}"
        out = plot_stats(stats, _default_out(args, model.name), title)
        if args.json:
            _print_json([s.row() for s in stats])
        else:
            print(title)
            print(stats_table(stats))
        print(f"wrote {out}")
        return 0

    from kzoo.inspect import look, plots

    model = look.load_model(args.model)
    stem = _stem(args.model)
    shape = tuple(int(d) for d in model.input_shape[1:])
    if what == "filters":
        tiles = look.filters(model, args.layer, args.channel)
        out = plots.plot_filters(tiles, _default_out(args, stem), f"{model.name} {args.layer}: {len(tiles)} filters")
        data: Any = {"layer": args.layer, "filters": int(len(tiles)), "shape": list(tiles.shape[1:])}
        data["std"] = [float(t.std()) for t in tiles]
    elif what == "activations":
        image = look.load_image(args.image, shape)
        maps = look.activations(model, image, args.layer)
        out = plots.plot_activations(maps, _default_out(args, stem), f"{model.name} {args.layer}: {len(maps)} maps")
        data = {"layer": args.layer, "maps": int(len(maps)), "shape": list(maps.shape[1:])}
        data["mean"] = [float(m.mean()) for m in maps]
    elif what == "occlusion":
        image = look.load_image(args.image, shape)
        result = look.occlusion(model, image, args.cls, args.size, args.stride, args.fill)
        out = plots.plot_occlusion(image, result, _default_out(args, stem))
        data = {k: v for k, v in result.items()}
        lowest = np.unravel_index(np.argmin(result["map"]), result["map"].shape)
        data["lowest_at"] = {"row": result["rows"][lowest[0]], "col": result["cols"][lowest[1]]}
    else:  # dream
        result = look.dream(model, args.cls, args.steps, args.lr, seed=args.seed)
        out = plots.plot_dream(result, _default_out(args, stem))
        data = {k: v for k, v in result.items() if k != "image"}
    if args.json:
        _print_json(data)
    print(f"wrote {out}")
    return 0
