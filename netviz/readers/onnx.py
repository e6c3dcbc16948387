"""ONNX models (what ``torch.onnx.export`` writes) -> Network.

Only the graph is read: ``onnx.load`` without the weights' data, so a model
whose weights sit in a ``.onnx.data`` file beside it loads just as well
without that file. Weights, constants and the arithmetic on shapes that
exporters emit (Shape, Gather, Concat of sizes, ...) are not layers: a node
whose inputs are all such values is folded away. Every other node maps onto
a netviz layer type; an op netviz has no type for becomes a ``custom`` layer
when ONNX's shape inference knows its output, and an error naming the op
otherwise. Each layer's output is then checked against ONNX's own shape
inference, so a figure never shows sizes the model does not have.
"""
from __future__ import annotations

import os

from ..errors import ShapeError, SpecError, UsageError
from ..ir import Network, format_shape
from .onnx_attention import collapse
from .onnx_build import Builder
from .onnx_graph import file_params, fold_sizes
from .onnx_order import check_order

def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise UsageError("reading .onnx files needs the onnx package: "
                         "pip install 'netviz[onnx]'") from None
    return onnx


def _read(onnx, path: str):
    if os.path.isdir(path):
        raise SpecError("is a directory, not an ONNX model", path)
    if not os.path.exists(path):
        raise SpecError("no such file", path)
    try:
        model = onnx.load(path, load_external_data=False)
    except PermissionError:
        raise SpecError("permission denied", path) from None
    except OSError as exc:
        raise SpecError(f"cannot be read ({exc.strerror or exc})", path) from None
    except Exception as exc:  # protobuf's DecodeError, or anything a damaged file raises
        raise SpecError(_undecodable(path, exc), path) from None
    if not model.graph.node or not model.graph.input:
        raise SpecError("not an ONNX model (no graph with nodes and an input in it)", path)
    check_order(model.graph, path)  # before inference or any walk reads the graph
    for t in model.graph.initializer:  # weights stored inline: only their sizes are needed,
        if t.data_location != 1 and t.ByteSize() > 4096:  # and inference copies the model
            for field in ("raw_data", "float_data", "double_data", "int32_data", "int64_data"):
                t.ClearField(field)
            t.data_location = 1
            t.external_data.add(key="location", value="(not read)")
    for vi in model.graph.input:  # a symbolic batch: sizes are worked out for a batch of 1
        dims = vi.type.tensor_type.shape.dim
        if vi.name not in {t.name for t in model.graph.initializer} and dims \
                and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    model = _infer(onnx, model)
    for _ in range(8):  # sizes computed in ways inference does not follow, a step at a time
        if not fold_sizes(onnx, model, path):
            break
        model = _infer(onnx, model)
    return model


def _infer(onnx, model):
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # an op inference does not know; the shapes are a check, not a need
        return model


def _undecodable(path: str, exc: Exception) -> str:
    """Why a file protobuf cannot decode is no ONNX model: a text file (a
    prototxt or spec under the wrong name), or binary data cut short or of
    another kind."""
    from .files import PROTOTXT_HINT, looks_like_prototxt

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        head = b""
    if head and all(b >= 32 or b in b"\t\r\n" for b in head):
        text = head.decode("utf-8", "replace")
        hint = PROTOTXT_HINT if looks_like_prototxt(text) else "(an ONNX model is binary protobuf)"
        return f"a text file, not an ONNX model {hint}"
    why = " ".join(str(exc).split()) or type(exc).__name__
    why = why.split("': ", 1)[1] if why.startswith("Error parsing message") and "': " in why else why
    return f"truncated or not an ONNX model (protobuf: {why[:120]})"


def _check(builder: Builder, network: Network):
    """Every layer's output as ONNX's shape inference has it, where it knows it."""
    from ..shapes import infer

    try:
        shaped = infer(network)
    except ShapeError as exc:  # located at no line of a binary file: at the file
        raise ShapeError(exc.message, exc.file or builder.path) from None
    for entry, layer in zip(builder.layers, network.layers):
        tensor = entry.get("tensor")
        want = builder.g.dims(tensor) if tensor else None
        got = shaped.info[layer.name].output
        if want is not None and tuple(want) != tuple(got):
            builder.node = entry["node"]
            raise builder.fail(f"netviz works out an output of {format_shape(got)} for layer "
                               f"{layer.name!r} ({layer.type}) but the model's is "
                               f"{format_shape(want)}; netviz cannot draw this model faithfully")
        held, counted = file_params(layer), shaped.info[layer.name].params
        if held is not None and held != counted:
            builder.node = entry["node"]
            raise builder.fail(f"netviz counts {counted:,} parameters for layer {layer.name!r} "
                               f"({layer.type}) but its weights hold {held:,}; netviz cannot "
                               "draw this model faithfully")
    return shaped


class InputSizeNeeded(SpecError):
    """The model's input size is symbolic (exported with dynamic axes).
    ``network`` is the whole network with no input shape, for callers that
    have the size from elsewhere (``--input``)."""

    def __init__(self, message: str, file: str, network: Network):
        super().__init__(message, file)
        self.network = network


def load_onnx(path: str | os.PathLike) -> Network:
    """Read an ONNX model file into a Network (the weights are not read).
    A model without a fixed input size raises :class:`InputSizeNeeded`."""
    onnx = _import_onnx()
    path = os.fspath(path)
    model = _read(onnx, path)
    builder = Builder(onnx, model, path)
    network = builder.run()
    if network.layers[0].attrs["shape"] is None:
        real = next(vi for vi in model.graph.input if vi.name not in builder.g.inits)
        dims = builder.g.shapes[real.name][1:]
        example = "x".join(str(d) if isinstance(d, int) and d > 0 else "224" for d in dims) \
            if len(dims) == 3 else "3x224x224"
        raise InputSizeNeeded("the model does not fix its input size: give one with --input, "
                              f"e.g. --input {example}", path, network)
    shaped = _check(builder, network)
    return collapse(network, [entry["node"] for entry in builder.layers], shaped)
