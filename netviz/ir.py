"""The intermediate representation: a network is a DAG of named layers.

Everything here is immutable. A :class:`Network` carries no shapes; the shape
engine (:mod:`netviz.shapes`) turns it into a :class:`ShapedNetwork`.
Layer ids are the layer names: stable strings, never ``id()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Iterator, Mapping

Shape = tuple  # tuple[int, ...] without the batch dimension: (C, H, W) or (F,)


def unique_name(base: str, taken: set) -> str:
    """BASE, or BASE_2, BASE_3, ... : the first not in TAKEN, which it joins.
    The tracer and the ONNX reader name repeated calls alike this way."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def format_shape(shape: Shape, sep: str = "x") -> str:
    return sep.join(str(d) for d in shape)


@dataclass(frozen=True)
class Loc:
    """Where something was written: 1-based line and column."""

    file: str | None
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file or '<spec>'}:{self.line}:{self.col}"


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer: a canonical ``type`` (see :mod:`netviz.layers`), its
    normalised attributes and the names of the layers it reads from."""

    name: str
    type: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    label: str | None = None
    loc: Loc | None = None
    scope: str = ""  # dotted module path for traced models ("layer1.0")

    def __post_init__(self):
        object.__setattr__(self, "attrs", _freeze(self.attrs))
        object.__setattr__(self, "inputs", tuple(self.inputs))

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def __eq__(self, other):
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.name, self.type, dict(self.attrs), self.inputs, self.label,
                self.scope) == (other.name, other.type, dict(other.attrs),
                                other.inputs, other.label, other.scope)

    def __hash__(self):
        return hash((self.name, self.type, self.inputs))

    def __repr__(self):
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attrs.items())
        return f"Layer({self.name!r}, {self.type!r}, {attrs}, inputs={self.inputs})"


@dataclass(frozen=True, eq=False)
class Network:
    """A DAG of layers in topological order; ``streams`` is how many parallel
    columns the original was split into (2 for the 2012 AlexNet)."""

    name: str
    layers: tuple[Layer, ...]
    streams: int = 1
    title: str | None = None
    source: str | None = None  # file the network was read from, if any
    description: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))

    @cached_property
    def by_name(self) -> Mapping[str, Layer]:
        return MappingProxyType({layer.name: layer for layer in self.layers})

    def __getitem__(self, name: str) -> Layer:
        return self.by_name[name]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @cached_property
    def consumers(self) -> Mapping[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {layer.name: [] for layer in self.layers}
        for layer in self.layers:
            for src in layer.inputs:
                out[src].append(layer.name)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})

    @property
    def is_chain(self) -> bool:
        return all(len(layer.inputs) <= 1 for layer in self.layers) and all(
            len(c) <= 1 for c in self.consumers.values())

    def replace(self, **changes) -> "Network":
        from dataclasses import replace
        return replace(self, **changes)


@dataclass(frozen=True)
class LayerInfo:
    """What the shape engine worked out for one layer."""

    output: Shape
    params: int
    macs: int
    inputs: tuple[Shape, ...] = ()
    batch: str = ""  # a traced layer whose batch is not its first axis: where it went


@dataclass(frozen=True)
class Warning_:
    layer: str
    message: str
    loc: Loc | None = None

    def __str__(self) -> str:
        return f"{self.layer}: {self.message}"


@dataclass(frozen=True, eq=False)
class ShapedNetwork:
    """A network with every layer's output shape, parameters and MACs."""

    network: Network
    info: Mapping[str, LayerInfo]
    warnings: tuple[Warning_, ...] = ()
    # measured per-layer extras, e.g. {"conv1": {"time_ms": 0.4, "memory_mb": 12.0}}
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how the shapes were obtained, e.g. "traced with torch.fx on cpu"

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def layers(self) -> tuple[Layer, ...]:
        return self.network.layers

    def __getitem__(self, name: str) -> LayerInfo:
        return self.info[name]

    @property
    def input_shape(self) -> Shape:
        for layer in self.network.layers:
            if layer.type == "input":
                return self.info[layer.name].output
        raise LookupError("network has no input layer")

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.info.values())

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.info.values())

    def to_json(self) -> dict:
        """The ``netviz shapes --json`` contract."""
        return {
            "model": self.network.name,
            "input": list(self.input_shape),
            "layers": [
                {"name": layer.name, "type": layer.type,
                 "output": list(self.info[layer.name].output),
                 "params": self.info[layer.name].params,
                 "macs": self.info[layer.name].macs,
                 **({"batch": self.info[layer.name].batch} if self.info[layer.name].batch else {})}
                for layer in self.network.layers
            ],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "warnings": [str(w) for w in self.warnings],
        }
