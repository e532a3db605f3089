"""The Caffe bridge's two jobs, as the CLI and Python call them.

:func:`import_caffe`: a ``.prototxt`` becomes an architecture file (checked by
kzoo's own static analysis before it is written), and with ``weights`` the
``.caffemodel`` becomes ``NAME.weights.h5`` beside it. :func:`export_caffe`: a
Keras model (a ``.keras`` file, a run directory, or an architecture built with
its weights) becomes a ``.caffemodel`` (and a ``.prototxt``); with ``like``, its
layers take the names a reference prototxt gives them, so the weights run with
the authors' own definition.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kzoo.caffe.emit import emit
from kzoo.caffe.importer import convert
from kzoo.caffe.reader import read_net
from kzoo.errors import Mark, SpecError
from kzoo.files import atomic_paths, check_space, output_file


def import_caffe(
    prototxt: str | Path,
    output: str | Path | None = None,
    weights: str | Path | None = None,
    input_shape: tuple[int, int, int] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Write the architecture file of a Caffe network (and its converted weights); what was written."""
    from kzoo.graph import analyse
    from kzoo.graph.budget import check_weights

    prototxt = Path(prototxt)
    out = output_file(Path(output) if output else Path(prototxt.stem + ".yaml"), (".yaml", ".yml"), "-o")
    if weights is not None and not Path(weights).exists():
        raise SpecError(f"--weights: no such file {weights}", hint="give the .caffemodel released with the network")
    if weights is not None and not Path(weights).is_file():
        raise SpecError(f"--weights: {weights} is not a regular file", hint="give the .caffemodel file itself")
    net = read_net(prototxt, input_shape)
    imported = convert(net)
    model_name = name or _name_of(net.name, prototxt)
    weights_out = out.with_name(out.stem + ".weights.h5") if weights is not None else None
    text = emit(imported, model_name, prototxt.name, weights_out.name if weights_out else None)
    outs = [out] if weights_out is None else [out, weights_out]
    with atomic_paths(*outs) as tmps:  # the file and its weights renamed together, or neither kept
        tmp = tmps[0]
        Path(tmp).write_text(text, encoding="utf-8")
        try:
            graph = analyse(tmp)  # the file must be one kzoo reads as it is (raises before anything is kept)
            check_weights(graph, "import")  # 10^9 outputs: refused here, not when the file is first built
            if weights_out is not None:
                from kzoo.builder import build_graph
                from kzoo.caffe.weights import load_caffe_weights

                model = build_graph(graph)
                load_caffe_weights(model, graph, weights)
                check_space(weights_out.parent, 2 * 4 * model.count_params(), f"writing {weights_out.name}")
                model.save_weights(str(tmps[1]))
        except SpecError as exc:
            raise at_prototxt(exc, str(tmp), text, imported) from None
    totals = graph.totals()
    return {
        "wrote": str(out),
        "weights": str(weights_out) if weights_out else None,
        "name": model_name,
        "lines": text.count("\n"),
        "source_lines": prototxt.read_text(encoding="utf-8", errors="replace").count("\n"),
        "caffe_layers": len(net.layers),
        "layers": totals["layers"],
        "params": totals["params"],
        "assumed": list(net.assumed),
    }


def at_prototxt(exc: SpecError, generated: str, text: str, imported: Any) -> SpecError:
    """An error kzoo's analysis found in the YAML it generated, moved to the Caffe layer it came from (the
    prototxt's line): the layer the message names, else the one the generated line (or the item above) holds."""
    if exc.mark is None or exc.mark.file != generated:
        return exc
    by_name = {n.name: n.layer for n in imported.nodes if n.layer is not None}
    by_name.update({layer.name: layer for layer in imported.net.layers})
    layer = None
    named = re.search(r"layer '([^']+)'", exc.message)
    if named:
        layer = by_name.get(named.group(1))
    lines = text.splitlines()
    for i in range((exc.mark.line or 0) - 1, -1, -1) if layer is None else ():
        found = re.search(r"\bname: (?:'([^']*)'|\"([^\"]*)\"|([^,}\s]+))", lines[i] if i < len(lines) else "")
        if found:
            layer = by_name.get(next(g for g in found.groups() if g is not None))
            break
    if layer is None:
        return SpecError(exc.message, Mark(imported.net.file), None, exc.hint)
    message = exc.message if named else f"layer {layer.name!r} ({layer.type}): {exc.message}"
    return SpecError(message, layer.mark, None, exc.hint)


def _name_of(net_name: str, path: Path) -> str:
    import re

    text = re.sub(r"[^0-9a-z_]+", "_", (net_name or path.stem).lower()).strip("_")
    return text or "imported"


def declared_names(model: Any) -> Any:
    """The layer-name rules the architecture file of a kzoo-built model declares for its Caffe release (or None)."""
    from kzoo.caffe.declaration import declaration
    from kzoo.lang.resolve import load_with_extends
    from kzoo.lang.weights import releases
    from kzoo.saved import meta

    info = meta(model)
    file = info.get("file")
    if not file or not Path(file).is_file():
        return None
    data = load_with_extends(Path(file))
    own = dict(data.get("params") or {}) if isinstance(data.get("params"), dict) else {}
    found = [r for r in releases(data, {**own, **(info.get("params") or {})}, str(file)) if r.kind == "caffe"]
    return declaration(found[0]).names if found else None


def export_caffe(
    model: Any,
    output: str | Path,
    prototxt: str | Path | None = None,
    like: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``model`` (a Keras model) as a ``.caffemodel`` (and ``prototxt``); what was written.

    Layers take the Caffe names the model's architecture file declares (``weights.caffe.names``: an
    imported network's own names); with ``like`` (a Caffe definition), the names it gives them."""
    from kzoo.caffe.exporter import check_like, export_model, model_layers, rename_declared, rename_like
    from kzoo.caffe.writer import write

    out = output_file(Path(output), (".caffemodel",), "-o")
    if prototxt is not None:
        output_file(Path(prototxt), (".prototxt",), "--prototxt")
    reference = read_net(like) if like is not None else None
    ex = export_model(model)
    if reference is not None:
        own = model_layers(ex, model)
        rename_like(ex, reference, declared_names(model))
        check_like(ex, reference, own)
    else:
        rename_declared(ex, declared_names(model))
    write(ex, out, prototxt)
    return {
        "wrote": str(out),
        "prototxt": str(prototxt) if prototxt else None,
        "layers": len(ex.net.layer),
        "blobs": sum(len(b) for b in ex.blobs.values()),
    }


__all__ = ["export_caffe", "import_caffe"]
