"""Writing files so that an error never leaves a half-written one, and
pausing the garbage collector around work that only allocates."""
from __future__ import annotations

import contextlib
import gc
import os
import tempfile


_UMASK = os.umask(0)  # read once, at import: setting it later would race other threads
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file beside PATH; on success it replaces PATH, on any
    error it is removed and PATH is left as it was. Raises OSError."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".netviz-", suffix=".tmp", dir=folder)
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, encoding=encoding if text else None,
                       newline="\n" if text else None) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; ours are not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path, data: bytes | str) -> None:
    """Write DATA to PATH atomically (str is written as UTF-8). Raises OSError."""
    if isinstance(data, str):
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(data)
    else:
        with atomic_open(path, "wb") as fh:
            fh.write(data)


def same_file(a, b) -> bool:
    """Whether paths A and B name one existing file (links and ./ included)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError, TypeError):
        return False


def check_not_input(output, inputs, what: str = "output") -> None:
    """Refuse to write OUTPUT over one of INPUTS (the spec being read)."""
    from .errors import UsageError
    for src in inputs:
        if isinstance(src, (str, os.PathLike)) and same_file(output, src):
            raise UsageError(f"cannot write the {what} {os.fspath(output)}: it is the input "
                             f"{os.fspath(src)}; give another file name")


def reason(exc: OSError) -> str:
    """A short cause for an OSError, for one-line messages."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror.lower() if exc.strerror else str(exc)


@contextlib.contextmanager
def gc_paused():
    """Building a large scene, document or shaped network creates many
    objects and no cycles; the cyclic collector would rescan them all again
    and again, which makes the work quadratic in its size."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
