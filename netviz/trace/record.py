"""The record of a traced forward: one event per call that makes a layer.

Both tracers (torch.fx and the hooks fallback) feed calls to a
:class:`Recorder` as they run them on real (or meta) tensors. The recorder
knows which tensor came from which layer (by tensor identity, held weakly),
which tensors are parameters or computed only from parameters (constants, not
layers), and counts every parameter once, at its first use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ops import TRANSPARENT, function_layer, module_layer, op_name


class ForwardFailed(Exception):
    """The model's forward raised: where, on what, and why."""

    def __init__(self, where: str, shapes: list, cause: BaseException):
        super().__init__(f"{where}: {cause}")
        self.where = where
        self.shapes = shapes
        self.cause = cause


@dataclass
class Event:
    key: int
    kind: str  # input, module, function
    op: str  # module class name or canonical op name
    scope: str  # module path of a module call; enclosing module otherwise
    inputs: list = field(default_factory=list)  # keys of the events it reads
    output: tuple = ()  # measured output shape, without the batch
    params: int = 0  # parameters first used here
    macs: int = 0  # counted multiply-adds per sample (used when the layer is custom)
    layer: tuple | None = None  # (type, attrs) if the call maps onto a spec type
    call: int = 1  # nth call of the same module
    param_ids: frozenset = frozenset()  # the parameters behind ``params``
    last_step: bool = False  # x[:, -1] on a (batch, T, F) sequence
    full: tuple = ()  # the whole measured shape of the output, batch included
    batch: str = ""  # where the batch went when it is not the first axis ("" where it is)


def flat_tensors(obj, out=None) -> list:
    import torch
    if out is None:
        out = []
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            flat_tensors(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            flat_tensors(item, out)
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, torch.nn.Module)) and \
            type(obj).__module__.split(".")[0] == "torchvision":
        for item in vars(obj).values():  # a holder such as detection's ImageList
            if isinstance(item, (torch.Tensor, list, tuple, dict)):
                flat_tensors(item, out)
    return out


def strip_batch(t) -> tuple:
    shape = tuple(int(d) for d in t.shape[1:])
    return shape if shape else (1,)


def _picks_last_step(args) -> bool:
    """Whether ``args`` of a getitem are a (batch, T, F) tensor and [:, -1] (or [:, -1, :])."""
    import torch
    if len(args) != 2 or not isinstance(args[0], torch.Tensor) or args[0].dim() != 3:
        return False
    index = args[1] if isinstance(args[1], tuple) else ()
    every = slice(None)
    return len(index) in (2, 3) and index[0] == every and isinstance(index[1], int) \
        and not isinstance(index[1], bool) and index[1] == -1 and index[2:] in ((), (every,))


def _state_shape(t) -> tuple:
    """A recurrent layer's final states (layers*directions, batch, hidden) without
    the batch, which they hold in their second dimension."""
    if t.dim() != 3:
        return strip_batch(t)
    return (int(t.shape[0]),) + tuple(int(d) for d in t.shape[2:])


class Recorder:
    def __init__(self, model):
        from torch.utils.weak import WeakTensorKeyDictionary
        self.events: list[Event] = []
        self.producer = WeakTensorKeyDictionary()  # tensor -> event key
        self.const = WeakTensorKeyDictionary()  # tensor -> frozenset of parameter ids
        self.numel = {}
        self.param_names = {}
        for name, p in model.named_parameters(remove_duplicate=False):
            self.numel[id(p)] = p.numel()
            self.param_names.setdefault(id(p), name)
        self.counted: set[int] = set()
        self.cost: dict[int, int] = {}  # work on constants (negative ids) -> multiply-adds
        self.calls: dict[int, int] = {}
        self.batch = 1  # the traced forward's batch: counts are kept per sample

    # -- what a call reads ----------------------------------------------------
    def _classify(self, tensors):
        import torch
        data, const_params, n_const = [], set(), 0
        for t in tensors:
            key = self.producer.get(t)
            if key is not None:
                data.append(key)
            elif isinstance(t, torch.nn.Parameter):
                const_params.add(id(t))
                n_const += 1
            else:
                const_params |= self.const.get(t, frozenset())
                n_const += 1
        return data, const_params, n_const

    def shape(self, t) -> tuple:
        """A tensor's shape per sample where the batch is its first axis; the
        whole shape otherwise (the batch folded into another axis, moved, or
        reduced away: :func:`netviz.trace.batch.locate` says which)."""
        if t.dim() and int(t.shape[0]) == self.batch:
            return strip_batch(t)
        return tuple(int(d) for d in t.shape) or (1,)

    def _take(self, ids) -> frozenset:
        fresh = frozenset(i for i in ids if i not in self.counted and
                          (i in self.numel or i in self.cost))
        self.counted.update(fresh)
        return fresh

    # -- events ---------------------------------------------------------------
    def input(self, tensor):
        self.batch = max(1, int(tensor.shape[0])) if tensor.dim() else 1
        ev = Event(0, "input", "input", "", output=strip_batch(tensor))
        self.events.append(ev)
        self.producer[tensor] = 0

    def module(self, module, path: str, args, kwargs, result, macs: int = 0,
               collapsed: bool = False, layer=False):
        """A leaf module's call; ``layer`` is its module_layer() if known."""
        from .ops import is_identity
        ins = flat_tensors((args, kwargs))
        data, const_params, n_const = self._classify(ins)
        outs = flat_tensors(result)
        if not outs:
            return  # nothing a later layer could read
        if module._modules:
            own = {id(p) for p in module.parameters()}
        else:
            own = {id(p) for p in module._parameters.values() if p is not None}
        if not data:
            self._constant(outs, const_params | own, macs)
            return
        if is_identity(module) and outs and len(data) == 1:
            self.producer[outs[0]] = data[0]
            return
        n = self.calls.get(id(module), 0) + 1
        self.calls[id(module)] = n
        if layer is False:
            layer = None if collapsed else module_layer(module)
        import torch
        states = isinstance(module, torch.nn.RNNBase)  # (h, c) hold the batch in dim 1
        self._emit("module", type(module).__name__, path, data, outs,
                   self._take(own | const_params), macs, layer, n,
                   _state_shape if states else None)

    def function(self, target, scope: str, args, kwargs, result, macs: int = 0):
        name = op_name(target)
        if name == "setitem" and result is None and len(args) == 3:
            # x[i] = v (and x[i] += v) writes into x: from here on x holds what v
            # was computed from, so the work behind v is part of the forward
            result = flat_tensors(args[0])
        outs = flat_tensors(result)
        if not outs:
            return
        ins = flat_tensors((args, kwargs))
        data, const_params, n_const = self._classify(ins)
        if not data:
            self._constant(outs, const_params, macs)
            return
        if name == "getitem" and any(outs[0] is t for t in ins):
            return  # picking a tensor out of a tuple: it already has its layer
        if len(data) == 1 and name in TRANSPARENT and self.shape(outs[0]) == \
                self.events[data[0]].output:
            self.producer[outs[0]] = data[0]
            return
        layer = function_layer(name, args, kwargs, len(data), n_const, outs[0].dim() - 1)
        self._emit("function", name, scope, data, outs, self._take(const_params), macs, layer, 1)
        if name == "getitem" and len(data) == 1 and _picks_last_step(args):
            self.events[-1].last_step = True

    def _constant(self, outs, params, macs=0):
        """Outputs computed from parameters and constants alone. The work done
        on them (a position-bias MLP run on a fixed table) runs on every forward:
        it is counted in the first layer that reads them."""
        if macs:
            cid = -1 - len(self.cost)
            self.cost[cid] = macs
            params = frozenset(params) | {cid}
        for t in outs:
            if t not in self.producer:
                self.const[t] = frozenset(params)

    def _emit(self, kind, op, scope, data, outs, param_ids, macs, layer, call, shape_of=None):
        """``macs`` as counted on the whole batch: recorded per sample;
        ``shape_of`` gives the per-sample shape of the outputs after the first."""
        shape_of = shape_of or self.shape
        key = len(self.events)
        params = sum(self.numel[i] for i in param_ids if i in self.numel)
        fixed = sum(self.cost[i] for i in param_ids if i in self.cost)
        macs = round(macs / self.batch) + fixed  # the work on constants is done once
        if fixed:
            layer = None  # the engine's formula would not know of it
        ev = Event(key, kind, op, scope, list(data), self.shape(outs[0]), params, macs, layer,
                   call, param_ids, full=tuple(int(d) for d in outs[0].shape))
        if not outs[0].dim() or int(outs[0].shape[0]) != self.batch:
            ev.batch = "not the first axis"
        self.events.append(ev)
        self.producer[outs[0]] = key
        for i, t in enumerate(outs[1:], 1):
            if t in self.producer:
                continue  # handed back unchanged, or already seen
            if shape_of(t) == ev.output:
                self.producer[t] = key
            else:  # an output of another shape gets a layer of its own
                sub = Event(len(self.events), "function", f"{op}[{i}]", scope, [key],
                            shape_of(t), 0, 0, None, 1)
                self.events.append(sub)
                self.producer[t] = sub.key

    # -- after the run --------------------------------------------------------
    def prune(self, result) -> dict[int, int]:
        """Drop the calls the output does not depend on (a value tested by an
        ``if``, say); their parameters count as unused. Returns old -> new key."""
        roots = {self.producer[t] for t in flat_tensors(result) if t in self.producer}
        if not roots:
            return {ev.key: ev.key for ev in self.events}
        keep = {0}
        todo = list(roots)
        while todo:
            k = todo.pop()
            if k not in keep:
                keep.add(k)
                todo.extend(self.events[k].inputs)
        new = {}
        events = []
        for ev in self.events:
            if ev.key in keep:
                new[ev.key] = len(events)
                ev.key = len(events)
                events.append(ev)
            else:
                self.counted -= ev.param_ids
        for ev in events:
            ev.inputs = [new[k] for k in ev.inputs]
        self.events = events
        return new

    def unused(self) -> tuple[int, list[str]]:
        """Parameters no call used: their count and the outermost modules
        whose parameters all went unused."""
        missing = [i for i in self.numel if i not in self.counted]
        total = sum(self.numel[i] for i in missing)
        used = [self.param_names[i] for i in self.counted if i in self.param_names]
        owners: list[str] = []
        for i in missing:
            parts = self.param_names[i].split(".")
            owner = self.param_names[i]
            for n in range(1, len(parts)):
                prefix = ".".join(parts[:n])
                if not any(u.startswith(prefix + ".") for u in used):
                    owner = prefix
                    break
            if owner not in owners:
                owners.append(owner)
        return total, owners
