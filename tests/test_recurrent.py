"""Sequences: the embedding, lstm, gru and rnn layer types against real torch
modules (shapes, parameters, multiply-adds, refusals), the built module, the
tracer's mapping, the figures of the example and the trainer's refusal."""
from __future__ import annotations

import itertools
import json
import os
import re
import warnings
import xml.etree.ElementTree as ET

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from netviz.errors import ShapeError  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.readers import load_spec, parse_spec  # noqa: E402

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "lstm.yaml")
TORCH_CLASS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def spec_text(input_shape, ltype, fields) -> str:
    """A one-layer spec; the layer is on line 3."""
    return (f"input: {'x'.join(map(str, input_shape))}\nlayers:\n"
            f"  - {json.dumps({ltype: {'name': 'layer', **fields}})}\n")


def engine(input_shape, ltype, fields):
    return infer(parse_spec(spec_text(input_shape, ltype, fields), "seq.yaml"))


def torch_recurrent(kind, features, fields):
    kw = dict(hidden_size=fields["hidden"], num_layers=fields.get("layers", 1),
              bias=fields.get("bias", True), batch_first=True,
              bidirectional=fields.get("bidirectional", False), dropout=fields.get("dropout", 0.0))
    if "proj_size" in fields:
        kw["proj_size"] = fields["proj_size"]
    if "nonlinearity" in fields:
        kw["nonlinearity"] = fields["nonlinearity"]
    return TORCH_CLASS[kind](features, **kw)


def _grid():
    for kind, hidden, layers, bi, bias, proj in itertools.product(
            ("lstm", "gru", "rnn"), (3, 8), (1, 3), (False, True), (True, False), (0, 2)):
        if proj and kind != "lstm":
            continue
        fields = {"hidden": hidden, "layers": layers, "bidirectional": bi, "bias": bias}
        if proj:
            fields["proj_size"] = proj
        yield kind, fields


@pytest.mark.filterwarnings("ignore:LSTM with projections")  # oneDNN's, on CPUs
@pytest.mark.parametrize("steps,features", [(1, 1), (6, 5)])
def test_shapes_params_and_macs_are_torchs(steps, features):
    checked = 0
    for kind, fields in _grid():
        module = torch_recurrent(kind, features, fields)
        with torch.no_grad():
            out = module(torch.randn(2, steps, features))[0]
        weights = sum(p.numel() for name, p in module.named_parameters() if name.startswith("weight"))
        for last in (False, True):
            shaped = engine((steps, features), kind, {**fields, "last": last})
            info = shaped.info["layer"]
            want = tuple(out.shape[2:]) if last else tuple(out.shape[1:])
            assert info.output == want, (kind, fields, last)
            assert info.params == sum(p.numel() for p in module.parameters()), (kind, fields)
            # every weight matrix is applied once per time step
            assert info.macs == steps * weights, (kind, fields)
            checked += 1
    assert checked == 2 * (3 * 16 + 16)


@pytest.mark.parametrize("kind,fields", [("gru", {"hidden": 6, "layers": 2, "bidirectional": True}),
                                         ("rnn", {"hidden": 5, "nonlinearity": "relu"}),
                                         ("lstm", {"hidden": 6, "proj_size": 3, "layers": 2})])
def test_macs_are_what_torchs_flop_counter_counts(kind, fields):
    """Where torch runs the cells as matrix products (GRU, RNN, LSTM with a
    projection), FlopCounterMode sees them: half its FLOPs are the engine's MACs."""
    from torch.utils.flop_counter import FlopCounterMode
    module = torch_recurrent(kind, 4, fields)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oneDNN has no projections: torch says so
        module(torch.randn(1, 7, 4))
    assert engine((7, 4), kind, fields).total_macs == counter.get_total_flops() // 2 > 0


@pytest.mark.parametrize("shape", [(9,), (4, 3)])
def test_embedding_is_torchs(shape):
    module = nn.Embedding(30, 7, padding_idx=2)
    out = module(torch.randint(0, 30, (2, *shape)))
    info = engine(shape, "embedding", {"num": 30, "dim": 7, "padding_idx": 2}).info["layer"]
    assert info.output == tuple(out.shape[1:])
    assert info.params == sum(p.numel() for p in module.parameters()) == 210
    assert info.macs == 0


@pytest.mark.parametrize("pad,ok", [(-30, True), (29, True), (30, False), (-31, False)])
def test_embedding_padding_idx_range_is_torchs(pad, ok):
    try:
        nn.Embedding(30, 4, padding_idx=pad)
        torch_ok = True
    except (AssertionError, ValueError):
        torch_ok = False
    assert torch_ok == ok
    if ok:
        engine((5,), "embedding", {"num": 30, "dim": 4, "padding_idx": pad})
    else:
        with pytest.raises(ShapeError, match=r"seq.yaml:3:5: layer: padding_idx .* must be from -30 to 29"):
            engine((5,), "embedding", {"num": 30, "dim": 4, "padding_idx": pad})


def test_refusals_are_torchs():
    with pytest.raises(ValueError):
        nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(ShapeError, match="proj_size 3 must be smaller than hidden 3"):
        engine((5, 4), "lstm", {"hidden": 3, "proj_size": 3})
    with pytest.raises(ValueError):
        nn.RNN(4, 3, nonlinearity="sigmoid")
    with pytest.raises(ShapeError, match="unknown nonlinearity 'sigmoid': use tanh or relu"):
        engine((5, 4), "rnn", {"hidden": 3, "nonlinearity": "sigmoid"})
    # torch warns about dropout on a single layer; so does the engine
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(4, 3, dropout=0.3)
    shaped = engine((5, 4), "gru", {"hidden": 3, "dropout": 0.3})
    assert [w.message for w in shaped.warnings] == [
        "dropout 0.3 does nothing with 1 layer: torch applies it between stacked layers only "
        "(give layers: 2 or more, or leave dropout out)"]
    assert not engine((5, 4), "gru", {"hidden": 3, "dropout": 0.3, "layers": 2}).warnings


@pytest.mark.parametrize("spec,message", [
    ("input: 3x32x32\nlayers:\n  - lstm: 16\n",
     "x.yaml:3:5: lstm1: lstm needs a sequence TxF (time steps x features), got 3x32x32\n"),
    ("input: 50\nlayers:\n  - gru: 16\n",
     "x.yaml:3:5: gru1: gru needs a sequence TxF (time steps x features), got 50: start with an "
     "embedding to turn token ids into vectors\n"),
    ("input: 50x4\nlayers:\n  - rnn: {hidden: 8, proj_size: 2}\n",
     "x.yaml:3:22: rnn has no field 'proj_size'; its fields are hidden, layers, bidirectional, "
     "bias, dropout, nonlinearity, last, name, label, inputs\n"),
    ("input: 50\nlayers:\n  - embedding: {num: 100}\n",
     "x.yaml:3:5: embedding needs 'dim' (length of each vector)\n"),
])
def test_cli_errors_are_one_line_exit_2(cli, tmp_path, spec, message):
    (tmp_path / "x.yaml").write_text(spec)
    res = cli("shapes", "x.yaml", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(message)
    assert len(res.stderr.strip().splitlines()) == 1


def test_example_shapes():
    shaped = infer(load_spec(EXAMPLE))
    rows = {l.name: (l.type, shaped.info[l.name].output, shaped.info[l.name].params)
            for l in shaped.layers}
    assert rows["embedding1"] == ("embedding", (50, 64), 10000 * 64)
    lstm = nn.LSTM(64, 128, 2, batch_first=True, bidirectional=True)
    assert rows["lstm1"] == ("lstm", (256,), sum(p.numel() for p in lstm.parameters()))
    assert rows["fc1"] == ("fc", (5,), 256 * 5 + 5)
    assert not shaped.warnings


# --- the built module -------------------------------------------------------------------

@pytest.mark.parametrize("spec,feed", [
    (EXAMPLE, "ids"),
    ("input: 12x6\nlayers:\n  - gru: {hidden: 5, layers: 2, bidirectional: true, dropout: 0.1}\n"
     "  - rnn: {hidden: 4, nonlinearity: relu, bias: false}\n"
     "  - lstm: {hidden: 6, proj_size: 2, bidirectional: true, last: true}\n  - fc: 3\n", "floats"),
])
def test_built_module_runs_with_the_engines_shapes(tmp_path, spec, feed):
    from netviz.build import build
    if not os.path.exists(spec):
        (tmp_path / "s.yaml").write_text(spec)
        spec = str(tmp_path / "s.yaml")
    shaped = infer(load_spec(spec))
    module = build(shaped).eval()
    seen = {}
    for layer in shaped.layers:
        if layer.type != "input":
            sub = module.get_submodule(module.layer_modules[layer.name])
            sub.register_forward_hook(lambda m, a, out, n=layer.name: seen.__setitem__(n, out))
    shape = shaped.input_shape
    x = torch.randint(0, 10000, (3, *shape)) if feed == "ids" else torch.randn(3, *shape)
    with torch.no_grad():
        out = module(x)
    assert isinstance(out, torch.Tensor)
    for layer in shaped.layers:
        if layer.type != "input":
            assert tuple(seen[layer.name].shape) == (3, *shaped.info[layer.name].output), layer.name
    assert sum(p.numel() for p in module.parameters()) == shaped.total_params
    rec = [m for m in module.modules() if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN))]
    assert rec and all(m.batch_first for m in rec)


def test_last_step_is_torchs_output_at_the_last_step():
    from netviz.build import build
    shaped = infer(parse_spec("input: 7x3\nlayers:\n  - lstm: {hidden: 4, bidirectional: true, last: true}\n"))
    module = build(shaped).eval()
    inner = module.get_submodule(module.layer_modules["lstm1"])
    plain = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    plain.load_state_dict(inner.state_dict())
    x = torch.randn(2, 7, 3)
    with torch.no_grad():
        assert torch.equal(module(x), plain(x)[0][:, -1])


# --- the tracer ---------------------------------------------------------------------------

class _Reviews(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16, padding_idx=0)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        out, _ = self.lstm(self.embed(x))
        return self.fc(out[:, -1])


class _FinalState(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 12, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


@pytest.mark.parametrize("method", ["auto", "hooks"])
def test_trace_maps_embedding_and_lstm(method):
    from netviz.trace import trace_module
    model = _Reviews()
    shaped = trace_module(model, (20,), device="cpu", method=method)
    types = {l.name: (l.type, shaped.info[l.name].output) for l in shaped.layers}
    assert types["embed"] == ("embedding", (20, 16))
    assert types["lstm"] == ("lstm", (64,))  # out[:, -1] is the spec's last: true
    assert types["fc"] == ("fc", (3,))
    assert [l.type for l in shaped.layers] == ["input", "embedding", "lstm", "fc"]
    assert shaped.network["fc"].inputs == ("lstm",)
    lstm = shaped.network["lstm"]
    assert (lstm.attrs["hidden"], lstm.attrs["layers"], lstm.attrs["bidirectional"],
            lstm.attrs["last"]) == (32, 2, True, True)
    assert shaped.network["embed"].attrs["padding_idx"] == 0
    assert shaped.total_params == sum(p.numel() for p in model.parameters())
    # the engine, run over the traced network, gives back the traced shapes
    again = infer(shaped.network)
    assert {n: i.output for n, i in again.info.items()} == {n: i.output for n, i in shaped.info.items()}


class _BothEnds(nn.Module):
    """The whole sequence is read twice: its last step is no layer of its own."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1]) + self.fc(out[:, 0])


def test_trace_keeps_the_sequence_when_more_than_the_last_step_reads_it():
    from netviz.trace import trace_module
    shaped = trace_module(_BothEnds(), (5, 4), device="cpu")
    rnn = shaped.network["rnn"]
    assert (rnn.type, rnn.attrs["last"], shaped.info["rnn"].output) == ("rnn", False, (5, 6))
    assert sum(l.type == "custom" and l.attrs["kind"] == "getitem" for l in shaped.layers) == 2


MODEL_PY = """
from torch import nn


class Reviews(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10000, 64, padding_idx=0)
        self.lstm = nn.LSTM(64, 128, num_layers=2, batch_first=True, bidirectional=True,
                            dropout=0.2)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(256, 5)

    def forward(self, x):
        out, _ = self.lstm(self.embed(x))
        return self.fc(self.drop(out[:, -1]))
"""


def test_check_the_example_against_the_torch_model_it_describes(cli, tmp_path):
    (tmp_path / "reviews.py").write_text(MODEL_PY)
    res = cli("check", EXAMPLE, "reviews.py:Reviews", "--input", "50", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "mismatch" not in res.stdout + res.stderr


def test_trace_final_states_do_not_depend_on_the_batch():
    from netviz.trace import trace_module
    outs = []
    for batch in (1, 3):
        shaped = trace_module(_FinalState(), (10, 8), device="cpu", batch=batch)
        outs.append([(l.type, shaped.info[l.name].output) for l in shaped.layers])
    assert outs[0] == outs[1]
    assert ("gru", (10, 12)) in outs[0]
    assert ("custom", (2, 12)) in outs[0]  # h_n: layers x hidden, the batch taken out
    assert outs[0][-1] == ("fc", (3,))


def test_trace_of_a_built_spec_reads_back_the_spec():
    from netviz.build import build
    from netviz.trace import trace_module
    spec = infer(load_spec(EXAMPLE))
    traced = trace_module(build(spec), (50,), device="cpu")
    got = [(l.type, traced.info[l.name].output, traced.info[l.name].params) for l in traced.layers]
    want = [(l.type, spec.info[l.name].output, spec.info[l.name].params) for l in spec.layers
            if l.type != "softmax"]
    assert got == want
    assert dict(traced.network["lstm1"].attrs) == dict(spec.network["lstm1"].attrs)


def test_batch_second_rnn_is_not_mapped():
    from netviz.trace import trace_module

    class TimeFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(4, 6)

        def forward(self, x):
            return self.rnn(x)[0]

    shaped = trace_module(TimeFirst(), (5, 4), device="cpu")
    assert shaped.network["rnn"].type == "custom"


# --- figures and the trainer -------------------------------------------------------------

CELLS = ("input: 20x8\nlayers:\n  - rnn: 16\n  - gru: 16\n  - lstm: 16\n"
         "  - lstm: {hidden: 16, bidirectional: true, last: true}\n  - embedding: {num: 9, dim: 4}\n")


def _cells(root):
    return {g.get("id"): g for g in root.iter() if g.get("class", "").split()[:1] == ["cell"]}


def test_bars_svg_draws_the_legends_memory_cells(cli, tmp_path):
    (tmp_path / "cells.yaml").write_text(CELLS)
    res = cli("render", "cells.yaml", "--style", "bars", "--legend", "-o", "c.svg", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    root = ET.parse(tmp_path / "c.svg").getroot()
    cells = _cells(root)

    def parts(layer):
        g = cells[f"cell-{layer}"]
        kids = list(g)
        circles = [(c.get("fill"), float(c.get("r"))) for c in kids if c.tag.endswith("circle")]
        handles = [c for c in kids if c.tag.endswith("polyline") or c.tag.endswith("path")]
        marks = [c for c in kids if c.tag.endswith("polygon")]
        return g.get("class").split(), circles, handles, marks

    for layer, kind, n_marks, ringed in (("rnn1", "rnn", 0, False), ("gru1", "gru", 1, False),
                                         ("lstm1", "lstm", 0, True), ("lstm2", "bilstm", 1, False)):
        classes, circles, handles, marks = parts(layer)
        assert kind in classes
        assert len(handles) == 1 and handles[0].get("stroke") == "#5B9BD5"  # the loop handle
        assert circles[-1][0] == "#00B0F0"  # the legend's recurrent blue
        assert (circles[0][0] == "#46CCFF") == ringed and len(circles) == (2 if ringed else 1)
        assert len(marks) == n_marks
        # the handle rises over the disc
        ys = [float(v) for v in re.findall(r"[ML][-\d.]+,([-\d.]+)", handles[0].get("d"))]
        assert len(ys) == 19 and min(ys) >= 0
        cy = float(next(c for c in cells[f"cell-{layer}"] if c.tag.endswith("circle")).get("cy"))
        assert min(ys) < cy - circles[0][1] < max(ys)
    _, circles, _, marks = parts("lstm2")
    assert len(marks[0].get("points").split()) == 4  # the bidirectional square
    assert len(parts("gru1")[3][0].get("points").split()) == 3  # the GRU triangle
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for words in ("RNN 16", "GRU 16", "LSTM 16", "bi", "last step", "Bidirectional LSTM", "Embedding"):
        assert words in text


@pytest.mark.parametrize("style", ["short", "stack", "blocks"])
@pytest.mark.parametrize("theme", ["default", "colorblind"])
def test_other_styles_draw_sequences(cli, tmp_path, style, theme):
    res = cli("render", EXAMPLE, "--style", style, "--theme", theme, "--legend", "-o",
              tmp_path / "l.svg")
    assert res.returncode == 0, res.stderr
    svg = (tmp_path / "l.svg").read_text()
    ET.fromstring(svg)
    if style == "stack":
        assert "LSTM, 128, bidirectional, 2 layers, last step" in svg
        assert "embedding, 10000, 64" in svg
    if style == "short":
        assert re.search(r'class="cell bilstm', svg) and ">2*128<" in svg
    if style == "blocks":
        assert ">50x64<" in svg and "Recurrent" in svg


def test_org_refuses_sequences_in_one_line(cli, tmp_path):
    res = cli("render", EXAMPLE, "--style", "org", "-o", tmp_path / "o.svg")
    assert res.returncode == 2 and "embedding1 makes 50x64" in res.stderr
    assert not (tmp_path / "o.svg").exists()


def test_train_refuses_a_sequence_it_cannot_make_data_for(cli, tmp_path):
    # token ids must be read by an embedding (the example's are: it trains, tests/test_train_tasks.py)
    spec = tmp_path / "vec.yaml"
    spec.write_text("input: 50\nlayers:\n  - fc: 8\n  - fc: 2\n")
    res = cli("train", spec, "--steps", "1", "--no-plot", "--metrics", tmp_path / "m.json")
    assert res.returncode == 2, res.stderr
    assert not (tmp_path / "m.json").exists()
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "the input 50 is read by fc, not an embedding" in res.stderr
