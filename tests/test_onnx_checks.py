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
