"""The item grammar of architecture files, in one table: what keys each construct takes, and their kinds.

Expansion checks an item's keys against it (:func:`check_keys` - unknown keys are
located errors with a did-you-mean) and kzoo.lang.schema builds the JSON Schema for
editors from it, so the two cannot drift apart. Key kinds: ``body`` (a layer list,
or ``{defaults, layers, name}``), ``defaults`` (op name -> arguments), ``when`` (a
boolean or an expression), ``count`` (a whole number or an expression), ``name`` (a
string, possibly with expressions), ``from`` (a layer name or a list of them),
``merge`` (``add``, ``concat`` or ``{op: {args}}``), ``args`` (argument -> type or default),
``branches`` (a list of bodies), ``text`` (documentation), ``flag`` (true or false).
"""

from __future__ import annotations

from dataclasses import dataclass

from kzoo.errors import Mark, SpecError, did_you_mean


@dataclass(frozen=True)
class Construct:
    """One construct of the language: its keys (name -> kind), the ones it requires, what it is."""

    keys: dict[str, str]
    required: tuple[str, ...]
    what: str


GRAMMAR: dict[str, Construct] = {
    "repeat": Construct(
        {"repeat": "count", "var": "name", "name": "name", "layers": "body", "defaults": "defaults", "when": "when"},
        ("repeat",),
        "a repeat",
    ),
    "parallel": Construct(
        {
            "parallel": "branches",
            "merge": "merge",
            "then": "body",
            "name": "name",
            "from": "from",
            "defaults": "defaults",
            "when": "when",
        },
        ("parallel",),
        "a parallel",
    ),
    "group": Construct(
        {"layers": "body", "name": "name", "defaults": "defaults", "when": "when"}, ("layers",), "an inline group"
    ),
    "body": Construct({"defaults": "defaults", "layers": "body", "name": "name"}, (), "a layer list"),
    "block": Construct(
        {
            "args": "args",
            "defaults": "defaults",
            "layers": "body",
            "parallel": "branches",
            "merge": "merge",
            "then": "body",
            "doc": "text",
            "scoped": "flag",
        },
        (),
        "a block",
    ),
    "head": Construct(
        {"from": "from", "merge": "merge", "when": "when", "layers": "body", "defaults": "defaults"},
        ("from",),
        "a head",
    ),
}


def check_keys(construct: str, item: dict, path: str, mark_of_key) -> None:
    """Every key of ``item`` is one ``construct`` takes, else a SpecError at the key's mark."""
    c = GRAMMAR[construct]
    for key in item:
        if key not in c.keys:
            mark: Mark | None = mark_of_key(key)
            raise SpecError(f"unknown key {key!r} in {c.what}", mark, path, did_you_mean(key, c.keys))
