"""The schema of an architecture file, and its JSON Schema for editors.

Top-level keys::

    name: resnet50                  # required; the name users load it by
    extends: families/resnet.yaml   # optional; a file this one overrides
    aliases: [resnet]               # other names for this file (not inherited)
    paper: "He et al. 2016, Deep Residual Learning ..."
    reference: "Table 1"            # which table or figure the file follows
    differences: [...]              # how the file differs from the paper
    input: [224, 224, 3]            # rows, cols, channels; rows and cols may be null (any size)
    example_size: [224, 224]        # the size analysed for multiply-adds when rows or cols are null
    params: {depth: 50}             # overridable: --param depth=101, load(depth=101)
    choices: {pooling: [avg, max]}  # a param's allowed values (default: derived, see kzoo.lang.choices)
    tables: {stages: {50: [3, 4, 6, 3]}}   # looked up in expressions: ${stages[depth]}
    defaults: {conv: {init: he_normal}}    # per-op defaults for the whole file
    backbone: {name: vgg16, params: {include_top: false}}   # layers start from it (kzoo.graph.backbone)
    blocks: {bottleneck: {args: {...}, layers: [...]}}
    layers: [...]                   # the main path
    heads: {aux1: {from: inception4a, when: $aux, layers: [...]}}
    outputs: [name, ...]            # optional; default: main path, then heads
    features: [conv2, conv3, ...]   # layers or scopes kzoo.load(features_only=True) returns
    weights: {torchvision: {url: ..., params: {...}, names: [...]}}   # released checkpoints (kzoo.lang.weights)
    weights: weights/resnet.yaml    # ... or the releases file that declares them
    train: {...}                    # the paper's training recipe (kzoo train)
    task: segmentation              # what the model is for (kzoo.tasks; default classification)

``kzoo schema`` prints :func:`json_schema`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class ArchitectureFile(BaseModel):
    """One architecture file after ``extends`` is applied."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(
        pattern=r"^([A-Za-z_][A-Za-z0-9_.-]*|.*\$.*)$",
        description="the model's name; may hold expressions over params (resnet${depth})",
    )
    extends: str | None = None
    aliases: list[str] = Field(default_factory=list)
    paper: str | None = None
    reference: str | None = None
    differences: str | list[str] | None = None
    description: str | None = None
    input: list[int | str | None] = Field(
        min_length=1, max_length=3, description="rows, cols, channels (or features); rows and cols may be null"
    )
    example_size: list[int | str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="rows, cols analysed when the input's are null (default: the file's own input size, else 224)",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    choices: dict[str, list[Any]] = Field(
        default_factory=dict, description="the values a param may take (default: derived from its uses)"
    )
    tables: dict[str, dict[Any, Any]] = Field(default_factory=dict)
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    backbone: str | dict[str, Any] | None = Field(
        None, description="an architecture whose graph the layers continue: a name, or {name:, params:}"
    )
    blocks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    layers: list[Any] | dict[str, Any]
    heads: dict[str, dict[str, Any]] = Field(default_factory=dict)
    outputs: list[str] | None = None
    features: list[str] | None = None
    weights: dict[str, dict[str, Any]] | str | None = Field(
        None,
        description="released checkpoints by name: kind, url, params, names, input transform (kzoo.lang.weights); "
        "or the path of a releases file that declares them",
    )
    train: dict[str, Any] | None = None
    task: str = Field("classification", description="what the model is for: classification or segmentation")


def _expr_or(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "string", "pattern": r"\$"}]}


def _fn_schema(names: list[str]) -> dict[str, Any]:
    return {
        "anyOf": [
            {"enum": names},
            {"type": "object", "propertyNames": {"enum": names}, "minProperties": 1, "maxProperties": 1},
            {"type": "string", "pattern": r"\$"},
        ]
    }


def _op_args_schema(op: Any, inits: list[str], acts: list[str]) -> dict[str, Any]:
    schema = op.Args.model_json_schema()
    props = schema.get("properties", {})
    for key, prop in list(props.items()):
        if key.endswith("init"):
            props[key] = _fn_schema(inits)
        elif key in ("activation", "fn"):
            props[key] = _fn_schema(acts)
        else:
            props[key] = _expr_or(prop)
    props["name"] = {"type": "string", "description": "layer name within its scope"}
    props["from"] = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "input layer(s) by name; default: the previous item",
    }
    schema.pop("required", None)  # a required arg may come from defaults
    schema.pop("title", None)
    return schema


#: JSON Schema of each key kind of the grammar (kzoo.lang.grammar)
KINDS: dict[str, dict[str, Any]] = {
    "body": {"$ref": "#/$defs/body"},
    "branches": {"type": "array", "items": {"$ref": "#/$defs/body"}},
    "defaults": {"type": "object"},
    "when": {},
    "count": _expr_or({"type": "integer", "minimum": 0}),
    "name": {"type": "string"},
    "from": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "merge": {},
    "args": {"type": "object"},
    "text": {"type": "string"},
    "flag": {"type": "boolean"},
}


def _construct_schema(name: str) -> dict[str, Any]:
    from kzoo.lang.grammar import GRAMMAR

    c = GRAMMAR[name]
    return {
        "type": "object",
        "required": list(c.required),
        "properties": {key: KINDS[kind] for key, kind in c.keys.items()},
        "additionalProperties": False,
        "description": c.what,
    }


class ReleasesFile(BaseModel):
    """A releases file (``weights: weights/resnet.yaml``): an architecture's released checkpoints, apart from it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    releases: dict[str, dict[str, Any]] = Field(
        min_length=1, description="release name -> release: kind, url, params, names, input ... (kzoo.lang.weights)"
    )
    tables: dict[str, dict[Any, Any]] = Field(
        default_factory=dict, description="lookup tables the releases' expressions use (hashes, accuracies)"
    )


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of architecture files."""
    from kzoo.ops import ACTIVATIONS, INITIALIZERS, OPS

    inits, acts = INITIALIZERS.names(), ACTIVATIONS.names()
    defs: dict[str, Any] = {}
    item_variants: list[dict[str, Any]] = [{"type": "string", "description": "an op, block or activation name"}]
    for name, op in OPS.items():
        defs[f"op_{name}"] = _op_args_schema(op, inits, acts)
        item_variants.append(
            {
                "type": "object",
                "required": [name],
                "properties": {
                    name: {"anyOf": [{"$ref": f"#/$defs/op_{name}"}, {"type": ["null", "number", "string", "array"]}]},
                    "when": {},
                },
                "additionalProperties": False,
                "description": op.summary(),
            }
        )
    item_variants += [_construct_schema(c) for c in ("repeat", "parallel", "group")]
    for name in acts:
        item_variants.append(
            {
                "type": "object",
                "required": [name],
                "properties": {name: {"type": ["object", "null"]}, "when": {}},
                "additionalProperties": False,
                "description": f"a {name} activation layer",
            }
        )
    item_variants.append(
        {
            "type": "object",
            "description": "a block call: {block_name: {arg: value}}",
            "minProperties": 1,
            "maxProperties": 2,
            "propertyNames": {"not": {"enum": [*OPS.names(), *ACTIVATIONS.names(), "repeat", "parallel"]}},
        }
    )
    defs["item"] = {"anyOf": item_variants}
    body = _construct_schema("body")
    body.pop("additionalProperties")
    defs["body"] = {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/item"}}, body]}
    top = ArchitectureFile.model_json_schema()
    top["properties"]["layers"] = {"$ref": "#/$defs/body"}
    top["properties"]["blocks"] = {"type": "object", "additionalProperties": _construct_schema("block")}
    top["properties"]["heads"] = {"type": "object", "additionalProperties": _construct_schema("head")}
    top["properties"]["defaults"] = {
        "type": "object",
        "properties": {n: {"type": "object"} for n in OPS.names()},
        "additionalProperties": False,
    }
    top.pop("required", None)  # a file that extends another inherits its name
    top["if"] = {"not": {"required": ["extends"]}}
    top["then"] = {"required": ["name"]}
    top.setdefault("$defs", {}).update(defs)
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["title"] = "kzoo architecture file"
    return top
