"""Caffe network definitions (.prototxt) read into a :class:`netviz.ir.Network`.

The text is read by :mod:`netviz.readers.pbtext`; this module maps Caffe's layers
onto netviz's (``layer { type: "Convolution" }`` and the old
``layers { type: CONVOLUTION }`` alike), follows Caffe's blobs through in-place
layers, keeps the TEST phase of a train_val file, and gives pooling Caffe's
rounding (up). Every problem is a :class:`~netviz.errors.SpecError` at the
FILE:LINE:COL of the layer or field it concerns.
"""
from __future__ import annotations

import os

from ..errors import SpecError
from ..ir import Layer, Loc, Network
from ..layers import complete
from .caffe_layers import CaffeLayer, Section, convert, image_shape, suggest
from .caffe_table import DATA_TYPES, HANDLERS, KNOWN_TYPES, SKIPPED, SUPPORTED, V1_TYPES
from .files import read_text
from .pbtext import Field, Message, Scalar, parse


class InputShapeNeeded(SpecError):
    """The file does not say its input's size (a Caffe Data layer without a
    crop size). ``network`` is the whole network with a placeholder input
    shape, for callers that have the size from elsewhere (``--input``)."""

    def __init__(self, message: str, loc: Loc, network: Network):
        super().__init__(message, loc.file, loc.line, loc.col)
        self.network = network


def load_prototxt(path) -> Network:
    """Read a Caffe .prototxt network definition."""
    path = os.fspath(path)
    try:
        text = read_text(path)
    except SpecError as exc:
        msg = exc.message.replace("a spec is a YAML or JSON text file",
                                  "a .prototxt is a text file (a .caffemodel holds weights, "
                                  "not the network definition)")
        if msg.startswith("empty spec"):
            msg = "empty prototxt: expected the network's layers, 'layer { ... }'"
        raise SpecError(msg, exc.file, exc.line, exc.col) from None
    root = parse(text, path)
    stem = os.path.splitext(os.path.basename(path))[0]
    return _Reader(path).network(root, stem)


LAYER_FIELDS = {"name", "type", "bottom", "top", "phase", "loss_weight", "param", "blobs",
                "propagate_down", "include", "exclude", "blobs_lr", "weight_decay", "blob_share_mode"}
TOP_FIELDS = ("name", "input", "input_shape", "input_dim", "layer", "layers", "force_backward",
              "state", "debug_info")
PHASES = ("TRAIN", "TEST")


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.raw: list[dict] = []  # emitted layers, in order
        self.by_name: dict[str, dict] = {}
        self.blobs: dict[str, tuple] = {}  # blob -> ("layer", name) | ("label"/"skipped", why)
        self.dropped: dict[str, str] = {}  # blob -> why it is absent (other phase)
        self.reserved: set[str] = set()
        self.needs_input: tuple[str, Loc] | None = None

    # --- names and blobs --------------------------------------------------------
    def unique(self, base: str, caffe: bool) -> str:
        if caffe and base not in self.by_name:
            return base
        n = 1
        while True:
            n += 1
            cand = f"{base}_{n}" if caffe else f"{base}{n - 1}"
            if cand not in self.by_name and cand not in self.reserved:
                return cand

    def emit(self, ntype: str, attrs: dict, inputs: tuple, loc: Loc, name: str | None,
             rank: int, caffe_type: str | None = None) -> str:
        name = self.unique(name, True) if name else self.unique(ntype, False)
        r = {"name": name, "type": ntype, "attrs": attrs, "inputs": tuple(inputs), "loc": loc,
             "rank": rank, "caffe": caffe_type, "used": False}
        for src in inputs:
            self.by_name[src]["used"] = True
        self.raw.append(r)
        self.by_name[name] = r
        return name

    def read(self, layer: CaffeLayer, blob: str, loc: Loc) -> str:
        """The netviz layer a bottom blob names, or an error saying why there is none."""
        got = self.blobs.get(blob)
        if got is None:
            why = self.dropped.get(blob)
            if why:
                layer.fail(f"bottom '{blob}' {why}", loc)
            layer.fail(f"bottom '{blob}' is not the top of any layer before it"
                       f"{suggest(blob, self.blobs)}", loc)
        if got[0] != "layer":
            layer.fail(f"bottom '{blob}' {got[1]}", loc)
        return got[1]

    def rank(self, name: str) -> int:
        return self.by_name[name]["rank"]

    def set_tops(self, layer: CaffeLayer, name: str):
        for top in layer.tops:
            self.blobs[top] = ("layer", name)

    # --- the file ---------------------------------------------------------------
    def network(self, root: Message, stem: str) -> Network:
        top = Section(root, "the network", TOP_FIELDS)
        name = top.get("name", "str", None) or stem
        new, old = root.all("layer"), root.all("layers")
        if new and old:
            raise SpecError.at("the file mixes 'layer' and the old 'layers' blocks: "
                               "write them all one way", old[0].loc)
        layer_fields = new or old
        if not layer_fields and not root.all("input"):
            raise SpecError.at("the file defines no layers: expected 'layer { ... }' blocks",
                               Loc(self.file, 1, 1))
        for f in layer_fields:
            if not isinstance(f.value, Message):
                raise SpecError.at(f"'{f.name}' must be a {{ ... }} block", f.loc)
        phase = self.phase(top, layer_fields)
        kept = []
        for f in layer_fields:
            lname = Section(f.value, f.name, check=False).get("name", "str", None)
            if self.in_phase(f.value, phase, lname or f.name):
                kept.append((f, lname))
                if lname:
                    self.reserved.add(lname)
            else:
                for t in f.value.all("top"):
                    blob = convert(t.value, "str", "top")
                    self.dropped.setdefault(
                        blob, f"is made only in the {PHASES[1 - PHASES.index(phase)]} phase "
                        f"(by '{lname or '?'}'); netviz reads the {phase} phase")
        self.old_inputs(top)
        for f, lname in kept:
            self.layer(f, lname, old=f.name == "layers")
        return self.finish(name)

    def phase(self, top: Section, layer_fields) -> str:
        state = top.sub("state", "state", ("phase", "level", "stage"))
        if state.msg is not None and state.one("phase") is not None:
            return state.enum("phase", PHASES, "TEST")[0]
        said = set()
        for f in layer_fields:
            for rule in f.value.all("include") + f.value.all("exclude"):
                if isinstance(rule.value, Message):
                    said.update(r.value.value for r in rule.value.all("phase") if isinstance(r.value, Scalar))
        return "TRAIN" if said and not said & {"TEST", "1"} else "TEST"

    def in_phase(self, msg: Message, phase: str, what: str) -> bool:
        body = Section(msg, what, check=False)
        if body.one("phase") is not None and body.enum("phase", PHASES, phase)[0] != phase:
            return False
        rules = {}
        for kind in ("include", "exclude"):
            rules[kind] = []
            for rule in msg.all(kind):
                sec = Section(rule.value if isinstance(rule.value, Message) else None,
                              f"{what}: {kind}", ("phase", "min_level", "max_level", "stage", "not_stage"))
                if sec.msg is None:
                    raise SpecError.at(f"{what}: {kind} must be a {{ ... }} block", rule.loc)
                rules[kind].append(sec.enum("phase", PHASES, phase)[0] == phase)
        if rules["include"] and rules["exclude"]:
            raise SpecError.at(f"{what}: a layer has include or exclude rules, not both", msg.loc)
        if rules["include"]:
            return any(rules["include"])
        return not any(rules["exclude"])

    def old_inputs(self, top: Section):
        """``input: "data"`` with ``input_shape { dim ... }`` or four ``input_dim`` each."""
        names = top.fields("input")
        if not names:
            for key in ("input_shape", "input_dim"):
                if top.fields(key):
                    raise SpecError.at(f"'{key}' without 'input: \"NAME\"'", top.fields(key)[0].loc)
            return
        shapes, dims = top.fields("input_shape"), top.fields("input_dim")
        if shapes and dims:
            raise SpecError.at("give 'input_shape' or 'input_dim', not both", dims[0].loc)
        n = len(names)
        need = f"{n} input{'s' if n > 1 else ''} need{'' if n > 1 else 's'}"
        for i, f in enumerate(names):
            blob = convert(f.value, "str", "input")
            if shapes:
                if len(shapes) != n:
                    raise SpecError.at(f"{need} {n} 'input_shape' block{'s' if n > 1 else ''}, "
                                       f"got {len(shapes)}", shapes[0].loc)
                sec = Section(shapes[i].value, "input_shape", ("dim",))
                shape = image_shape(sec.many("dim", "int"), shapes[i].loc, "input_shape")
            elif dims:
                if len(dims) != 4 * n:
                    raise SpecError.at(f"{need} {4 * n} 'input_dim' values (N, C, H, W"
                                       f"{' each' if n > 1 else ''}), got {len(dims)}", dims[0].loc)
                values = [convert(d.value, "int", "input_dim") for d in dims[4 * i:4 * i + 4]]
                shape = image_shape(values, dims[4 * i].loc, "input_dim")
            else:
                raise SpecError.at(f"input '{blob}' has no size: add 'input_shape {{ dim: 1 dim: 3 "
                                   "dim: 227 dim: 227 }' (or four 'input_dim')", f.loc)
            self.reserved.add(blob)
            node = self.emit("input", {"shape": shape}, (), f.loc, blob, len(shape))
            self.blobs[blob] = ("layer", node)

    def layer(self, f: Field, name: str | None, old: bool):
        sec = Section(f.value, name or f.name, check=False)
        tfield = sec.one("type")
        if tfield is None:
            raise SpecError.at(f"{name or 'a layer'}: 'type' is missing", f.loc)
        tval = tfield.value
        if isinstance(tval, Message):
            raise SpecError.at("type must be a name, not a { ... } block", tfield.loc)
        if tval.kind == "ident" and tval.value in V1_TYPES:
            ctype = V1_TYPES[tval.value]
        elif tval.kind == "ident" and old:
            raise SpecError.at(f"unknown layer type {tval.value}{suggest(tval.value, V1_TYPES)}",
                               tval.loc)
        else:
            ctype = convert(tval, "str", "type")
        if f.value.all("layer"):
            raise SpecError.at("this is Caffe's oldest (V0) format, a 'layer' inside 'layers': "
                               "upgrade it with Caffe's upgrade_net_proto_text", f.loc)
        for g in f.value.fields:
            if g.name not in LAYER_FIELDS and not g.name.endswith("_param"):
                raise SpecError.at(f"{name or ctype}: unknown layer field '{g.name}'"
                                   f"{suggest(g.name, LAYER_FIELDS)}", g.loc)
        key = ctype.lower()
        layer = CaffeLayer(self, f, name, KNOWN_TYPES.get(key, ctype))
        if key in SKIPPED:
            for top in layer.tops:
                self.blobs[top] = ("skipped", f"is the output of {layer.type} layer "
                                   f"'{layer.label}', which netviz leaves out (it only scores the network)")
            return
        handler = HANDLERS.get(key)
        if handler is None:
            if key in KNOWN_TYPES:
                raise SpecError.at(f"{layer.label}: Caffe's {layer.type} layer is not supported: "
                                   f"netviz has no such layer; it reads {', '.join(SUPPORTED)}",
                                   tval.loc)
            raise SpecError.at(f"{layer.label}: unknown Caffe layer type {ctype!r}"
                               f"{suggest(ctype, KNOWN_TYPES.values())}", tval.loc)
        if key in DATA_TYPES:
            first = layer.tops[0] if layer.tops else None
            if first is not None and self.blobs.get(first, ("",))[0] == "layer" and \
                    self.by_name[self.blobs[first][1]]["type"] == "input":
                return  # a second data layer for the same blob (train and test sources)
        handler(layer)

    def finish(self, name: str) -> Network:
        inputs = [r for r in self.raw if r["type"] == "input"]
        if not inputs:
            raise SpecError.at("the network has no input: add an Input layer, a Data layer or "
                               "'input: \"data\"' with 'input_shape'", Loc(self.file, 1, 1))
        if len(inputs) > 1:
            unused = {id(r) for r in inputs if not r["used"]}
            if len(unused) == len(inputs):  # none is read: keep the first
                unused.discard(id(inputs[0]))
            self.raw = [r for r in self.raw if id(r) not in unused]
            inputs = [r for r in self.raw if r["type"] == "input"]
            if len(inputs) > 1:
                raise SpecError.at(f"'{inputs[1]['name']}' is a second input (the first is "
                                   f"'{inputs[0]['name']}'); netviz draws networks with one input",
                                   inputs[1]["loc"])
        layers = tuple(Layer(r["name"], r["type"], complete(r["type"], r["attrs"]), r["inputs"],
                             loc=r["loc"]) for r in self.raw)
        network = Network(name=name, layers=layers, source=self.file)
        if self.needs_input is not None:
            raise InputShapeNeeded(self.needs_input[0], self.needs_input[1], network)
        return network
