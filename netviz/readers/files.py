"""Reading spec files: size limits, binary and encoding checks, then the
YAML reader. Every problem is one located line."""
from __future__ import annotations

import os
import re
import stat

from ..errors import SpecError
from ..ir import Layer, Network
from .yaml import parse_spec

MAX_BYTES = 16 * 1024 * 1024


PROTOTXT_HINT = "(this looks like a Caffe prototxt: name it .prototxt)"
_PROTOTXT = re.compile(r"^[ \t]*layers?[ \t]*\{", re.M)


def looks_like_prototxt(text: str) -> bool:
    """Whether text reads as a Caffe network definition: a line opening
    ``layer {`` (or the older ``layers {``), which no YAML spec has."""
    return _PROTOTXT.search(text) is not None


def check_regular(path: str) -> None:
    """Refuse at once what is not a regular file: a folder, a FIFO (which would
    wait for a writer forever), a device or a socket."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise SpecError(f"{path}: is a directory, not a spec file")
    if not stat.S_ISREG(mode):
        what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise SpecError(f"{path}: is {what}, not a spec file; give a file (or '-' for standard input)")


def read_stdin() -> str:
    """The text of a spec on standard input, with the same limits and checks
    as a file; a closed or missing standard input is one line too."""
    import sys
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or getattr(sys.stdin, "closed", False):
        raise SpecError("-: standard input is closed; pipe a spec into netviz or give a file")
    try:
        data = stream.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise SpecError(f"-: standard input cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if data is None:  # a non-blocking stream with nothing in it
        data = b""
    if len(data) > MAX_BYTES:
        limit = MAX_BYTES // (1024 * 1024)
        raise SpecError(f"standard input is over {limit} MB; a spec may be at most {limit} MB", "<stdin>", 1, 1)
    return _check_text(data, "<stdin>", whole=True)


def read_text(path: str) -> str:
    """The text of a spec file, or a SpecError saying why it is not one."""
    check_regular(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)  # never more: /dev/zero and pipes report size 0
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except PermissionError:
        raise SpecError(f"{path}: permission denied") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    head = data[:8192]
    if head.strip(b"\0"):  # binary data is told as such, whatever its size (an ONNX model
        _check_text(head, path, whole=len(data) <= 8192)  # under another name); zero bytes
    if len(data) > MAX_BYTES:  # alone (a sparse file, /dev/zero) say nothing: the size decides
        limit = MAX_BYTES // (1024 * 1024)
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        what = f"file is {size / 1e6:.1f} MB" if size > MAX_BYTES else f"file is over {limit} MB"
        raise SpecError(f"{what}; a spec may be at most {limit} MB", path, 1, 1)
    text = _check_text(data, path, whole=True)
    if not text.strip():
        raise SpecError("empty spec: expected a mapping with 'input' and 'layers'", path, 1, 1)
    return text


def _check_text(data: bytes, path: str, whole: bool) -> str:
    """The text of DATA, or a SpecError at its first NUL byte or invalid
    UTF-8; a character cut off at the end of a part (not ``whole``) is fine."""
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise SpecError(f"binary data (a NUL byte at offset {nul}): a spec is a YAML or JSON text file",
                        path, line, nul - data.rfind(b"\n", 0, nul))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not whole and exc.reason == "unexpected end of data":
            return ""
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - data.rfind(b"\n", 0, exc.start)
        raise SpecError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}): a spec is a YAML or JSON "
                        "text file", path, line, col) from None


# Readers of other formats, by file suffix: (module, function). Each takes
# (path) and returns a Network, raising SpecError for bad input; they are
# imported only when a file of theirs is read.
READERS = {
    ".prototxt": ("netviz.readers.prototxt", "load_prototxt"),
    ".onnx": ("netviz.readers.onnx", "load_onnx"),
}
SUFFIXES = (".yaml", ".yml", ".json", *READERS)


def load_spec(path: str | os.PathLike) -> Network:
    """Read a spec file: YAML (.yaml, .yml), JSON, Caffe prototxt or ONNX."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    check_regular(path)
    if suffix in READERS:
        import importlib

        module, attr = READERS[suffix]
        return getattr(importlib.import_module(module), attr)(path)
    text = read_text(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        return parse_spec(text, path, default_name=stem)
    except SpecError as exc:
        if not looks_like_prototxt(text):
            raise
        raise SpecError(f"{exc.message} {PROTOTXT_HINT}", exc.file, exc.line, exc.col) from None


def with_input(network: Network, shape: tuple[int, ...]) -> Network:
    """The same network with its input layer resized (``--input``)."""
    layers = tuple(
        Layer(layer.name, layer.type, {**layer.attrs, "shape": tuple(shape)}, layer.inputs,
              layer.label, layer.loc, layer.scope) if layer.type == "input" else layer
        for layer in network.layers)
    resized = network.replace(layers=layers)
    if any("weight" in layer.attrs for layer in layers):  # from a file that holds weights
        from .onnx_graph import check_weights  # (ONNX): their sizes must stay the same
        check_weights(resized)
    return resized
