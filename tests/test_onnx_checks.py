"""Hand-built ONNX graphs that break ONNX's rules: convolutions whose channel
groups are not a whole number dividing the channels, and graphs whose nodes
are not topologically sorted (a cycle, an input nothing produces, a node
before the one it reads). Each is refused in one line naming the node."""
from __future__ import annotations

from math import prod

import pytest

onnx = pytest.importorskip("onnx", reason="reading ONNX needs the onnx extra: pip install '.[onnx]'")

from onnx import TensorProto, helper  # noqa: E402

from netviz.errors import SpecError  # noqa: E402
from netviz.readers import load_spec  # noqa: E402
from netviz.shapes import infer  # noqa: E402


def _model(nodes, inits=(), shape=(1, 4, 8, 8), output=None):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(output or nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _weight(name, dims):
    return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * prod(dims))


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def _refused(path, *words):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = str(info.value)
    assert err.startswith(f"{path}: "), err
    assert "\n" not in err
    for w in words:
        assert w in err, err
    return err


def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


# --- channel groups -------------------------------------------------------

def _conv(op, group, weight):
    node = helper.make_node(op, ["x", "w"], ["y"], name="the_conv", kernel_shape=[3, 3],
                            group=group)
    return _model([node], [_weight("w", weight)])


@pytest.mark.parametrize("op, group, weight, says", [
    ("Conv", 0, [4, 4, 3, 3], "group 0: the channel groups must be a whole number of at least 1"),
    ("Conv", -2, [4, 4, 3, 3], "group -2: the channel groups must be a whole number"),
    ("Conv", 3, [6, 1, 3, 3], "group 3 does not divide the 4 channels of the input 'x'"),
    ("Conv", 4, [6, 1, 3, 3], "group 4 does not divide the 6 output channels"),
    ("Conv", 2, [4, 4, 3, 3], "with group 2 reads 8 channels but the input 'x' has 4"),
    ("ConvTranspose", 0, [4, 4, 3, 3], "group 0: the channel groups must be a whole number"),
    ("ConvTranspose", -1, [4, 4, 3, 3], "group -1: the channel groups must be a whole number"),
    ("ConvTranspose", 3, [4, 4, 3, 3], "group 3 does not divide the 4 input channels"),
    ("ConvTranspose", 2, [8, 2, 3, 3], "reads 8 channels but the input 'x' has 4"),
])
def test_bad_groups_are_refused(tmp_path, op, group, weight, says):
    path = _save(tmp_path, _conv(op, group, weight))
    _refused(path, f"node 'the_conv' ({op})", says)


def test_bad_groups_on_the_command_line(cli, tmp_path):
    path = _save(tmp_path, _conv("Conv", 0, [4, 4, 3, 3]))
    out = tmp_path / "x.svg"
    err = _one_line_error(cli("render", path, "-o", out), "'the_conv'", "group 0")
    assert err.startswith(f"{path}: ")
    assert not out.exists()


@pytest.mark.parametrize("op, weight, out", [
    ("Conv", [6, 2, 3, 3], 6),  # (out, in / group, kh, kw)
    ("ConvTranspose", [4, 3, 3, 3], 6),  # (in, out / group, kh, kw)
])
def test_groups_that_divide_are_read(tmp_path, op, weight, out):
    path = _save(tmp_path, _conv(op, 2, weight))
    shaped = infer(load_spec(path))
    layer = shaped.network.layers[-1]
    assert layer.attrs["groups"] == 2
    info = shaped.info[layer.name]
    assert info.output[0] == out
    assert info.params == prod(weight)  # exactly the weight the file holds, no bias


# --- windows, sizes and numbers --------------------------------------------

def _node(op, inputs=("x",), **attrs):
    return helper.make_node(op, list(inputs), ["y"], name="n", **attrs)


def _floats(name, values):
    return helper.make_tensor(name, TensorProto.FLOAT, [len(values)], values)


NEAREST = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}


@pytest.mark.parametrize("nodes, inits, says", [
    ([_node("Conv", ("x", "w"), kernel_shape=[3, 3], strides=[0, 0])], [_weight("w", [4, 4, 3, 3])],
     "(Conv): strides [0, 0]: each must be at least 1"),
    ([_node("Conv", ("x", "w"), kernel_shape=[3, 3], dilations=[0, 1])], [_weight("w", [4, 4, 3, 3])],
     "(Conv): dilations [0, 1]: each must be at least 1"),
    ([_node("Conv", ("x", "w"), kernel_shape=[3, 3], strides=[1, 1, 1])], [_weight("w", [4, 4, 3, 3])],
     "(Conv): strides [1, 1, 1]: netviz reads 2-D windows"),
    ([_node("Conv", ("x", "w"), kernel_shape=[3, 3], pads=[-1, -1, -1, -1])], [_weight("w", [4, 4, 3, 3])],
     "(Conv): pads [-1, -1, -1, -1]: padding must not be negative"),
    ([_node("Conv", ("x", "w"), kernel_shape=[5, 5])], [_weight("w", [4, 4, 3, 3])],
     "(Conv): kernel_shape [5, 5] but its weight is 4x4x3x3"),
    ([_node("ConvTranspose", ("x", "w"), kernel_shape=[3, 3], output_padding=[-1, -1])],
     [_weight("w", [4, 4, 3, 3])], "(ConvTranspose): output_padding [-1, -1]: each must be at least 0"),
    ([_node("MaxPool", kernel_shape=[0, 0])], [], "(MaxPool): kernel_shape [0, 0]: each must be at least 1"),
    ([_node("AveragePool", kernel_shape=[2, 2], strides=[0, 2])], [],
     "(AveragePool): strides [0, 2]: each must be at least 1"),
    ([_node("LRN", size=0)], [], "(LRN): size 0: an LRN needs a whole number of channels"),
    ([_node("LeakyRelu", alpha=float("nan"))], [], "(LeakyRelu): slope nan: must be a finite number"),
    ([_node("Dropout", ("x", "r"))], [helper.make_tensor("r", TensorProto.FLOAT, [], [2.0])],
     "(Dropout): ratio 2.0: the dropout probability must be between 0 and 1"),
    ([_node("Resize", ("x", "", "s"), **NEAREST)], [_floats("s", [1, 1, float("inf"), float("inf")])],
     "(Resize): scales [1.0, 1.0, inf, inf]: every scale must be a positive finite number"),
    ([_node("Resize", ("x", "", "s"), **NEAREST)], [_floats("s", [1, 1, float("nan"), float("nan")])],
     "every scale must be a positive finite number"),
    ([_node("Resize", ("x", "", "s"), **NEAREST)], [_floats("s", [1, 1, 0, 0])],
     "every scale must be a positive finite number"),
    ([_node("Resize", ("x", "", "", "z"), **NEAREST)], [helper.make_tensor("z", TensorProto.INT64, [4], [1, 4, 0, 0])],
     "(Resize): sizes [1, 4, 0, 0]: every size must be at least 1"),
])
def test_bad_windows_sizes_and_numbers_are_refused(tmp_path, nodes, inits, says):
    """What a spec's fields refuse (a stride of 0, a negative pad, a NaN slope)
    is refused in a model file too, naming the node."""
    _refused(_save(tmp_path, _model(nodes, inits)), "node 'n' ", says)


def test_shape_errors_of_a_model_name_the_file(cli, tmp_path):
    """A window larger than its input, found by the shape engine: the file
    and the layer are named (a model file has no line to point at)."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="wide", kernel_shape=[9, 9])
    path = _save(tmp_path, _model([node], [_weight("w", [4, 4, 9, 9])]))
    err = _one_line_error(cli("shapes", path), "wide: kernel 9x9 is larger than the padded input")
    assert err.startswith(f"{path}: ")


# --- the order of the nodes -----------------------------------------------

def _relu(src, dst, name):
    return helper.make_node("Relu", [src], [dst], name=name)


def test_cycle_is_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"), _relu("a", "b", "second"),
             _relu("b", "y", "third")]
    path = _save(tmp_path, _model(nodes))
    _refused(path, "node 'first' (Add): input 'b' comes from node 'second' (Relu)",
             "the graph has a cycle")


def test_node_reading_its_own_output_is_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "a"], ["a"], name="loop"), _relu("a", "y", "after")]
    path = _save(tmp_path, _model(nodes))
    _refused(path, "node 'loop' (Add): input 'a' is its own output", "cycle")


def test_dangling_input_is_refused(cli, tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["a"], name="sum"), _relu("a", "y", "r")]
    path = _save(tmp_path, _model(nodes))
    out = tmp_path / "x.svg"
    err = _one_line_error(cli("render", path, "-o", out), "node 'sum' (Add)", "input 'ghost'",
                          "produced by no node, initializer or graph input")
    assert err.startswith(f"{path}: ")
    assert not out.exists()


def test_nodes_out_of_order_are_refused(tmp_path):
    """ONNX requires the nodes topologically sorted; a graph that is acyclic
    but written out of order is refused, naming the node that comes late."""
    nodes = [_relu("a", "y", "reads_a"), _relu("x", "a", "makes_a")]
    path = _save(tmp_path, _model(nodes, output="y"))
    _refused(path, "node 'reads_a' (Relu): input 'a' is produced by node 'makes_a' (Relu), "
             "later in the file", "topological order")


def test_unnamed_nodes_are_named_by_position(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "ghost"], ["y"])]
    path = _save(tmp_path, _model(nodes))
    _refused(path, "Add node number 2: input 'ghost'")


def test_value_produced_twice_is_refused(tmp_path):
    nodes = [_relu("x", "a", "one"), helper.make_node("Sigmoid", ["x"], ["a"], name="two"),
             _relu("a", "y", "three")]
    path = _save(tmp_path, _model(nodes))
    _refused(path, "node 'two' (Sigmoid): its output 'a' is already produced by node 'one'")


def test_graph_output_nothing_produces_is_refused(tmp_path):
    path = _save(tmp_path, _model([_relu("x", "a", "r")], output="nowhere"))
    _refused(path, "graph output 'nowhere' is produced by no node")


def test_subgraph_reading_nothing_is_refused(tmp_path):
    """The branches of an If read what the outer graph produced before the If,
    and nothing else from outside."""
    def branch(name, src):
        return helper.make_graph([_relu(src, f"{name}_out", f"{name}_relu")], name, [],
                                 [helper.make_tensor_value_info(f"{name}_out",
                                                                TensorProto.FLOAT, None)])
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    nodes = [_relu("x", "a", "r"),
             helper.make_node("If", ["cond"], ["y"], name="choose",
                              then_branch=branch("then", "a"), else_branch=branch("else", "ghost"))]
    path = _save(tmp_path, _model(nodes, [cond]))
    _refused(path, "node 'else_relu' (Relu): input 'ghost' is produced by no node")


def test_sorted_graph_with_a_join_is_read(tmp_path):
    """Inputs produced earlier, the graph input read twice: read as before."""
    nodes = [_relu("x", "a", "left"), helper.make_node("Sigmoid", ["x"], ["b"], name="right"),
             helper.make_node("Add", ["a", "b"], ["y"], name="join")]
    net = load_spec(_save(tmp_path, _model(nodes)))
    join = net.layers[-1]
    assert join.type == "add"
    types = {layer.name: layer.type for layer in net.layers}
    assert sorted(types[i] for i in join.inputs) == ["relu", "sigmoid"]
