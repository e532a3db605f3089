"""``backbone:``: a file's layers start from another architecture's graph.

A head file (FCN, a detector) names the architecture it is put on, with the
params that make it a trunk; its own ``layers:`` continue from the backbone's
output, and ``${features}`` lists the backbone's ``features:`` (their layer
names, strides from fine to coarse), so skips reach any stage by position::

    params: {backbone: vgg16}
    backbone: {name: $backbone, params: {include_top: false}}
    layers:
      - conv: {filters: 21, kernel: 1}
      - crop: {from: [upscore, "${features[-2]}"]}    # the stride-16 stage

The backbone's layers keep their names (weights port and layers freeze by
them); a name used by both files is an error at the second. The backbone
takes the file's input shape. A name is looked up in the zoo's folders
(``vgg16`` -> ``vgg16.yaml``); a ``.yaml`` path is relative to the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzoo.errors import SpecError, did_you_mean, short
from kzoo.lang.loader import mark_of
from kzoo.lang.resolve import load_spec
from kzoo.paths import architecture_files

if TYPE_CHECKING:
    from kzoo.graph.expand import Expander

MAX_DEPTH = 4  # a backbone's backbone's ...


def backbone_file(name: str, spec_file: str, mark: Any) -> Path:
    """The file a ``backbone:`` name or path means."""
    if name.endswith((".yaml", ".yml")):
        for cand in (Path(spec_file).parent / name, Path(name)):
            if cand.is_file():
                return cand
        raise SpecError(f"backbone: no such file {name}", mark, "backbone", f"relative to {Path(spec_file).parent}")
    names = architecture_files()
    if name not in names:
        raise SpecError(f"backbone: unknown architecture {name!r}", mark, "backbone", did_you_mean(name, names))
    return names[name]


def attach(ex: Expander, shape: tuple[Any, ...], depth: int = 0) -> str:
    """Expand the backbone into ``ex``'s nodes and symbols; its main output (where the file's layers start)."""
    from kzoo.graph.expand import Expander

    data = ex.data
    value = ex.value(data["backbone"], ex.globals, data, "backbone", "backbone")
    mark = mark_of(data, "backbone")
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or set(value) - {"name", "params"} or not isinstance(value.get("name"), str):
        raise SpecError(
            f"backbone: expects a name, or {{name:, params:}}, got {short(value)}",
            mark,
            "backbone",
            "backbone: {name: vgg16, params: {include_top: false}}",
        )
    params = value.get("params") or {}
    if not isinstance(params, dict):
        raise SpecError(f"backbone params: expects a mapping, got {short(params)}", mark, "backbone.params")
    if depth >= MAX_DEPTH:
        raise SpecError(f"backbones nest more than {MAX_DEPTH} deep", mark, "backbone")
    path = backbone_file(value["name"], ex.spec.file, mark)
    spec = load_spec(path, {**params, "input": list(shape)}, f"backbone: at {mark}")
    inner = Expander(spec)
    inner.depth = depth + 1
    graph = inner.run()
    for name, node in graph.nodes.items():
        ex.names.add_symbol(name, name, node.source, node.path)
        ex.nodes[name] = node
    for name, out in graph.symbols.items():
        if name not in ex.names.symbols:
            ex.names.symbols[name] = (out, None)
    ex.globals["features"] = list(graph.features)
    return graph.outputs[0]
