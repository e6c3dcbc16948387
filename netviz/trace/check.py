"""``netviz check``: does a spec describe a real model?

The rule, in order:

1. Each layer has a kind: its type, or ``custom:KIND`` for custom layers.
2. A layer whose kind only one side has is dropped from that side (and its
   kind listed as not compared) when it is transparent: no parameters, and
   its output is its input's shape (a spec's softmax, which torchvision
   models leave to the loss; dropout, activations, an LRN the model lacks,
   an adaptive pooling to the size it already has) or its input flattened.
   Any other layer stays in, so a kind with parameters that one side lacks
   (a model's batchnorms) is a mismatch.
3. The remaining layers are aligned in order by their kinds (the longest
   matching runs first, as difflib does), and each aligned pair is compared:
   kind, output shape and parameter count must agree. A layer with no
   partner is reported as only in the spec or only in the model.
4. The two networks' total parameter counts must agree.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from math import prod

from ..ir import Layer, ShapedNetwork, format_shape


def kind(layer: Layer) -> str:
    return f"custom:{layer.attrs.get('kind')}" if layer.type == "custom" else layer.type


@dataclass
class Diff:
    spec: Layer | None
    target: Layer | None
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    spec: ShapedNetwork
    target: ShapedNetwork
    dropped_spec: list[str]
    dropped_target: list[str]
    compared: int
    diffs: list[Diff]
    problems: list[str] = field(default_factory=list)  # about the whole networks

    @property
    def ok(self) -> bool:
        return not self.diffs and not self.problems

    @property
    def count(self) -> int:
        """How many differences: one per diff and per whole-network problem."""
        return len(self.diffs) + len(self.problems)

    def _describe(self, net: ShapedNetwork, layer: Layer) -> str:
        info = net.info[layer.name]
        return f"{layer.name} ({kind(layer)}, {format_shape(info.output)}, {info.params:,} params)"

    def lines(self) -> list[str]:
        out = []
        for d in self.diffs:
            if d.target is None:
                out.append(f"only in the spec:  {self._describe(self.spec, d.spec)}")
            elif d.spec is None:
                out.append(f"only in the model: {self._describe(self.target, d.target)}")
            else:
                out.append(f"{d.spec.name} ~ {d.target.name}: " + "; ".join(d.problems))
        return out + self.problems

    def dropped(self) -> str:
        parts = []
        if self.dropped_spec:
            parts.append(f"{', '.join(self.dropped_spec)} (only in the spec)")
        if self.dropped_target:
            parts.append(f"{', '.join(self.dropped_target)} (only in the model)")
        return "; ".join(parts)


def transparent(net: ShapedNetwork, layer: Layer) -> bool:
    """No parameters, and the output is the input's shape or the input flattened:
    leaving the layer out changes no shape or parameter count around it."""
    info = net.info[layer.name]
    if info.params or len(info.inputs) != 1:
        return False
    (shape,) = info.inputs
    return info.output == shape or info.output == (prod(shape),)


def _kept(net: ShapedNetwork, other_kinds: set) -> tuple[list[Layer], list[str]]:
    """The layers to align, and the kinds of those dropped (see the rule)."""
    kept, dropped = [], set()
    for layer in net.layers:
        k = kind(layer)
        if k not in other_kinds and transparent(net, layer):
            dropped.add(k)
        else:
            kept.append(layer)
    return kept, sorted(dropped)


def compare(spec: ShapedNetwork, target: ShapedNetwork) -> Report:
    s_kinds = {kind(layer) for layer in spec.layers}
    t_kinds = {kind(layer) for layer in target.layers}
    s_layers, dropped_s = _kept(spec, t_kinds)
    t_layers, dropped_t = _kept(target, s_kinds)
    matcher = difflib.SequenceMatcher(None, [kind(x) for x in s_layers],
                                      [kind(x) for x in t_layers], autojunk=False)
    diffs: list[Diff] = []
    compared = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(s_layers[i1:i2], t_layers[j1:j2]))
        for a, b in pairs:
            compared += 1
            problems = []
            if kind(a) != kind(b):
                problems.append(f"type {kind(a)} (spec) vs {kind(b)} (model)")
            ia, ib = spec.info[a.name], target.info[b.name]
            if ia.output != ib.output:
                problems.append(f"output {format_shape(ia.output)} (spec) vs "
                                f"{format_shape(ib.output)} (model)")
            if ia.params != ib.params:
                problems.append(f"params {ia.params:,} (spec) vs {ib.params:,} (model)")
            if problems:
                diffs.append(Diff(a, b, problems))
        for a in s_layers[i1 + len(pairs):i2]:
            diffs.append(Diff(a, None))
        for b in t_layers[j1 + len(pairs):j2]:
            diffs.append(Diff(None, b))
    problems = []
    if spec.total_params != target.total_params:
        problems.append(f"total params {spec.total_params:,} (spec) vs "
                        f"{target.total_params:,} (model)")
    return Report(spec, target, dropped_s, dropped_t, compared, diffs, problems)
