"""Build a :class:`torch.nn.Module` from a :class:`~netviz.ir.Network`.

The module runs the network's DAG layer by layer, with one submodule per
layer, named after the layer (dots become underscores, as torch requires).
The network's softmax is folded into the loss: the module returns logits.
Channel counts and feature sizes come from the shape engine, so what is
built is exactly what is drawn.

torch is imported only when a function here is called.
"""
from __future__ import annotations

import re

from .errors import NetvizError, UsageError
from .ir import Layer, Network, ShapedNetwork
from .layers import ACTIVATIONS, complete
from .shapes import infer
from .torch_modules import RECURRENT, add_class, concat_class, define, lrn_class, modern_classes

# Layers whose output a following ReLU may overwrite in place (their backward
# does not need their own output).
_INPLACE_AFTER = frozenset({"conv", "deconv", "fc", "batchnorm", "add"})
# Layers that keep their input's shape and carry no parameters: what may sit
# between the last fc and the network's output when the classes are changed.
_PASS_THROUGH = frozenset({"softmax", "dropout", *ACTIVATIONS})


class BuildError(NetvizError):
    """A network that cannot become a PyTorch module."""


def _torch():
    from .torch_modules import _torch as torch_or_error
    return torch_or_error()


# -- the DAG module -----------------------------------------------------------

def _attr_name(name: str, taken: set, reserved) -> str:
    base = re.sub(r"[^0-9A-Za-z_]", "_", name) or "layer"
    if base[0].isdigit():
        base = "l" + base
    candidate, n = base, 1
    while candidate in taken or candidate in reserved:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def activation_modules(nn) -> dict:
    """Activation type -> function(attrs, inplace) making its torch module."""
    return {
        "relu": lambda a, inplace: nn.ReLU(inplace=inplace),
        "relu6": lambda a, inplace: nn.ReLU6(inplace=inplace),
        "leaky_relu": lambda a, inplace: nn.LeakyReLU(a["slope"], inplace=inplace),
        "elu": lambda a, inplace: nn.ELU(), "gelu": lambda a, inplace: nn.GELU(),
        "silu": lambda a, inplace: nn.SiLU(), "sigmoid": lambda a, inplace: nn.Sigmoid(),
        "tanh": lambda a, inplace: nn.Tanh(), "hardswish": lambda a, inplace: nn.Hardswish(),
        "hardsigmoid": lambda a, inplace: nn.Hardsigmoid(), "mish": lambda a, inplace: nn.Mish(),
    }


def _layer_module(torch, layer: Layer, ins: tuple, shaped: ShapedNetwork, inplace: bool):
    nn = torch.nn
    t, a = layer.type, complete(layer.type, layer.attrs)
    where = f" ({layer.loc})" if layer.loc else ""
    if t == "conv":
        return nn.Conv2d(ins[0][0], a["out"], a["kernel"], a["stride"], a["pad"], a["dilation"],
                         a["groups"], bias=a["bias"])
    if t == "deconv":
        return nn.ConvTranspose2d(ins[0][0], a["out"], a["kernel"], a["stride"], a["pad"],
                                  a["output_pad"], a["groups"], bias=a["bias"],
                                  dilation=a["dilation"])
    if t == "upsample":
        size, scale = a.get("size"), a.get("scale")
        return nn.Upsample(size=tuple(size) if size is not None else None,
                           scale_factor=float(scale) if size is None else None, mode=a["mode"],
                           align_corners=a.get("align_corners") if a["mode"] != "nearest" else None)
    if t == "lrn":
        return lrn_class()(a["size"], a["alpha"], a["beta"], a["k"], channels=ins[0][0])
    if t == "maxpool":
        return nn.MaxPool2d(a["kernel"], a["stride"], a["pad"], a["dilation"],
                            ceil_mode=a["ceil_mode"])
    if t == "avgpool":
        return nn.AvgPool2d(a["kernel"], a["stride"], a["pad"], ceil_mode=a["ceil_mode"],
                            count_include_pad=a["count_include_pad"])
    if t == "adaptive_avgpool":
        return nn.AdaptiveAvgPool2d(a["output"])
    if t == "adaptive_maxpool":
        return nn.AdaptiveMaxPool2d(a["output"])
    if t == "global_avgpool":
        if not a.get("keepdim", True):
            return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        return nn.AdaptiveAvgPool2d(1)
    if t == "flatten":
        return nn.Flatten()
    if t == "fc":
        return nn.Linear(ins[0][-1], a["out"], bias=a["bias"])
    if t == "dropout":
        if a.get("drops", "elements") != "elements":
            return modern_classes()["stochastic_depth"](a["p"], a["drops"])
        return nn.Dropout(a["p"])
    if t == "embedding":
        return nn.Embedding(a["num"], a["dim"], padding_idx=a.get("padding_idx"))
    if t in ("lstm", "gru", "rnn"):
        extra = {"proj_size": a.get("proj_size", 0)} if t == "lstm" else \
            {"nonlinearity": a.get("nonlinearity", "tanh")} if t == "rnn" else {}
        return RECURRENT[t](ins[0][-1], a["hidden"], a["layers"], bias=a["bias"],
                             batch_first=True, dropout=a["dropout"],
                             bidirectional=a["bidirectional"], last=a["last"], **extra)
    if t == "batchnorm":
        cls = nn.BatchNorm2d if len(ins[0]) == 3 else nn.BatchNorm1d
        return cls(ins[0][0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"])
    if t in ("layernorm", "groupnorm", "rmsnorm", "attention", "mul"):
        return _modern_module(nn, t, a, ins)
    if t == "softmax":
        return nn.Identity()  # folded into the cross-entropy loss: the model returns logits
    if t == "add":
        if a.get("bias") is not None:
            return modern_classes()["add_bias"](a["bias"])
        return add_class()()
    if t == "concat":
        return concat_class()()
    if t in ACTIVATIONS:
        make = activation_modules(nn).get(t)
        if make is None:
            raise BuildError(f"layer {layer.name!r}{where}: netviz has no PyTorch module for "
                             f"the activation {t!r} yet; use another activation to train it")
        return make(a, inplace)
    if t == "custom":
        raise BuildError(f"layer {layer.name!r}{where} is a custom layer ({a.get('kind')}): "
                         "netviz cannot build it; train the PyTorch model it came from "
                         "(MODEL as module:attr) or describe it with built-in layer types")
    raise BuildError(f"layer {layer.name!r}{where}: netviz cannot build a {t!r} layer")


def _modern_module(nn, t: str, a: dict, ins: tuple):
    """The module of a normalisation, attention or gating layer."""
    own = modern_classes()
    if t == "layernorm":
        if a["channels"]:
            return own["channel_norm"](ins[0][0], eps=a["eps"], elementwise_affine=a["affine"],
                                       bias=a["bias"])
        return nn.LayerNorm(ins[0][-a["dims"]:], eps=a["eps"], elementwise_affine=a["affine"],
                            bias=a["bias"])
    if t == "groupnorm":
        return nn.GroupNorm(a["groups"], ins[0][0], eps=a["eps"], affine=a["affine"])
    if t == "rmsnorm":
        return nn.RMSNorm(ins[0][-a["dims"]:], eps=a.get("eps"), elementwise_affine=a["affine"])
    if t == "mul":
        return own["mul"](a.get("scale"))
    if a["kind"] == "windowed":
        return own["window_attention"](ins[0][-1], a["heads"], a["window"], a["shift"],
                                       bias=a["bias"], rel_pos=a["rel_pos"], dropout=a["dropout"])
    if not a["project"]:
        return own["products"](a["heads"], dropout=a["dropout"])
    e = ins[0][-1]
    kdim = ins[1][-1] if len(ins) > 1 else e
    vdim = ins[2][-1] if len(ins) > 2 else kdim
    return own["attention"](e, a["heads"], dropout=a["dropout"], bias=a["bias"], kdim=kdim,
                            vdim=vdim)


_NetvizModule = None


def _define_modules():
    global _NetvizModule
    if _NetvizModule is not None:
        return
    torch = _torch()
    define()

    class NetvizModule(torch.nn.Module):
        """A network's DAG as a module: ``forward(x)`` returns the logits."""

        def __init__(self, shaped: ShapedNetwork):
            super().__init__()
            network = shaped.network
            self.network_name = network.name
            consumers = network.consumers
            taken: set = set()
            reserved = set(dir(self))
            self.layer_modules: dict[str, str] = {}  # layer name -> attribute name
            steps = []
            input_name = None
            for layer in network.layers:
                if layer.type == "input":
                    if input_name is not None:
                        raise BuildError(f"layer {layer.name!r}: a network built for training "
                                         "has exactly one input")
                    input_name = layer.name
                    continue
                ins = shaped.info[layer.name].inputs
                src = layer.inputs[0] if layer.inputs else None
                inplace = (src is not None and len(consumers[src]) == 1
                           and network[src].type in _INPLACE_AFTER)
                module = _layer_module(torch, layer, ins, shaped, inplace)
                attr = _attr_name(layer.name, taken, reserved)
                self.add_module(attr, module)
                self.layer_modules[layer.name] = attr
                steps.append((layer.name, attr, tuple(layer.inputs)))
            if input_name is None:
                raise BuildError(f"network {network.name!r} has no input layer")
            outputs = [layer.name for layer in network.layers if not consumers[layer.name]]
            if len(outputs) != 1:
                raise BuildError(f"network {network.name!r} has {len(outputs)} outputs "
                                 f"({', '.join(outputs)}): training needs exactly one")
            # free each intermediate after its last reader, to keep memory flat
            last_use: dict[str, int] = {}
            for i, (_, _, srcs) in enumerate(steps):
                for s in srcs:
                    last_use[s] = i
            self._steps = tuple(
                (name, attr, srcs, tuple(s for s in srcs if last_use.get(s) == i))
                for i, (name, attr, srcs) in enumerate(steps))
            self._input = input_name
            self._output = outputs[0]

        def forward(self, x):
            values = {self._input: x}
            for name, attr, srcs, free in self._steps:
                out = getattr(self, attr)(*[values[s] for s in srcs])
                for s in free:
                    del values[s]
                values[name] = out
            return values[self._output]

    _NetvizModule = NetvizModule


# -- public API ---------------------------------------------------------------

def output_layer(network: Network) -> Layer:
    consumers = network.consumers
    outs = [layer for layer in network.layers if not consumers[layer.name]]
    if len(outs) != 1:
        raise BuildError(f"network {network.name!r} has {len(outs)} outputs: training needs one")
    return outs[0]


def classifier_layer(network: Network) -> Layer | None:
    """The fc layer that makes the logits: the output, or the last fc before it with
    only shape-keeping layers (softmax, dropout, activations) in between."""
    layer = output_layer(network)
    while layer.type in _PASS_THROUGH and len(layer.inputs) == 1:
        layer = network[layer.inputs[0]]
    return layer if layer.type == "fc" else None


def with_classes(network: Network, classes: int) -> Network:
    """The same network with its classifier fc resized to ``classes`` outputs."""
    fc = classifier_layer(network)
    if fc is None:
        raise BuildError(f"cannot set {classes} classes: the output of {network.name!r} does "
                         "not come from an fc layer; give data with as many classes as the "
                         "network has outputs")
    layers = tuple(
        Layer(l.name, l.type, {**l.attrs, "out": classes}, l.inputs, l.label, l.loc, l.scope)
        if l.name == fc.name else l for l in network.layers)
    return network.replace(layers=layers)


def init_weights(module, classifier: str | None = None):
    """He (Kaiming) normal weights and zero biases in every conv and fc; the
    classifier's weights N(0, 0.01). A plain deep ReLU network such as AlexNet,
    with no batchnorm, barely moves for its first hundreds of steps from
    PyTorch's default initialisation; from this one it learns at once."""
    torch = _torch()
    nn = torch.nn
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(sub.weight, nonlinearity="relu")
                if sub.bias is not None:
                    nn.init.zeros_(sub.bias)
        if classifier is not None:
            fc = module.get_submodule(classifier)
            nn.init.normal_(fc.weight, std=0.01)
            if fc.bias is not None:
                nn.init.zeros_(fc.bias)
    return module


def build(model, input=None, init: str = "he"):
    """A ``torch.nn.Module`` for a Network, ShapedNetwork, spec path or zoo name.

    The module returns logits (the spec's softmax is left to the loss), its
    submodules are named after the layers, and its ``layer_modules`` maps each
    layer name to its submodule's attribute name. ``init`` is "he" (see
    :func:`init_weights`) or "torch" (PyTorch's default initialisation).
    """
    if isinstance(model, ShapedNetwork) and input is None:
        shaped = model
    else:
        from .models import load
        shaped = infer(load(model, input=input))
    if init not in ("he", "torch"):
        raise UsageError(f"unknown init {init!r}: use he or torch")
    _define_modules()
    module = _NetvizModule(shaped)
    if init == "he":
        fc = classifier_layer(shaped.network)
        init_weights(module, module.layer_modules[fc.name] if fc is not None else None)
    return module
