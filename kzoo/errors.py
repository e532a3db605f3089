"""The one exception family of kzoo.

Every mistake a user can make in a YAML file, a recipe, an option or the data
becomes a :class:`KzooError`; :class:`SpecError` adds the file, line and
column it comes from, the path inside the document (``layers[3].conv.filters``)
and a hint. The CLI prints one in one or two lines and exits with status 2.

Messages are for a terminal: :func:`clip` keeps each part on one line and
bounds its length, so a 400 KB expression or a value holding control
characters cannot flood (or garble) the screen.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_PART = 300  # characters of a message, hint or path shown
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clip(text: object, limit: int = MAX_PART) -> str:
    """``text`` on one line (control characters escaped) and at most ``limit`` characters."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}... ({len(text) - limit + 30:,} more characters)"


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: object) -> str:
    """``text`` with control characters but newline and tab escaped (``\\x1b``): a file or folder name holding
    terminal escape sequences prints as text, never as colours or cursor moves."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(text))


def short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: for quoting a user's value in a message."""
    return clip(repr(value), limit)


class KzooError(Exception):
    """Base class of every error kzoo raises on purpose: a message and an optional hint."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = str(message)
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        text = clip(self.message)
        if self.hint:
            text += f"\n  hint: {clip(self.hint)}"
        return text


@dataclass(frozen=True)
class Mark:
    """A position in a source file (1-based line and column)."""

    file: str | None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class SpecError(KzooError):
    """A user's mistake in an architecture file, recipe, option or data, located where it can be."""

    def __init__(
        self,
        message: str,
        mark: Mark | None = None,
        path: str | None = None,
        hint: str | None = None,
    ):
        self.mark = mark
        self.path = path
        super().__init__(message, hint)

    @property
    def file(self) -> str | None:
        return self.mark.file if self.mark else None

    @property
    def line(self) -> int | None:
        return self.mark.line if self.mark else None

    @property
    def col(self) -> int | None:
        return self.mark.col if self.mark else None

    def format(self) -> str:
        where = f"{clip(self.mark, 200)}: " if self.mark else ""
        at = f" (at {clip(self.path, 120)})" if self.path else ""
        text = f"{where}error: {clip(self.message)}{at}"
        if self.hint:
            text += f"\n  hint: {clip(self.hint)}"
        return text


def to_json(exc: KzooError) -> dict:
    """An error as the one JSON document ``--json`` prints on stdout."""
    out: dict = {"error": clip(exc.message, 2000), "hint": exc.hint}
    if isinstance(exc, SpecError):
        out.update(file=exc.file, line=exc.line, col=exc.col, path=exc.path)
    return out


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint naming the known names nearest to ``word``."""
    choices = sorted({str(c) for c in choices})
    near = difflib.get_close_matches(clip(word, 100), choices, n=3, cutoff=0.6)
    if near:
        return "did you mean " + " or ".join(repr(n) for n in near) + "?"
    if len(choices) <= 12:
        return "known: " + ", ".join(choices)
    return None
