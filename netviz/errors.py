"""Errors netviz reports to users.

Every error a user can cause is a :class:`NetvizError`. The CLI prints its
``str()`` as one line and exits with ``exit_code`` (2 for bad input); no
traceback is shown.
"""
from __future__ import annotations


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str:
    """" (did you mean 'X'?)" for the nearest of CHOICES, or "" when none is near."""
    import difflib
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _short(path: str, limit: int = 200) -> str:
    """A path for a one-line message: at most LIMIT characters, its end kept."""
    path = str(path)
    return path if len(path) <= limit else "\u2026" + path[-(limit - 1):]


class NetvizError(Exception):
    """Base class: a problem with the user's input, reported in one line."""

    exit_code = 2


class SpecError(NetvizError):
    """A problem in a network description, located at FILE:LINE:COL."""

    def __init__(self, message: str, file: str | None = None,
                 line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col

    @classmethod
    def at(cls, message: str, loc) -> "SpecError":
        """Build an error at a :class:`netviz.ir.Loc` (or None)."""
        if loc is None:
            return cls(message)
        return cls(message, loc.file, loc.line, loc.col)

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(_short(self.file))
            if self.line is not None:
                where.append(str(self.line))
                if self.col is not None:
                    where.append(str(self.col))
        prefix = ":".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ShapeError(SpecError):
    """A layer that cannot be applied to its input (kernel too large, ...)."""


class UsageError(NetvizError):
    """Bad command-line usage: unknown model or style, bad output path, ..."""


class CheckFailed(NetvizError):
    """A comparison or check found a mismatch (exit code 1)."""

    exit_code = 1
