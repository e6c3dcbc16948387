"""What is trained: a network built from its spec, or a PyTorch model as it is.

:func:`prepare_network` resolves the input size (reduced on CPUs for heavy
networks unless ``--input`` says otherwise) and the number of classes
(the network's own outputs when few, else ``--classes`` by resizing its last
fc), and builds the module. :func:`prepare_target` loads a PyTorch target
(``torchvision:alexnet``, ``pkg.module:Net``, ``file.py:Net``).
Every decision that changes the network is returned as a note to print.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..errors import UsageError
from ..ir import Network, format_shape

SMALL_OUTPUT = 100  # an output at most this wide is used as the number of classes
CPU_MACS_BUDGET = 80e6  # multiply-adds per image above which CPU runs shrink the input


@dataclass
class Prepared:
    module: object  # torch.nn.Module returning logits
    name: str
    input_shape: tuple
    classes: int
    expected: dict  # submodule path -> (layer name, type, output shape without batch)
    notes: list = field(default_factory=list)
    params: int = 0
    macs: int | None = None
    reduced_from: tuple | None = None
    task: object = None  # a tasks.Task; image classification when None


def _task_and_width(shaped, classes, data_classes):
    """The task (:func:`netviz.train.tasks.detect`) and the network's own number
    of classes; refuses what the task cannot take (--data beyond images,
    --classes that a segmenter's output channels contradict)."""
    from .tasks import detect
    task, width = detect(shaped)
    if data_classes is not None and task.kind != "image":
        raise UsageError(f"--data holds labelled images for classification; {shaped.name} is "
                         f"trained for {task.title} on procedural data only: leave out --data")
    if task.dense and classes is not None and classes != width:
        raise UsageError(f"--classes {classes}: the classes of {shaped.name} are its "
                         f"{width} output channels (a segmenter's output is classes x H x W)")
    return task, width


def choose_classes(width: int, requested: int | None, data_classes: int | None) -> int:
    if data_classes is not None:
        return data_classes
    if requested is not None:
        return requested
    return width if width <= SMALL_OUTPUT else 10


def reduced_input(network: Network, budget: float = CPU_MACS_BUDGET):
    """The largest square-ish input at or under ``budget`` multiply-adds per image
    that the network accepts, preferring sizes its windows tile exactly; None
    when the spec's own input is within budget or nothing smaller fits."""
    from ..errors import ShapeError
    from ..shapes import infer
    from ..readers import with_input
    shaped = infer(network)
    shape = shaped.input_shape
    if len(shape) != 3 or shaped.total_macs <= budget:
        return None
    c, h, w = shape
    fits = []  # (size, shape, macs, tiles exactly), largest first
    for size in range(max(h, w) - 1, 7, -1):
        cand = (c, max(1, round(h * size / max(h, w))), max(1, round(w * size / max(h, w))))
        try:
            s = infer(with_input(network, cand))
        except ShapeError:
            continue
        fits.append((cand, s.total_macs, len(s.warnings) <= len(shaped.warnings)))
    within = [f for f in fits if f[1] <= budget]
    if not within and fits:  # nothing is that cheap: take the cheapest (exact tiling first)
        least = min(f[1] for f in fits)
        within = [f for f in fits if f[1] <= least * 1.1]
    if not within:
        return None
    exact = [f for f in within if f[2]]
    return (exact or within)[0][0]


def prepare_network(model, input=None, classes=None, data_classes=None, device_type="cpu",
                    reduce=True) -> Prepared:
    from ..build import build, with_classes
    from ..models import load
    from ..shapes import infer
    from ..readers import with_input
    network = load(model, input=input)
    notes = []
    shaped = infer(network)
    task, width = _task_and_width(shaped, classes, data_classes)
    k = width if task.dense else choose_classes(width, classes, data_classes)
    if k != width:
        from ..build import classifier_layer
        network = with_classes(network, k)
        why = f"the data has {k} classes" if data_classes is not None else \
            f"--classes asks for {k}" if classes is not None else \
            f"{width} classes are too many for a short run (--classes sets the number)"
        notes.append(f"classifier {classifier_layer(network).name} resized from {width} to {k} "
                     f"outputs: {why}")
    reduced_from = None
    if input is not None:
        own = infer(load(model)).input_shape
        given = infer(network).input_shape
        if tuple(own) != tuple(given):
            smaller = all(g <= o for g, o in zip(given, own)) and len(given) == len(own)
            notes.append(f"input {format_shape(given)} set by --input"
                         + (", reduced" if smaller else "") + f" from the spec's {format_shape(own)}")
            reduced_from = tuple(own) if smaller else None
    if input is None and reduce and device_type == "cpu":
        smaller = reduced_input(network)
        if smaller is not None:
            full = infer(network).input_shape
            network = with_input(network, smaller)
            reduced_from = tuple(full)
            notes.append(f"input reduced from {format_shape(full)} to {format_shape(smaller)} "
                         f"to keep a CPU run short (--input {format_shape(full)} trains at full size)")
    shaped = infer(network)
    module = build(shaped)
    expected = {module.layer_modules[l.name]: (l.name, l.type, shaped.info[l.name].output)
                for l in network.layers if l.type != "input"}
    if task.dense:  # the output follows an --input or CPU resize; it must still match
        task, _ = _task_and_width(shaped, None, None)
    return Prepared(module, network.name, tuple(shaped.input_shape), k, expected, notes,
                    shaped.total_params, shaped.total_macs, reduced_from, task)


def prepare_target(target: str, input=None, classes=None, data_classes=None) -> Prepared:
    """A PyTorch model, trained as it is (its classifier resized to the classes);
    loaded and traced by :mod:`netviz.trace`, which also gives the per-layer shapes."""
    import torch
    from ..trace.target import declared_input, instantiate, parse_input, resolve
    notes = []
    res = resolve(target)
    given = parse_input(input) if input is not None else None  # before building anything
    cpu = torch.device("cpu")
    if res.torchvision:
        k = choose_classes(1000, classes, data_classes)
        # GoogLeNet and Inception v3 train with auxiliary classifiers, and their
        # training forward returns them too: netviz trains the main one alone
        aux = {"aux_logits": False} if "aux_logits" in res.options else {}
        module, _ = instantiate(res, cpu, num_classes=k, **aux)
        if k != 1000:
            notes.append(f"built with num_classes={k} in place of 1000")
        if aux:
            notes.append("built with aux_logits=False: the auxiliary classifiers are not trained")
    else:
        module, owned = instantiate(res, cpu)
        if not owned:
            module = copy.deepcopy(module)
    if given is not None:
        shape = given
    else:
        shape = res.default_input or declared_input(module)
        if shape is None:
            raise UsageError(f"{target}: give the input size with --input CxHxW: the model "
                             "declares none")
    if not res.torchvision:
        width, several = _probe(module, shape, target)
        if several:
            notes.append(f"the model returns {several} when training: netviz trains the "
                         "first")
        k = choose_classes(width, classes, data_classes)
        if k != width:
            _resize_last_linear(module, k, target)
            notes.append(f"last Linear resized from {width} to {k} outputs")
    params = sum(p.numel() for p in module.parameters())
    expected, macs = _traced_expectations(module, target, shape)
    module.register_forward_hook(_first_output)
    return Prepared(module, target, tuple(shape), k, expected or {"": (target, "model", (k,))},
                    notes, params, macs)


def _first(out):
    """A forward's output, or the first element of a tuple or list of them."""
    while isinstance(out, (tuple, list)) and out:
        out = out[0]
    return out


def _first_output(_module, _args, out):
    """Forward hook: the logits of a model that returns a tuple (a namedtuple of
    main and auxiliary outputs, say) are its first element."""
    if isinstance(out, (tuple, list)):
        return _first(out)
    return None


def _probe(module, shape, target) -> tuple[int, str | None]:
    """The model's output width and, if its training forward returns a tuple or
    list, what it returns. A training-mode forward on two zero images, with
    the buffers (batchnorm statistics) and the random generator put back."""
    import torch

    from ..trace.target import first_line
    was = module.training
    buffers = [(b, b.detach().clone()) for b in module.buffers()]
    module.train()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = module(torch.zeros(2, *shape))
    except Exception as exc:
        raise UsageError(f"{target} fails on a 2x{format_shape(shape)} input "
                         f"({first_line(exc)}); "
                         "give the right --input") from None
    finally:
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
        module.train(was)
    several = None
    if isinstance(out, (tuple, list)):
        several = f"{len(out)} outputs ({type(out).__name__})"
        out = _first(out)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise UsageError(f"{target} returns {getattr(out, 'shape', type(out).__name__)}, "
                         "not a batch of class scores")
    return out.shape[1], several


def _resize_last_linear(module, k, target) -> int:
    import torch
    last = None
    for path, sub in module.named_modules():
        if isinstance(sub, torch.nn.Linear):
            last = path
    if last is None:
        raise UsageError(f"{target} has no Linear layer to resize to {k} classes: "
                         f"pass --classes equal to its output width")
    parent, _, attr = last.rpartition(".")
    old = module.get_submodule(last)
    setattr(module.get_submodule(parent) if parent else module, attr,
            torch.nn.Linear(old.in_features, k, bias=old.bias is not None))
    return old.out_features


def _traced_expectations(module, target, shape):
    """Every module's output shape as netviz.trace records it (the shape engine's
    where a rule applies), keyed by module path; and the multiply-adds per image."""
    from ..trace import trace_module
    shaped = trace_module(module, shape, device="cpu", name=target)
    out = {}
    for layer in shaped.layers:
        if layer.type != "input" and layer.scope and layer.name == layer.scope:
            out[layer.scope] = (layer.name, layer.type, shaped.info[layer.name].output)
    return out or None, shaped.total_macs
