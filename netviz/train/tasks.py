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
from . import distributed as dd

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

    def io(self, shape, classes) -> str:
        """The input (and a segmenter's output) in words, for the run's first line."""
        text = f"input {format_shape(shape)}"
        if self.kind == "tokens":
            return f"{text} token ids of {self.vocab}"
        if self.dense:
            return f"{text}, output {format_shape((classes, *shape[1:]))} (segmentation)"
        return text

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


def pixel_cross_entropy(logits, target, reduction="mean"):
    """The cross-entropy of every pixel, then its mean or sum: the same value as
    ``F.cross_entropy`` with that reduction, but on CUDA without the per-pixel
    loss's reduction kernel, which ``--deterministic`` refuses (atomic adds)."""
    import torch.nn.functional as F
    each = F.cross_entropy(logits, target, reduction="none")
    return each.sum() if reduction == "sum" else each.mean()


def loss_function(task):
    """The training loss of ``task``: the cross-entropy, per pixel for a segmenter."""
    if task.dense:
        return pixel_cross_entropy
    import torch.nn.functional as F
    return F.cross_entropy


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


def evaluate(model, data, x, y, fp, dist, batch=256, confusion=False):
    """Accuracy and mean loss of ``model`` on (x, y), split over the ranks: per
    label, or per pixel for a segmenter (labels [N, H, W]). With ``confusion``,
    also the confusion matrix (nested lists, [label][prediction]) for the IoU."""
    import torch
    loss_fn = pixel_cross_entropy if y.dim() > 1 else _cross_entropy
    was = model.training
    model.eval()
    correct = total_loss = count = 0.0
    k = data.num_classes
    conf = torch.zeros(k * k, dtype=torch.float64, device=y.device) if confusion else None
    idx = torch.arange(dist.rank, len(y), dist.world, device=y.device)
    if y.dim() > 1:  # a segmenter's small batches: its logits are a map per image
        batch = max(1, batch * 1024 // max(1, y[0].numel()))
    try:
        with torch.no_grad(), fp.autocast():
            for i in range(0, len(idx), batch):
                j = idx[i:i + batch]
                target = data.target(y[j])
                logits = model(data.normalise(x[j], fp.channels_last)).float()
                total_loss += float(loss_fn(logits, target, reduction="sum"))
                pred = logits.argmax(1)
                correct += float((pred == target).sum())
                count += target.numel()
                if conf is not None:
                    conf += torch.bincount((target * k + pred).reshape(-1), minlength=k * k).double()
    finally:
        model.train(was)
    sums = dd.all_sum([correct, total_loss, count], dist, fp.device)
    acc, loss = sums[0] / max(1.0, sums[2]), sums[1] / max(1.0, sums[2])
    if conf is None:
        return acc, loss
    flat = dd.all_sum(conf.tolist(), dist, fp.device)
    return acc, loss, [flat[r * k:(r + 1) * k] for r in range(k)]


def _cross_entropy(logits, target, reduction="mean"):
    import torch.nn.functional as F
    return F.cross_entropy(logits, target, reduction=reduction)


def make_data(task, classes, shape, cfg, device):
    """The procedural data of ``task`` (see :mod:`netviz.train.tasks`)."""
    from . import data as D
    from . import sequences as S
    if task.kind == "tokens":
        return S.tokens(classes, shape[0], task.vocab, cfg.train_size, cfg.val_size, cfg.seed,
                        device, padding_idx=task.padding_idx)
    if task.kind == "series":
        return S.series(classes, shape, cfg.train_size, cfg.val_size, cfg.seed, device)
    if task.kind == "segment":
        return D.segmentation(classes, shape, cfg.train_size, cfg.val_size, cfg.seed, device)
    return D.procedural(classes, shape, cfg.train_size, cfg.val_size, cfg.seed, device)


def chance_mean_iou(data) -> float:
    """The mean IoU of always guessing the majority class: its pixel share over
    the classes present in the held-out labels."""
    shares = data.pixel_shares()
    return max(shares) / max(1, sum(1 for s in shares if s > 0))


def dense_metrics(data, final: dict, history: dict) -> dict:
    """A segmenter's entries of the metrics JSON."""
    return {
        "mean_iou_metric": "mean over the classes of intersection over union of the pixels "
                           "(a class in neither the labels nor the predictions is left out)",
        "train_mean_iou": final.get("train_mean_iou"),
        "val_mean_iou": final.get("val_mean_iou"),
        "val_class_iou": final.get("val_class_iou"),
        "chance_mean_iou": chance_mean_iou(data),
        "class_pixel_share": data.pixel_shares(),
        "val_iou_curve": history.get("val_iou", []),
    }
