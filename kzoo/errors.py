"""The one exception family of kzoo.

Every mistake a user can make in a YAML file or an override becomes a
:class:`SpecError` that knows the file, line and column it comes from, the
path inside the document (``layers[3].conv.filters``) and a hint. The CLI
prints it in one or two lines and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class KzooError(Exception):
    """Base class of every error kzoo raises on purpose."""


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
    """A user's mistake in an architecture file, recipe or override."""

    def __init__(
        self,
        message: str,
        mark: Mark | None = None,
        path: str | None = None,
        hint: str | None = None,
    ):
        self.message = message
        self.mark = mark
        self.path = path
        self.hint = hint
        super().__init__(self.format())

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
        where = f"{self.mark}: " if self.mark else ""
        at = f" (at {self.path})" if self.path else ""
        text = f"{where}error: {self.message}{at}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint naming the known names nearest to ``word``."""
    choices = sorted({str(c) for c in choices})
    near = difflib.get_close_matches(str(word), choices, n=3, cutoff=0.6)
    if near:
        return "did you mean " + " or ".join(repr(n) for n in near) + "?"
    if len(choices) <= 12:
        return "known: " + ", ".join(choices)
    return None
