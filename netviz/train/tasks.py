"""What a network is trained to do, read from its shapes.

- ``image``: an image (CxHxW) in, a vector of class scores out;
- ``tokens``: token ids (an input of shape T) read by an embedding, a vector
  of class scores out;
- ``series``: a float sequence (TxF) in, a vector of class scores out;
- ``segment``: an image in, a CxHxW map of class scores at the input's HxW
  out: per-pixel classification into C classes.

Anything else is refused in one line that says what is supported. The data
of each task is made on the device (:mod:`.data`, :mod:`.sequences`); the
loss is the cross-entropy throughout (per pixel for ``segment``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..ir import format_shape

SUPPORTED = ("netviz train trains classifiers (a vector of class scores out) of images "
             "(CxHxW), token ids (T, read by an embedding) or float sequences (TxF), and "
             "segmenters (an image in, CxHxW class scores at the input's HxW out)")

KINDS = {
    "image": "image classification",
    "tokens": "sequence classification (token ids)",
    "series": "sequence classification (float series)",
    "segment": "segmentation (a class per pixel)",
}


@dataclass(frozen=True)
class Task:
    kind: str  # image, tokens, series, segment
    vocab: int | None = None  # tokens: the embedding's num
    padding_idx: int | None = None  # tokens: the embedding's padding_idx

    @property
    def dense(self) -> bool:
        return self.kind == "segment"

    @property
    def sequence(self) -> bool:
        return self.kind in ("tokens", "series")

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    @property
    def accuracy_name(self) -> str:
        return "pixel accuracy" if self.dense else "accuracy"


IMAGE = Task("image")


def _refuse(name, why):
    raise UsageError(f"{name}: {why}; {SUPPORTED}")


def detect(shaped) -> tuple[Task, int]:
    """The task of a shaped network and its number of classes as the network
    has it (the output vector's width, or a segmenter's channels)."""
    from ..build import output_layer
    network = shaped.network
    name = network.name
    inp = tuple(shaped.input_shape)
    out = tuple(shaped.info[output_layer(network).name].output)
    if len(inp) == 1:
        inputs = [l for l in network.layers if l.type == "input"]
        readers = [network[c] for c in network.consumers[inputs[0].name]] if inputs else []
        if not readers or any(r.type != "embedding" for r in readers):
            first = readers[0].type if readers else "nothing"
            _refuse(name, f"the input {format_shape(inp)} is read by {first}, not an embedding "
                          "(a 1-D input is a sequence of token ids)")
        if len(out) != 1:
            _refuse(name, f"the output is {format_shape(out)}, not a vector of class scores")
        from ..layers import complete
        a = complete("embedding", readers[0].attrs)
        return Task("tokens", vocab=int(a["num"]), padding_idx=a.get("padding_idx")), out[0]
    if len(inp) == 2:
        if len(out) != 1:
            _refuse(name, f"the output of a sequence model is {format_shape(out)}, not a vector "
                          "of class scores")
        return Task("series"), out[0]
    if len(inp) == 3:
        if len(out) == 1:
            return IMAGE, out[0]
        if len(out) == 3 and out[1:] == inp[1:]:
            if out[0] < 2:
                _refuse(name, f"the output {format_shape(out)} has one channel; a segmenter "
                              "needs a channel per class, at least 2 (background and figure)")
            return Task("segment"), out[0]
        _refuse(name, f"the output {format_shape(out)} is neither a vector of class scores nor "
                      f"a map at the input's {inp[1]}x{inp[2]}")
    _refuse(name, f"the input is {format_shape(inp)}")
    raise AssertionError("unreachable")


def mean_iou(confusion) -> tuple[float, list]:
    """Mean intersection over union, and each class's (None where a class is in
    neither the labels nor the predictions), from a confusion matrix
    ``confusion[label][prediction]`` (nested lists of counts)."""
    k = len(confusion)
    ious = []
    for c in range(k):
        inter = confusion[c][c]
        union = sum(confusion[c]) + sum(confusion[r][c] for r in range(k)) - inter
        ious.append(inter / union if union else None)
    present = [v for v in ious if v is not None]
    return (sum(present) / len(present) if present else 0.0), ious
