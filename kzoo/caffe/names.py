"""Which Caffe layer a zoo file's layer is: the ``weights.caffe.names`` rules of its YAML.

A rule is ``[PATTERN, REPLACEMENT]``: the first whose pattern matches a kzoo layer name
whole gives its Caffe name; ``{n}`` is the n-th group, ``{n:letter}`` it as a letter
(1 -> a), ``{n:ab}`` Caffe's numbering of long stages (1 -> a, then 2 -> b1, 3 -> b2 ...,
as He et al.'s ResNet-101/152 name res4b22), ``{n-1}`` / ``{n+1}`` the number less or plus one
(kzoo's conv2_block1 is torchvision's layer1.0). A name no rule matches is its own.
Names are compared as kzoo writes Caffe's (``/`` becomes ``_``)::

    names:
      - [conv1_conv, conv1]
      - ['conv(\\d)_block(\\d+)_0_conv', 'res{1}{2:letter}_branch1']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kzoo.errors import SpecError

CONVERTERS: dict[str, Callable[[str], str]] = {
    "letter": lambda g: chr(ord("a") + int(g) - 1),
    "ab": lambda g: "a" if int(g) == 1 else f"b{int(g) - 1}",
}
_FIELD = re.compile(r"\{(\d+)([+-]\d+)?(?::(\w+))?\}")


class NameRules:
    """kzoo layer name -> Caffe layer name, by the first matching rule."""

    def __init__(self, rules: Any, where: str = "weights.caffe.names"):
        if rules is None:
            rules = []
        if not isinstance(rules, list):
            raise SpecError(f"{where} is a list of [PATTERN, REPLACEMENT] rules", hint="e.g. [[fc1, fc6]]")
        self.rules: list[tuple[re.Pattern, str]] = []
        for i, rule in enumerate(rules):
            if not (isinstance(rule, list) and len(rule) == 2 and all(isinstance(r, str) for r in rule)):
                raise SpecError(f"{where}[{i}] must be [PATTERN, REPLACEMENT], got {rule!r}")
            try:
                pattern = re.compile(rule[0])
            except re.error as exc:
                raise SpecError(f"{where}[{i}]: {rule[0]!r} is not a regular expression ({exc})") from None
            for m in _FIELD.finditer(rule[1]):
                if int(m.group(1)) > pattern.groups or (m.group(3) and m.group(3) not in CONVERTERS):
                    raise SpecError(
                        f"{where}[{i}]: {m.group()} names no group of {rule[0]!r} or no converter",
                        hint="converters: " + ", ".join(CONVERTERS),
                    )
            self.rules.append((pattern, rule[1]))

    def __call__(self, name: str) -> str:
        for pattern, replacement in self.rules:
            m = pattern.fullmatch(name)
            if m:
                return _FIELD.sub(lambda f, m=m: _field(m, f), replacement)
        return name


def _field(m: re.Match, f: re.Match) -> str:
    text = m.group(int(f.group(1))) or ""
    if f.group(2):
        if not text.isdigit():
            raise SpecError(f"name rule {f.group()}: {text!r} is not a number")
        text = str(int(text) + int(f.group(2)))
    return CONVERTERS[f.group(3)](text) if f.group(3) else text
