"""Safe YAML loading that remembers where every value came from.

PyYAML's ``SafeLoader`` composes the document into nodes that carry their
start marks; we construct Python values from those nodes ourselves so that
each mapping (:class:`YMap`) and sequence (:class:`YSeq`) keeps the line and
column of every key and item. Written by hand because no library keeps marks
on PyYAML's output; the scalar parsing itself is PyYAML's.

Refused with a :class:`SpecError`: tags outside plain YAML (``!!python/...``),
duplicate keys, documents that expand past :data:`MAX_NODES` values (alias
bombs) or nest deeper than :data:`MAX_DEPTH`, and more than one document.

:class:`At` names a value's place (its container, its key there, its path) for located errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kzoo.errors import Mark, SpecError
from kzoo.files import MAX_TEXT_BYTES, read_text

MAX_NODES = 200_000
MAX_DEPTH = 64
YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_TAG = "tag:yaml.org,2002:"
_FLOAT12 = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


class YMap(dict):
    """A mapping that remembers the marks of its keys and values.

    Outside this module, marks are read with :func:`mark_of` / :func:`raw_of` and written with
    :meth:`put`, :meth:`take` and :meth:`copy` (which keep them), never through the tables themselves.
    """

    mark: Mark | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.key_marks: dict[Any, Mark] = {}
        self.val_marks: dict[Any, Mark] = {}
        self.raw: dict[Any, str] = {}

    def put(self, key: Any, value: Any, mark: Mark | None = None, key_mark: Mark | None = None) -> None:
        """``self[key] = value``, at ``mark`` (the value's) and ``key_mark`` (the key's; default: where the key
        already was, else ``mark``)."""
        self[key] = value
        self.val_marks[key] = mark
        self.key_marks[key] = key_mark if key_mark is not None else self.key_marks.get(key, mark)
        self.raw.pop(key, None)

    def take(self, other: YMap, key: Any, value: Any = None) -> None:
        """Set ``key`` to ``other[key]`` (or to ``value``), with the marks and source text it has in ``other``."""
        self[key] = other[key] if value is None else value
        self.val_marks[key] = other.val_marks.get(key)
        self.key_marks[key] = other.key_marks.get(key)
        if key in other.raw:
            self.raw[key] = other.raw[key]

    def copy(self) -> YMap:
        """A shallow copy that keeps the marks."""
        out = YMap(self)
        out.mark = self.mark
        out.key_marks, out.val_marks, out.raw = dict(self.key_marks), dict(self.val_marks), dict(self.raw)
        return out


class YSeq(list):
    """A sequence that remembers the mark of each item."""

    mark: Mark | None = None

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.marks: list[Mark | None] = []
        self.raw: list[str | None] = []


def mark_of(container: Any, key: Any = None, *, of_key: bool = False) -> Mark | None:
    """The mark of ``container[key]`` (or of the container itself)."""
    if key is None:
        return getattr(container, "mark", None)
    if isinstance(container, YMap):
        table = container.key_marks if of_key else container.val_marks
        return table.get(key, container.mark)
    if isinstance(container, YSeq) and isinstance(key, int) and 0 <= key < len(container.marks):
        return container.marks[key]
    return getattr(container, "mark", None)


def from_plain(value: Any, mark: Mark | None = None) -> Any:
    """Plain Python data (dicts, lists, scalars) as YMap / YSeq, every node at ``mark``."""
    if isinstance(value, dict):
        out = YMap()
        out.mark = mark
        for k, v in value.items():
            out.put(k, from_plain(v, mark), mark)
        return out
    if isinstance(value, (list, tuple)):
        seq = YSeq(from_plain(v, mark) for v in value)
        seq.mark, seq.marks, seq.raw = mark, [mark] * len(seq), [None] * len(seq)
        return seq
    return value


def sub_path(path: str, key: Any) -> str:
    """The path of ``key`` under ``path`` for messages: ``layers[3]``, ``layers[3].conv``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


@dataclass(frozen=True)
class At:
    """A value's place in the document: the mapping or list that holds it, its key there, and its path
    (``layers[3].conv``) for messages."""

    container: Any
    key: Any
    path: str

    def mark(self, of_key: bool = False) -> Mark | None:
        return mark_of(self.container, self.key, of_key=of_key)

    def error(self, message: str, hint: str | None = None, of_key: bool = False) -> SpecError:
        """A SpecError located here (at the key itself with ``of_key``)."""
        return SpecError(message, self.mark(of_key), self.path, hint)

    def field(self, container: Any, key: str) -> At:
        """The place of ``container[key]``, a field of the value here (``name``, ``from``)."""
        return At(container, key, sub_path(self.path, key))


def raw_of(container: Any, key: Any) -> str | None:
    """The source text of a YAML 1.1 boolean (``off``, ``yes``) at ``key``."""
    if isinstance(container, YMap):
        return container.raw.get(key)
    if isinstance(container, YSeq) and isinstance(key, int) and key < len(container.raw):
        return container.raw[key]
    return None


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str | None):
        self.loader = loader
        self.file = file
        self.count = 0
        self.seen: set[int] = set()
        self.aliased = False

    def mark(self, node: yaml.Node) -> Mark:
        m = node.start_mark
        return Mark(self.file, m.line + 1, m.column + 1)

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if not isinstance(node, yaml.ScalarNode):
            self.aliased |= id(node) in self.seen
            self.seen.add(id(node))
        if self.count > MAX_NODES:
            raise SpecError(
                f"document expands to more than {MAX_NODES:,} values",
                self.mark(node),
                hint="YAML aliases (*name) that repeat large anchors multiply; this looks like an alias bomb"
                if self.aliased
                else "this is far larger than any network description; is it the right file?",
            )
        if depth > MAX_DEPTH:
            raise SpecError(
                f"document nests deeper than {MAX_DEPTH} levels",
                self.mark(node),
                hint="a recursive YAML alias refers to itself",
            )
        if isinstance(node, yaml.MappingNode):
            return self.build_map(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return self.build_seq(node, depth)
        return self.build_scalar(node)

    def check_tag(self, node: yaml.Node, allowed: set[str]) -> None:
        if node.tag not in allowed:
            raise SpecError(
                f"YAML tag {node.tag!r} is not allowed",
                self.mark(node),
                hint="kzoo files hold plain data: maps, lists, strings, numbers, booleans and null; remove the tag",
            )

    def build_scalar(self, node: yaml.Node) -> Any:
        self.check_tag(node, _SCALAR_TAGS)
        if node.tag == _TAG + "str" and node.style is None and _FLOAT12.match(node.value):
            return float(node.value)  # YAML 1.2 reads 1e-4 as a number; PyYAML (1.1) as a string
        return self.loader.construct_object(node, deep=False)

    def raw_text(self, node: yaml.Node) -> str | None:
        if node.tag == _TAG + "bool" and str(node.value).lower() in YAML11_BOOLS:
            return str(node.value)
        return None

    def build_seq(self, node: yaml.SequenceNode, depth: int) -> YSeq:
        self.check_tag(node, {_TAG + "seq"})
        out = YSeq()
        out.mark = self.mark(node)
        for item in node.value:
            out.append(self.build(item, depth + 1))
            out.marks.append(self.mark(item))
            out.raw.append(self.raw_text(item))
        return out

    def build_map(self, node: yaml.MappingNode, depth: int) -> YMap:
        self.check_tag(node, {_TAG + "map"})
        own = sum(1 for k, _ in node.value if k.tag != _TAG + "merge")
        try:
            self.loader.flatten_mapping(node)  # YAML merge keys (<<: *base)
        except yaml.YAMLError as exc:
            raise SpecError(f"bad merge key: {exc.problem}", self.mark(node)) from None
        out = YMap()
        out.mark = self.mark(node)
        merged = len(node.value) - own  # pairs from <<: come first and may be overridden
        explicit: set = set()
        for index, (key_node, val_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("mapping keys must be plain scalars", self.mark(key_node))
            key = self.build_scalar(key_node)
            if key in explicit and index >= merged:
                raise SpecError(
                    f"duplicate key {key!r}",
                    self.mark(key_node),
                    hint=f"first given at line {out.key_marks[key].line}",
                )
            if index >= merged:
                explicit.add(key)
            out.key_marks[key] = self.mark(key_node)
            out[key] = self.build(val_node, depth + 1)
            out.val_marks[key] = self.mark(val_node)
            raw = self.raw_text(val_node)
            if raw is not None:
                out.raw[key] = raw
            if self.raw_text(key_node) is not None:
                raise SpecError(
                    f"key {key_node.value!r} is read by YAML 1.1 as the boolean {key}",
                    self.mark(key_node),
                    hint=f"quote it: '{key_node.value}'",
                )
        return out


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str | None) -> SpecError:
    """A control character PyYAML's reader refuses, at its line and column."""
    pos = exc.position if isinstance(exc.position, int) and exc.position <= len(text) else 0
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return SpecError(
        f"control character {char!r} (U+{ord(char):04X}) is not allowed in YAML",
        Mark(file, line, col),
        hint="remove it; YAML text holds printable characters, tabs and newlines only",
    )


def loads(text: str, file: str | None = None) -> Any:
    """Parse one YAML document from ``text``, keeping marks."""
    if len(text) > MAX_TEXT_BYTES:
        raise SpecError(f"{len(text):,} characters of YAML; at most {MAX_TEXT_BYTES:,}", Mark(file))
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader checks the characters at once
        if not loader.check_node():
            return YMap()
        node = loader.get_node()
        if loader.check_node():
            extra = loader.get_node()
            raise SpecError(
                "more than one YAML document",
                Mark(file, extra.start_mark.line + 1, extra.start_mark.column + 1),
                hint="a kzoo file holds one document; remove the '---'",
            )
        return _Builder(loader, file).build(node)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        mark = Mark(file, m.line + 1, m.column + 1) if m else Mark(file)
        raise SpecError(f"invalid YAML: {exc.problem or exc.context}", mark) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", Mark(file)) from None
    except RecursionError:
        raise SpecError("document nests too deeply", Mark(file)) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_file(path: str | Path, what: str = "YAML file") -> Any:
    """Read and parse a YAML file: a regular file of at most 1 MiB of UTF-8 text, else a SpecError."""
    return loads(read_text(path, what), str(path))
