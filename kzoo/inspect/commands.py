"""``kzoo inspect``: each sub-command measures (kzoo.inspect.stats, .look), draws (.plots), and returns its
numbers (printed as the one JSON document with ``--json``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError, did_you_mean


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a pixel value from 0 to 1, got {text}")
    return value


def add_arguments(sp: argparse.ArgumentParser, add_common: Callable, add_params: Callable) -> None:
    sub = sp.add_subparsers(dest="what", required=True, metavar="WHAT", parser_class=type(sp))

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("-o", "--output", metavar="FILE", help="the picture (.png, .svg, .pdf); default NAME-WHAT.png")
        add_common(p)
        return p

    p = add("init", "activation and gradient spread per layer of a freshly initialised network")
    p.add_argument("target", metavar="FILE|NAME")
    p.add_argument("--init", help="initializer for every layer that uses the file's init param (e.g. glorot_uniform)")
    p.add_argument("--activation", help="activation for the file's activation param (e.g. tanh)")
    p.add_argument(
        "--batch",
        type=_positive,
        default=None,
        help="images measured (default 64, fewer where 2 GB cannot hold them)",
    )
    p.add_argument("--data", default="random", help="random (normal inputs) or a data source: digits, folder:PATH")
    p.add_argument("--seed", type=int, default=0)
    add_params(p)
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
    p.add_argument("--class", dest="cls", help="a class name or number (default: the class predicted for the image)")
    p.add_argument("--size", type=_positive, help="occluder side in pixels (default: a quarter of the image)")
    p.add_argument("--stride", type=_positive, help="default: half the size")
    p.add_argument("--fill", type=_fraction, help="the square's value (default: the image's mean colour)")
    p = add("dream", "class visualisation by gradient ascent on the input, with jitter, blur and L2")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--class", dest="cls", required=True, help="a class name or number")
    p.add_argument("--steps", type=_positive, default=200)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p = add("curves", "loss, accuracy and learning rate per epoch of a training run")
    p.add_argument("run", metavar="RUN", help="a run directory (or its log.csv)")


def class_index(model: Any, given: str | None) -> int | None:
    """A class given by name (as the model knows its classes) or by number; None stays None."""
    if given is None:
        return None
    from kzoo.prediction import class_names
    from kzoo.saved import meta

    names = class_names(model, meta(model))
    if given in names:
        return names.index(given)
    try:
        index = int(given)
    except ValueError:
        raise SpecError(
            f"--class {given!r}: the model has no class of that name", hint=did_you_mean(given, names)
        ) from None
    if not 0 <= index < len(names):
        raise SpecError(f"--class {index} out of range: the model has {len(names)} classes ({', '.join(names[:10])})")
    return index


def _default_out(args: argparse.Namespace, stem: str) -> str:
    return args.output or f"{stem}-{args.what}.png"


def _stem(path: str) -> str:
    p = Path(path)
    return (p.name if p.is_dir() else p.stem) or "model"


def run(args: argparse.Namespace, say: Callable[..., None] = print) -> Any:
    what = args.what
    if what == "curves":
        from kzoo.inspect.plots import plot_curves
        from kzoo.train.rundir import read_log

        log = read_log(args.run)
        out = plot_curves(log, _default_out(args, _stem(args.run)), _stem(args.run))
        say(f"wrote {out}")
        return log
    if what == "init":
        return _init(args, say)

    from kzoo.inspect import look

    model = look.load_model(args.model)
    data = _look(args, model, _stem(args.model))
    say(f"wrote {data['wrote']}")
    return data


def _init(args: argparse.Namespace, say: Callable[..., None]) -> Any:
    from kzoo.inspect.stats import init_report, plot_stats, stats_table
    from kzoo.lang import parse_override

    if args.set:
        raise SpecError("kzoo inspect init has no recipe: use --param for architecture params", hint="--param depth=18")
    params = dict(parse_override(s, "--param") for s in args.param)
    model, stats = init_report(args.target, args.init, args.activation, params, args.batch, args.data, args.seed)
    title = f"{model.name}: init={args.init or 'as declared'}, activation={args.activation or 'as declared'}"
    out = plot_stats(stats, _default_out(args, model.name), title)
    say(title)
    say(stats_table(stats))
    say(f"wrote {out}")
    return [s.row() for s in stats]


def _look(args: argparse.Namespace, model: Any, stem: str) -> dict[str, Any]:
    from kzoo.inspect import look, plots
    from kzoo.saved import image_shape

    shape = image_shape(model, "the model")
    what = args.what
    if what == "filters":
        tiles = look.filters(model, args.layer, args.channel)
        out = plots.plot_filters(tiles, _default_out(args, stem), f"{model.name} {args.layer}: {len(tiles)} filters")
        data: dict[str, Any] = {"layer": args.layer, "filters": int(len(tiles)), "shape": list(tiles.shape[1:])}
        data["std"] = [float(t.std()) for t in tiles]
    elif what == "activations":
        image = look.load_image(args.image, shape, model)
        maps = look.activations(model, image, args.layer)
        out = plots.plot_activations(maps, _default_out(args, stem), f"{model.name} {args.layer}: {len(maps)} maps")
        data = {"layer": args.layer, "maps": int(len(maps)), "shape": list(maps.shape[1:])}
        data["mean"] = [float(m.mean()) for m in maps]
    elif what == "occlusion":
        image = look.load_image(args.image, shape, model)
        result = look.occlusion(model, image, class_index(model, args.cls), args.size, args.stride, args.fill)
        names = _names(model)
        out = plots.plot_occlusion(image, result, _default_out(args, stem), names)
        data = dict(result)
        data["class_name"] = names[result["class"]]
        lowest = np.unravel_index(np.argmin(result["map"]), result["map"].shape)
        data["lowest_at"] = {"row": result["rows"][lowest[0]], "col": result["cols"][lowest[1]]}
    else:  # dream
        result = look.dream(model, class_index(model, args.cls), args.steps, args.lr, seed=args.seed)
        out = plots.plot_dream(result, _default_out(args, stem))
        data = {k: v for k, v in result.items() if k != "image"}
        data["class_name"] = _names(model)[result["class"]]
    data["wrote"] = str(out)
    return data


def _names(model: Any) -> list[str]:
    from kzoo.prediction import class_names
    from kzoo.saved import meta

    return class_names(model, meta(model))
