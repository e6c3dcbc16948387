"""The shape engine on the zoo and on hand-written networks; `netviz shapes`.

Comparisons with PyTorch itself are in test_shapes_torch.py.
"""
from __future__ import annotations

import glob
import json
import os
from math import prod

import pytest
import yaml

from netviz.errors import ShapeError
from netviz.layers import canonical
from netviz.models import load, shaped
from netviz.shapes import infer
from netviz.readers import parse_spec

ZOO = sorted(os.path.basename(p)[:-5]
             for p in glob.glob(os.path.join(os.path.dirname(__file__), "..", "netviz", "zoo", "*.yaml")))


# --- the AlexNet facts ----------------------------------------------------------

def test_zoo_is_found():
    assert {"alexnet", "alexnet-torchvision", "lenet5", "zfnet", "vgg16"} <= set(ZOO)


def test_alexnet_outputs_of_the_paper():
    result = shaped("alexnet")
    weighted = [(layer.type, result[layer.name].output) for layer in result.layers
                if layer.type in ("conv", "maxpool", "fc")]
    assert weighted == [
        ("conv", (96, 55, 55)), ("maxpool", (96, 27, 27)), ("conv", (256, 27, 27)),
        ("maxpool", (256, 13, 13)), ("conv", (384, 13, 13)), ("conv", (384, 13, 13)),
        ("conv", (256, 13, 13)), ("maxpool", (256, 6, 6)),
        ("fc", (4096,)), ("fc", (4096,)), ("fc", (1000,))]
    assert result.input_shape == (3, 227, 227)
    assert result.total_params == 60_965_224
    assert result.warnings == ()  # 227 tiles every window exactly


def test_alexnet_neuron_counts_of_the_paper():
    """The paper's per-layer neurons from conv2 on: 186,624-64,896-64,896-43,264-4096-4096-1000."""
    result = shaped("alexnet")
    convs_fcs = [result[layer.name].output for layer in result.layers if layer.type in ("conv", "fc")]
    neurons = [prod(shape) for shape in convs_fcs[1:]]
    assert neurons == [186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000]


def test_alexnet_streams_and_groups():
    network = load("alexnet")
    assert network.streams == 2
    groups = {layer.name: layer.get("groups") for layer in network if layer.type == "conv"}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}


def test_alexnet_parameters_by_formula():
    """Each weighted layer's parameters, from the formula (k*k*C/groups + 1) * out."""
    result = shaped("alexnet")
    expected = {
        "conv1": (11 * 11 * 3 + 1) * 96, "conv2": (5 * 5 * 96 // 2 + 1) * 256,
        "conv3": (3 * 3 * 256 + 1) * 384, "conv4": (3 * 3 * 384 // 2 + 1) * 384,
        "conv5": (3 * 3 * 384 // 2 + 1) * 256,
        "fc6": (9216 + 1) * 4096, "fc7": (4096 + 1) * 4096, "fc8": (4096 + 1) * 1000}
    assert {name: result[name].params for name in expected} == expected
    assert sum(expected.values()) == result.total_params
    macs = {"conv1": 55 * 55 * 96 * 11 * 11 * 3, "fc6": 9216 * 4096}
    assert {name: result[name].macs for name in macs} == macs


def test_224_input_warns_on_conv1_and_names_227():
    result = shaped("alexnet", input="3x224x224")
    assert result["conv1"].output == (96, 54, 54)
    conv1 = [str(w) for w in result.warnings if w.layer == "conv1"]
    assert len(conv1) == 1
    assert "224x224" in conv1[0] and "227x227 would tile exactly" in conv1[0]


def test_224_warning_on_the_command_line(cli):
    proc = cli("shapes", "alexnet", "--input", "3x224x224")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("warning: conv1:")]
    assert len(lines) == 1 and "227x227" in lines[0]
    proc = cli("shapes", "alexnet", "--input", "3x224x224", "--json")
    warnings = json.loads(proc.stdout)["warnings"]
    assert any(w.startswith("conv1: ") and "227x227" in w for w in warnings)


def test_rectangular_input_warns_per_axis():
    result = shaped("alexnet", input="3x224x227")
    conv1 = [str(w) for w in result.warnings if w.layer == "conv1"]
    assert len(conv1) == 1 and "height of 224" in conv1[0] and "height of 227 would tile" in conv1[0]


# --- golden JSON and the JSON contract --------------------------------------------

@pytest.mark.parametrize("model", ZOO)
def test_shapes_json_golden(cli, golden, model):
    proc = cli("shapes", model, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    golden(f"shapes/{model}.json", proc.stdout)


def _spec_layers(path):
    """(type, name or None) of each layer as written in a spec file, read with plain PyYAML."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    out = [("input", "input")] if "input" in doc else []
    for item in doc["layers"]:
        if isinstance(item, str):
            out.append((canonical(item), None))
        else:
            (key, body), = item.items() if "type" not in item else [(item["type"], item)]
            out.append((canonical(key), body.get("name") if isinstance(body, dict) else None))
    return doc, out


@pytest.mark.parametrize("model", ZOO)
def test_shapes_json_contract(cli, model):
    data = json.loads(cli("shapes", model, "--json").stdout)
    assert set(data) == {"model", "input", "layers", "total_params", "total_macs", "warnings"}
    assert data["model"] == model
    assert isinstance(data["input"], list) and all(type(d) is int for d in data["input"])
    assert isinstance(data["warnings"], list) and all(isinstance(w, str) for w in data["warnings"])
    for layer in data["layers"]:
        assert set(layer) == {"name", "type", "output", "params", "macs"}
        assert isinstance(layer["name"], str) and isinstance(layer["type"], str)
        assert layer["output"] and all(type(d) is int and d > 0 for d in layer["output"])
        assert type(layer["params"]) is int and type(layer["macs"]) is int
    assert data["total_params"] == sum(layer["params"] for layer in data["layers"])
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])
    assert data["layers"][0]["output"] == data["input"]
    # every layer of the spec, in the order written, relu and dropout included
    doc, written = _spec_layers(os.path.join(os.path.dirname(__file__), "..", "netviz", "zoo",
                                             f"{model}.yaml"))
    assert [layer["type"] for layer in data["layers"]] == [t for t, _ in written]
    for layer, (_, name) in zip(data["layers"], written):
        if name is not None:
            assert layer["name"] == name
    assert len({layer["name"] for layer in data["layers"]}) == len(data["layers"])


def test_shapes_table(cli):
    proc = cli("shapes", "lenet5")
    assert proc.returncode == 0
    rows = proc.stdout.splitlines()
    assert any(line.split()[:3] == ["c1", "conv", "6x28x28"] for line in rows)
    assert any(line.split()[:3] == ["s4", "maxpool", "16x5x5"] for line in rows)
    assert any(line.startswith("total") for line in rows)


# --- branching ---------------------------------------------------------------------

RESIDUAL = """\
input: 16x8x8
layers:
  - conv: {name: a, out: 16, kernel: 3, pad: 1}
  - relu
  - conv: {name: b, out: 16, kernel: 3, pad: 1}
  - add: {name: sum, inputs: [b, input]}
  - relu
"""

INCEPTION = """\
input: 8x10x10
layers:
  - conv: {name: b1, out: 4, kernel: 1}
  - conv: {name: b2a, out: 3, kernel: 1, inputs: input}
  - conv: {name: b2, out: 6, kernel: 3, pad: 1}
  - conv: {name: b3, out: 2, kernel: [1, 5], pad: [0, 2], inputs: input}
  - maxpool: {name: b4a, kernel: 3, stride: 1, pad: 1, inputs: input}
  - conv: {name: b4, out: 5, kernel: 1}
  - concat: {name: mix, inputs: [b1, b2, b3, b4]}
"""


def test_residual_block():
    result = infer(parse_spec(RESIDUAL))
    assert result["sum"].output == (16, 8, 8)
    assert result["sum"].inputs == ((16, 8, 8), (16, 8, 8))
    assert result.layers[-1].inputs == ("sum",)
    assert result.total_params == 2 * (16 * 16 * 9 + 16)
    assert result.network.consumers["input"] == ("a", "sum")


def test_inception_concat():
    result = infer(parse_spec(INCEPTION))
    assert result["b3"].output == (2, 10, 10)
    assert result["b4a"].output == (8, 10, 10)
    assert result["mix"].output == (4 + 6 + 2 + 5, 10, 10)
    assert result.total_params == (8 * 4 + 4) + (8 * 3 + 3) + (3 * 9 * 6 + 6) + (8 * 5 * 2 + 2) + (8 * 5 + 5)
    assert not result.network.is_chain


def test_add_refuses_broadcasting():
    """torch would broadcast 1x5x5 + 4x5x5; a residual add of different shapes is a mistake."""
    spec = ("input: 4x5x5\nlayers:\n  - conv: {name: one, out: 1, kernel: 1}\n"
            "  - add: {name: join, inputs: [one, input]}\n")
    with pytest.raises(ShapeError, match=r"^x.yaml:4:5: join: cannot add one \(1x5x5\) and input \(4x5x5\)"):
        infer(parse_spec(spec, "x.yaml"))


def test_fc_applies_to_the_last_dimension():
    result = infer(parse_spec("input: 3x4x5\nlayers:\n  - fc: 7\n"))
    assert result["fc1"].output == (3, 4, 7)
    assert result["fc1"].params == 5 * 7 + 7
    assert any("flatten" in str(w) for w in result.warnings)
    flat = infer(parse_spec("input: 3x4x5\nlayers:\n  - flatten\n  - fc: 7\n"))
    assert flat["fc1"].output == (7,) and flat["fc1"].params == 60 * 7 + 7 and not flat.warnings


# --- impossible layers: the layer and the numbers ------------------------------------

IMPOSSIBLE = {
    "kernel": ("input: 3x8x8\nlayers:\n  - relu\n  - conv: {name: big, out: 4, kernel: 11, pad: 1}\n",
               "4:5: big: kernel 11x11 is larger than the padded input height 8+2*1=10"),
    "groups": ("input: 3x8x8\nlayers:\n  - conv: {name: g, out: 4, kernel: 3, groups: 2}\n",
               "3:5: g: input channels 3 are not divisible by groups 2"),
    "add": (RESIDUAL.replace("out: 16, kernel: 3, pad: 1}\n  - add",
                             "out: 16, kernel: 3}\n  - add"),
            "6:5: sum: cannot add b (16x6x6) and input (16x8x8): shapes differ"),
    "concat": (INCEPTION.replace("kernel: [1, 5], pad: [0, 2]", "kernel: [1, 5]"),
               "9:5: mix: cannot concatenate b1 (4x10x10) and b3 (2x10x6): sizes other than "
               "the channels differ"),
    "pool": ("input: 3x2x2\nlayers:\n  - maxpool: {name: p, kernel: 3}\n",
             "3:5: p: window 3x3 (stride 3x3, pad 0x0) does not fit the input 2x2: the output "
             "would be 0x0"),
    "conv on a vector": ("input: 3x8x8\nlayers:\n  - flatten\n  - conv: {name: c, out: 4, kernel: 1}\n",
                         "4:5: c: conv needs a CxHxW input, got 192 (a vector: put it before the "
                         "flatten/fc layers)"),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_layer(cli, tmp_path, case):
    text, where_what = IMPOSSIBLE[case]
    path = tmp_path / "net.yaml"
    path.write_text(text)
    proc = cli("shapes", path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"{path}:{where_what}\n"


def test_leftover_padding_is_not_a_tiling_problem():
    import netviz
    import netviz.readers
    # torchvision's conv1 (11x11/4, pad 2) on 224 leaves only a padded row over: every real row is read
    assert netviz.shaped("alexnet-torchvision").warnings == ()
    # a 3x3/2 pad-1 conv on 64 likewise; a 1x1/2 shortcut skips rows by design
    spec = "input: 8x64x64\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 2, pad: 1}\n" \
           "  - conv: {out: 8, kernel: 1, stride: 2}\n"
    assert netviz.infer(netviz.readers.parse_spec(spec)).warnings == ()
    # but an unpadded 3x3/2 on 64 drops the last real row
    spec = "input: 8x64x64\nlayers:\n  - conv: {name: c, out: 8, kernel: 3, stride: 2}\n"
    (w,) = netviz.infer(netviz.readers.parse_spec(spec)).warnings
    assert w.layer == "c" and "65x65 would tile exactly (or 63x63)" in w.message
