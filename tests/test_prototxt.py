"""Caffe .prototxt network definitions: the text-format reader, the mapping of
Caffe's layers onto netviz's, Caffe's pooling arithmetic, phases, and errors
located at FILE:LINE:COL."""
from __future__ import annotations

import os
import textwrap

import pytest

import netviz
from netviz.errors import ShapeError, SpecError
from netviz.models import load as load_model
from netviz.shapes import infer
from netviz.readers import load_spec
from netviz.readers.pbtext import parse
from netviz.readers.prototxt import InputShapeNeeded, load_prototxt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "caffe")
ALEXNET = os.path.join(EXAMPLES, "alexnet.prototxt")
LENET = os.path.join(EXAMPLES, "lenet.prototxt")
LENET_TRAIN = os.path.join(EXAMPLES, "lenet_train_test.prototxt")
BRANCHES = os.path.join(EXAMPLES, "inception_resnet.prototxt")

INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }\n'


@pytest.fixture
def write(tmp_path):
    def make(text: str, name: str = "net.prototxt") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)
    return make


def error(path) -> SpecError:
    with pytest.raises(SpecError) as info:
        infer(load_prototxt(path))
    return info.value


def where(exc: SpecError) -> tuple[int, int]:
    return exc.line, exc.col


# --- the examples ------------------------------------------------------------------

def test_alexnet_example_is_the_zoos_alexnet():
    caffe = infer(load_spec(ALEXNET))
    zoo = infer(load_model("alexnet"))
    assert caffe.total_params == zoo.total_params == 60_965_224
    assert caffe.total_macs == zoo.total_macs
    ours = [(l.type, caffe[l.name].output, caffe[l.name].params) for l in caffe.layers]
    theirs = [(l.type, zoo[l.name].output, zoo[l.name].params) for l in zoo.layers]
    assert ours == theirs
    # the same names too, but for the input (Caffe's "data")
    assert [l.name for l in caffe.layers][1:] == [l.name for l in zoo.layers][1:]
    assert caffe.layers[0].name == "data" and caffe.input_shape == (3, 227, 227)
    assert caffe.network.name == "AlexNet" and caffe.network.source == ALEXNET


def test_in_place_layers_chain_in_file_order():
    net = load_prototxt(ALEXNET)
    # relu1 is in place on the blob "conv1"; norm1 reads "conv1" after it: so relu1
    assert net["relu1"].inputs == ("conv1",)
    assert net["norm1"].inputs == ("relu1",)
    # fc6 -> relu6 -> drop6 all on blob "fc6"; fc7 reads the last of them
    assert net["drop6"].inputs == ("relu6",)
    assert net["fc7"].inputs == ("drop6",)
    # InnerProduct flattens a map itself: a flatten comes before fc6, none before fc7
    assert net["fc6"].inputs == ("flatten1",) and net["flatten1"].inputs == ("pool5",)
    assert [l.name for l in net if l.type == "flatten"] == ["flatten1"]
    assert net["conv2"].attrs["groups"] == 2 and net["conv3"].attrs["groups"] == 1
    assert dict(net["norm1"].attrs) == {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}
    assert net["pool1"].attrs["ceil_mode"] is True and net["pool1"].attrs["stride"] == (2, 2)
    assert net["drop6"].attrs["p"] == 0.5


def test_lenet_old_style_input():
    shaped = infer(load_prototxt(LENET))
    assert shaped.input_shape == (1, 28, 28)
    assert shaped.layers[0].name == "data"
    assert shaped["pool2"].output == (50, 4, 4)
    assert shaped["ip2"].output == (10,)
    assert shaped.total_params == 431_080  # Caffe's LeNet: 520 + 25,050 + 400,500 + 5,010


def test_train_test_file_keeps_the_test_phase_and_needs_the_size(tmp_path):
    with pytest.raises(InputShapeNeeded) as info:
        load_prototxt(LENET_TRAIN)
    exc = info.value
    assert "--input" in str(exc) and "crop_size" in str(exc)
    # the TEST-phase Data layer is the one kept (the TRAIN one is on line 7)
    assert str(exc).startswith(f"{LENET_TRAIN}:16:1: mnist:")
    shaped = infer(load_model(LENET_TRAIN, input="1x28x28"))
    assert shaped.input_shape == (1, 28, 28)
    assert shaped.total_params == 431_080
    types = [l.type for l in shaped.layers]
    assert types.count("input") == 1 and "accuracy" not in [l.name for l in shaped.layers]
    # SoftmaxWithLoss reads ip2 and the labels; only ip2 is drawn
    assert shaped.network["loss"].type == "softmax" and shaped.network["loss"].inputs == ("ip2",)


def test_branches_example():
    shaped = infer(load_prototxt(BRANCHES))
    net = shaped.network
    assert shaped.input_shape == (3, 32, 32)  # transform_param crop_size, 3 mean values
    assert net.layers[0].loc.line > 20  # the TEST Data layer, after the TRAIN one
    # Caffe rounds pooling up: (32 - 3) / 2 + 1 = 15.5 -> 16 (PyTorch's default would give 15)
    assert shaped["pool1"].output == (32, 16, 16)
    # four branches read pool1; Concat joins them on the channels
    assert set(net.consumers["pool1"]) == {"inc/1x1", "inc/3x3_reduce", "inc/5x5_reduce", "inc/pool"}
    assert net["inc/output"].inputs == ("inc/relu_1x1", "inc/relu_3x3", "inc/relu_5x5",
                                        "inc/relu_pool_proj")
    assert shaped["inc/output"].output == (16 + 24 + 8 + 8, 16, 16)
    # Eltwise SUM: the block's input and its last (in-place batch-normalised) map
    assert net["res"].type == "add" and net["res"].inputs == ("inc/output", "res/branch2b_bn")
    # Scale folds into the BatchNorm before it: scale and shift, 2 per channel
    assert "conv1_scale" not in net.by_name
    assert net["conv1_bn"].attrs["affine"] is True and shaped["conv1_bn"].params == 64
    assert net["conv1_relu"].inputs == ("conv1_bn",)
    assert shaped["pool2"].output == (56, 1, 1) and net["pool2"].type == "global_avgpool"
    assert shaped["fc10"].output == (10,) and net["fc10"].inputs == ("flatten1",)
    assert "accuracy" not in net.by_name and "label" not in net.by_name


def _googlenet(round_mode: str = "") -> str:
    """GoogLeNet (bvlc_googlenet's deploy network, without the auxiliary classifiers)."""
    rm = f" round_mode: {round_mode}" if round_mode else ""
    out = ['name: "GoogLeNet"', 'input: "data"', "input_shape { dim: 10 dim: 3 dim: 224 dim: 224 }"]

    def conv(name, bottom, n, k, pad=0, stride=1):
        out.append(f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" '
                   f"convolution_param {{ num_output: {n} kernel_size: {k} pad: {pad} stride: {stride} }} }}")
        out.append(f'layer {{ name: "{name}_relu" type: "ReLU" bottom: "{name}" top: "{name}" }}')

    def pool(name, bottom, k, s, pad=0, kind="MAX"):
        out.append(f'layer {{ name: "{name}" type: "Pooling" bottom: "{bottom}" top: "{name}" '
                   f"pooling_param {{ pool: {kind} kernel_size: {k} stride: {s} pad: {pad}{rm} }} }}")

    def inception(name, bottom, c1, r3, c3, r5, c5, pp):
        conv(f"{name}/1x1", bottom, c1, 1)
        conv(f"{name}/3x3_reduce", bottom, r3, 1)
        conv(f"{name}/3x3", f"{name}/3x3_reduce", c3, 3, 1)
        conv(f"{name}/5x5_reduce", bottom, r5, 1)
        conv(f"{name}/5x5", f"{name}/5x5_reduce", c5, 5, 2)
        pool(f"{name}/pool", bottom, 3, 1, 1)
        conv(f"{name}/pool_proj", f"{name}/pool", pp, 1)
        bottoms = "".join(f' bottom: "{name}/{b}"' for b in ("1x1", "3x3", "5x5", "pool_proj"))
        out.append(f'layer {{ name: "{name}/output" type: "Concat"{bottoms} top: "{name}/output" }}')
        return f"{name}/output"

    conv("conv1/7x7_s2", "data", 64, 7, 3, 2)
    pool("pool1/3x3_s2", "conv1/7x7_s2", 3, 2)
    conv("conv2/3x3_reduce", "pool1/3x3_s2", 64, 1)
    conv("conv2/3x3", "conv2/3x3_reduce", 192, 3, 1)
    pool("pool2/3x3_s2", "conv2/3x3", 3, 2)
    x = inception("inception_3a", "pool2/3x3_s2", 64, 96, 128, 16, 32, 32)
    x = inception("inception_3b", x, 128, 128, 192, 32, 96, 64)
    pool("pool3/3x3_s2", x, 3, 2)
    x = "pool3/3x3_s2"
    for n, cfg in (("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
                   ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
                   ("4e", (256, 160, 320, 32, 128, 128))):
        x = inception(f"inception_{n}", x, *cfg)
    pool("pool4/3x3_s2", x, 3, 2)
    x = inception("inception_5a", "pool4/3x3_s2", 256, 160, 320, 32, 128, 128)
    x = inception("inception_5b", x, 384, 192, 384, 48, 128, 128)
    pool("pool5/7x7_s1", x, 7, 1, kind="AVE")
    out.append('layer { name: "loss3/classifier" type: "InnerProduct" bottom: "pool5/7x7_s1" '
               'top: "loss3/classifier" inner_product_param { num_output: 1000 } }')
    out.append('layer { name: "prob" type: "Softmax" bottom: "loss3/classifier" top: "prob" }')
    return "\n".join(out) + "\n"


def test_googlenet_pools_round_up_as_caffe(write):
    shaped = infer(load_prototxt(write(_googlenet())))
    sizes = [shaped[p].output[1] for p in ("conv1/7x7_s2", "pool1/3x3_s2", "pool2/3x3_s2",
                                            "pool3/3x3_s2", "pool4/3x3_s2", "pool5/7x7_s1")]
    assert sizes == [112, 56, 28, 14, 7, 1]  # 112 -> 56: ceil((112 - 3) / 2) + 1
    assert shaped["inception_3a/output"].output == (256, 28, 28)
    assert shaped["inception_5b/output"].output == (1024, 7, 7)
    assert shaped.total_params == 6_998_552  # bvlc_googlenet's deploy network
    # rounded down (round_mode: FLOOR) the same pools give 55, 27, 13, 6: the 7x7 pool no longer fits
    floor = load_prototxt(write(_googlenet("FLOOR"), "floor.prototxt"))
    with pytest.raises(ShapeError, match=r"pool5/7x7_s1: window 7x7 .* input 6x6"):
        infer(floor)
    assert floor["pool1/3x3_s2"].attrs["ceil_mode"] is False


def caffe_pooled(size, kernel, stride, pad):
    """Caffe's PoolingLayer::Reshape (round_mode CEIL), written out from its C++."""
    import math
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def test_pooling_matches_caffes_arithmetic(write):
    cases = [(size, k, s, p) for size in (5, 6, 7, 12, 13, 27, 55, 56, 112)
             for k in (2, 3, 5) for s in (1, 2, 3) for p in (0, 1, 2)
             if k <= size and 2 * p <= k and s <= k]
    for i, (size, k, s, p) in enumerate(cases):
        path = write(f'input: "x" input_shape {{ dim: 1 dim: 2 dim: {size} dim: {size} }}\n'
                     f'layer {{ name: "p" type: "Pooling" bottom: "x" top: "p" pooling_param '
                     f'{{ pool: AVE kernel_size: {k} stride: {s} pad: {p} }} }}\n', f"p{i}.prototxt")
        got = infer(load_prototxt(path))["p"].output
        want = caffe_pooled(size, k, s, p)
        assert got == (2, want, want), (size, k, s, p)


def test_googlenet_built_with_torch_has_the_engines_shapes(write):
    torch = pytest.importorskip("torch")
    from netviz.build import build
    shaped = infer(load_prototxt(write(_googlenet())))
    model = build(shaped).eval()
    assert sum(p.numel() for p in model.parameters()) == shaped.total_params
    seen = {}
    for name in ("pool1/3x3_s2", "pool3/3x3_s2", "pool4/3x3_s2", "inception_4e/output"):
        module = getattr(model, model.layer_modules[name], None)
        if isinstance(module, torch.nn.Module):
            module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:])))
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 224, 224))
    assert tuple(out.shape) == (1, 1000)
    assert seen and all(shaped[n].output == shape for n, shape in seen.items())


# --- the text format ---------------------------------------------------------------

def test_text_format_syntax(write):
    path = write(r'''
        # comments anywhere
        name: 'esc\'aped' "net"   # adjacent strings are joined
        layer <
          name: "in\x70ut" type: "Input"; top: "d\"x"
          input_param { shape: { dim: [1, 3, 8, 8] } }
        >
        layer { name: "c\101" type: "Convolution", bottom: "d\"x" top: "c"
                convolution_param { num_output: 4 kernel_size: 3 bias_term: false } }
    ''')
    net = load_prototxt(path)
    assert net.name == "esc'apednet"
    assert [l.name for l in net] == ["input", "cA"]
    assert net["cA"].inputs == ("input",) and net["cA"].attrs["bias"] is False
    assert infer(net)["cA"].output == (4, 6, 6)


def test_parse_tree_keeps_positions():
    root = parse('a: 1\nb {\n  c: "x"  d: FOO\n}\n', "f")
    assert [f.name for f in root.fields] == ["a", "b"]
    b = root.all("b")[0]
    assert (b.loc.line, b.loc.col) == (2, 1)
    c, d = b.value.fields
    assert (c.value.kind, c.value.value, c.loc.line, c.loc.col) == ("string", "x", 3, 3)
    assert (d.value.kind, d.value.value, d.loc.col) == ("ident", "FOO", 11)


def test_v1_layers_format(write):
    path = write('''
        name: "old"
        input: "data"
        input_dim: 1 input_dim: 3 input_dim: 32 input_dim: 32
        layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
                 blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
                 convolution_param { num_output: 8 kernel_h: 3 kernel_w: 5 pad_w: 2 stride: 1 } }
        layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
        layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
                 pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
        layers { name: "ip" type: INNER_PRODUCT bottom: "pool1" top: "ip" inner_product_param { num_output: 10 } }
        layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip" bottom: "label" top: "loss" }
    ''')
    shaped = infer(load_prototxt(path))
    assert [l.type for l in shaped.layers] == ["input", "conv", "relu", "avgpool", "flatten", "fc", "softmax"]
    assert shaped["conv1"].output == (8, 30, 32)
    assert shaped["pool1"].output == (8, 15, 16)
    assert shaped["ip"].output == (10,)


def test_phases(write):
    body = '''
        layer { name: "a" type: "Input" top: "data" include { phase: TRAIN }
                input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
        layer { name: "b" type: "Input" top: "data" include { phase: TEST }
                input_param { shape { dim: 1 dim: 3 dim: 10 dim: 10 } } }
        layer { name: "p" type: "Pooling" bottom: "data" top: "p" exclude { phase: TEST }
                pooling_param { kernel_size: 2 stride: 2 } }
        layer { name: "q" type: "Pooling" bottom: "data" top: "q" exclude { phase: TRAIN }
                pooling_param { kernel_size: 5 stride: 5 } }
    '''
    test = infer(load_prototxt(write(body)))
    assert [l.name for l in test.layers] == ["b", "q"] and test["q"].output == (3, 2, 2)
    train = infer(load_prototxt(write('state { phase: TRAIN }\n' + textwrap.dedent(body), "t.prototxt")))
    assert [l.name for l in train.layers] == ["a", "p"] and train["p"].output == (3, 4, 4)


def test_a_file_with_train_rules_only_is_read_in_train(write):
    net = load_prototxt(write('''
        layer { name: "d" type: "Input" top: "data" include { phase: TRAIN }
                input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
        layer { name: "r" type: "ReLU" bottom: "data" top: "data" }
    '''))
    assert [l.name for l in net] == ["d", "r"]


def test_names_made_unique_and_generated(write):
    net = load_prototxt(write(INPUT + '''
        layer { name: "r" type: "ReLU" bottom: "data" top: "data" }
        layer { name: "r" type: "ReLU" bottom: "data" top: "data" }
        layer { type: "Dropout" bottom: "data" top: "data" }
        layer { name: "flatten1" type: "Sigmoid" bottom: "data" top: "data" }
        layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 3 } }
    '''))
    assert [l.name for l in net] == ["data", "r", "r_2", "dropout1", "flatten1", "flatten2", "fc"]
    assert net["fc"].inputs == ("flatten2",) and net["flatten2"].inputs == ("flatten1",)


def test_activations_and_global_max_pool(write):
    shaped = infer(load_prototxt(write(INPUT + '''
        layer { name: "l" type: "ReLU" bottom: "data" top: "data" relu_param { negative_slope: 0.1 } }
        layer { name: "t" type: "TanH" bottom: "data" top: "t" }
        layer { name: "s" type: "Sigmoid" bottom: "t" top: "s" }
        layer { name: "e" type: "ELU" bottom: "s" top: "e" }
        layer { name: "sp" type: "Split" bottom: "e" top: "e1" top: "e2" }
        layer { name: "sum" type: "Eltwise" bottom: "e1" bottom: "e2" top: "sum" eltwise_param { coeff: 1 coeff: 1 } }
        layer { name: "g" type: "Pooling" bottom: "sum" top: "g" pooling_param { pool: MAX global_pooling: true } }
        layer { name: "f" type: "Flatten" bottom: "g" top: "f" }
    ''')))
    net = shaped.network
    assert [l.type for l in net] == ["input", "leaky_relu", "tanh", "sigmoid", "elu", "add",
                                     "adaptive_maxpool", "flatten"]
    assert net["l"].attrs["slope"] == 0.1
    assert net["sum"].inputs == ("e", "e")
    assert shaped["f"].output == (3,)


@pytest.mark.parametrize("data, shape", [
    ('type: "ImageData" image_data_param { source: "l.txt" new_height: 40 new_width: 30 is_color: false }', (1, 40, 30)),
    ('type: "ImageData" transform_param { crop_size: 24 } image_data_param { new_height: 40 new_width: 30 }', (3, 24, 24)),
    ('type: "MemoryData" memory_data_param { batch_size: 8 channels: 2 height: 12 width: 14 }', (2, 12, 14)),
    ('type: "DummyData" dummy_data_param { shape { dim: 4 dim: 5 dim: 9 dim: 11 } }', (5, 9, 11)),
    ('type: "DummyData" dummy_data_param { num: 4 channels: 5 height: 9 width: 11 }', (5, 9, 11)),
    ('type: "WindowData" window_data_param { crop_size: 20 }', (3, 20, 20)),
    ('type: "Data" transform_param { crop_size: 20 mean_value: 128 }', (1, 20, 20)),
    ('type: "Data" data_param { crop_size: 16 }', (3, 16, 16)),  # where the oldest files put it
    ('type: "HDF5Data" hdf5_data_param { source: "h5.txt" batch_size: 8 }', None),
])
def test_data_layers_give_the_input_size(write, data, shape):
    path = write(f'layer {{ name: "d" {data} top: "data" top: "label" }}\n'
                 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n')
    if shape is None:
        with pytest.raises(InputShapeNeeded, match="--input"):
            load_prototxt(path)
        assert infer(load_model(path, input="3x8x8"))["r"].output == (3, 8, 8)
    else:
        assert infer(load_prototxt(path)).input_shape == shape


def test_unused_label_input_is_left_out(write):
    net = load_prototxt(write('''
        layer { name: "in" type: "Input" top: "data" top: "label"
                input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } shape { dim: 1 dim: 1 } } }
        layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
        layer { name: "loss" type: "EuclideanLoss" bottom: "c" bottom: "label" top: "loss" }
    '''))
    assert [l.name for l in net] == ["data", "c"]


def test_render_python_api():
    fig = netviz.render(ALEXNET, style="bars")
    svg = fig.svg() if callable(getattr(fig, "svg", None)) else fig.svg
    assert svg.lstrip().startswith("<") and "96*55*55" in svg


# --- errors ----------------------------------------------------------------------

CONV = 'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n  convolution_param { '


# Each case: the text, where the error must point (a marker: the first place
# the marker's text occurs, or (line, col)), and what the message must say.
@pytest.mark.parametrize("text, at, message", [
    ('layer { name: "a" type: "Input"\n', (2, 1), "'}' missing"),
    ('layer { name: "a" type: "Input" } }\n', "}\n", "expected a field name"),
    ('name: "a\n', '"a', "unterminated string"),
    ('layer { name: "a" ty%pe: "x" }\n', "%", "unexpected character '%'"),
    ('layer { name "a" }\n', '"a"', "expected ':' or '{'"),
    ('name: "a\\q"\n', '"a', "unknown escape"),
    (INPUT + 'layer { name: "c" type: "Convolutoin" bottom: "data" top: "c" }\n', '"Convolutoin"',
     "unknown Caffe layer type 'Convolutoin' (did you mean 'Convolution'?)"),
    (INPUT + 'layer { name: "d" type: "PReLU" bottom: "data" top: "d" }\n', '"PReLU"',
     "Caffe's PReLU layer is not supported"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "dat" top: "r" }\n', 'bottom: "dat"',
     "bottom 'dat' is not the top of any layer before it (did you mean 'data'?)"),
    (INPUT + CONV + 'num_output: 4 kernel_size: 3 foo: 1 } }\n', "foo",
     "c: convolution_param: unsupported parameter 'foo'"),
    (INPUT + CONV + 'num_output: 4 } }\n', 'layer { name: "c"', "c: convolution_param needs kernel_size"),
    (INPUT + CONV + 'num_output: 4 kernel_size: 3 kernel_h: 3 } }\n', "kernel_h",
     "give kernel_size or kernel_h and kernel_w, not both"),
    (INPUT + CONV + 'num_output: 4 kernel_h: 3 } }\n', "kernel_h", "kernel_h and kernel_w go together"),
    (INPUT + CONV + 'num_output: 4 kernel_size: 3 kernel_size: 3 kernel_size: 3 } }\n',
     "kernel_size: 3 } }", "3 values of kernel_size: netviz draws 2-D layers"),
    (INPUT + CONV + 'num_output: 4 num_output: 5 kernel_size: 3 } }\n', "num_output: 5",
     "'num_output' is given twice"),
    (INPUT + CONV + 'num_output: 4.5 kernel_size: 3 } }\n', "4.5", "num_output must be an integer, got 4.5"),
    (INPUT + CONV + 'num_output: 4 kernel_size: 0 } }\n', "0 }", "kernel_size must be positive, got 0"),
    (INPUT + CONV + 'num_output: 4 kernel_size: 3 axis: 2 } }\n', "2 }", "axis 2 is not supported"),
    (INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n'
     '  pooling_param { pool: STOCHASTIC kernel_size: 2 } }\n', "STOCHASTIC", "STOCHASTIC pooling is not supported"),
    (INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n'
     '  pooling_param { pool: MEAN kernel_size: 2 } }\n', "MEAN", "pool must be one of MAX, AVE, STOCHASTIC"),
    (INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n'
     '  pooling_param { pool: AVE global_pooling: true kernel_size: 2 } }\n', 'layer { name: "p"',
     "global_pooling takes no kernel_size"),
    (INPUT + 'layer { name: "n" type: "LRN" bottom: "data" top: "n"\n'
     '  lrn_param { norm_region: WITHIN_CHANNEL } }\n', "WITHIN_CHANNEL", "WITHIN_CHANNEL"),
    (INPUT + 'layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { local_size: 4 } }\n', "4 }",
     "local_size must be odd, got 4"),
    (INPUT + 'layer { name: "d" type: "Dropout" bottom: "data" top: "d" dropout_param { dropout_ratio: 1.5 } }\n',
     "1.5", "dropout_ratio must be from 0 to below 1"),
    (INPUT + 'layer { name: "e" type: "Eltwise" bottom: "data" bottom: "data" top: "e"\n'
     '  eltwise_param { operation: PROD } }\n', "PROD", "operation PROD is not supported"),
    (INPUT + 'layer { name: "e" type: "Eltwise" bottom: "data" bottom: "data" top: "e"\n'
     '  eltwise_param { coeff: 1 coeff: -1 } }\n', "-1", "coeff -1 is not supported"),
    (INPUT + 'layer { name: "e" type: "Eltwise" bottom: "data" top: "e" }\n', 'layer { name: "e"',
     "Eltwise takes at least 2 bottoms, got 1"),
    (INPUT + 'layer { name: "s" type: "Scale" bottom: "data" top: "data" }\n', 'layer { name: "s"',
     "a Scale layer is read only straight after a BatchNorm"),
    (INPUT + 'layer { name: "a" type: "Accuracy" bottom: "data" top: "acc" }\n'
     'layer { name: "r" type: "ReLU" bottom: "acc" top: "r" }\n', 'bottom: "acc" top: "r"',
     "bottom 'acc' is the output of Accuracy layer 'a', which netviz leaves out"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" include { phase: TRAIN } }\n'
     'layer { name: "q" type: "ReLU" bottom: "data" top: "q" include { phase: TEST } }\n'
     'layer { name: "s" type: "ReLU" bottom: "r" top: "s" }\n', 'bottom: "r"',
     "bottom 'r' is made only in the TRAIN phase (by 'r'); netviz reads the TEST phase"),
    ('layer { name: "d" type: "Data" top: "data" top: "label" transform_param { crop_size: 8 } }\n'
     'layer { name: "r" type: "ReLU" bottom: "label" top: "r" }\n', 'bottom: "label"',
     "bottom 'label' is the labels of data layer 'd'"),
    (INPUT + 'layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }\n'
     'layer { name: "e" type: "Eltwise" bottom: "data" bottom: "x" top: "e" }\n', 'layer { name: "x"',
     "'x' is a second input (the first is 'data')"),
    ('layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 3 dim: 16 } } }\n', "shape",
     "netviz reads 4 dims (N, C, H, W) or 2 (N, F), got 3 (1x3x16)"),
    ('input: "data"\nlayer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n', "input",
     "input 'data' has no size"),
    ('input: "data"\ninput_dim: 1 input_dim: 3 input_dim: 8\n', "input_dim",
     "1 input needs 4 'input_dim' values (N, C, H, W), got 3"),
    ('input: "a"\ninput: "b"\ninput_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n', "input_dim",
     "2 inputs need 8 'input_dim' values (N, C, H, W each), got 4"),
    ('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n',
     "input_shape", "1 input needs 1 'input_shape' block, got 2"),
    ('layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n', 'bottom', "bottom 'data' is not the top"),
    (INPUT + 'layers { name: "r" type: RELU bottom: "data" top: "r" }\n', "layers",
     "mixes 'layer' and the old 'layers'"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" lr: 1 }\n', "lr",
     "unknown layer field 'lr'"),
    (INPUT + 'layer { name: "r" bottom: "data" top: "r" }\n', 'layer { name: "r"', "r: 'type' is missing"),
    (INPUT + 'layer { name: "r" type: ReLU bottom: "data" top: "r" }\n', "ReLU",
     "type must be a quoted string, got ReLU"),
    ('nme: "x"\n' + INPUT, "nme", "unsupported parameter 'nme' (did you mean 'name'?)"),
    # the shape engine's errors point at the layer too
    (INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n'
     '  pooling_param { kernel_size: 3 pad: 2 } }\n', 'layer { name: "p"',
     "p: pad 2x2 must be at most half the window 3x3"),
])
def test_errors_are_located(write, text, at, message):
    path = write(text)
    exc = error(path)
    assert message in exc.message, exc.message
    if isinstance(at, str):
        before = text[:text.index(at)]
        at = (before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
    assert (exc.file, exc.line, exc.col) == (path, *at), str(exc)


def test_not_a_text_file(write, tmp_path):
    path = tmp_path / "weights.prototxt"
    path.write_bytes(b"\x08\x01\x00\x12")
    exc = error(str(path))
    assert "binary data" in exc.message and ".caffemodel" in exc.message
    assert error(write("  \n", "empty.prototxt")).message.startswith("empty prototxt")
    assert "defines no layers" in error(write("# only a comment\n", "comment.prototxt")).message
    assert "no such file" in str(error(str(tmp_path / "missing.prototxt")))


def test_cli_render_and_errors(cli, write, tmp_path):
    out = tmp_path / "a.png"
    res = cli("render", ALEXNET, "--style", "bars", "-o", out)
    assert res.returncode == 0, res.stderr
    from PIL import Image
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 600

    bad = write(INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
                '  convolution_param { num_output: 4 kernel_size: 3 engine: CUDNN bogus: 2 } }\n')
    res = cli("shapes", bad)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    col = len("  convolution_param { num_output: 4 kernel_size: 3 engine: CUDNN ") + 1
    assert lines[0].startswith(f"{bad}:3:{col}: c: convolution_param: unsupported parameter 'bogus'")

    res = cli("shapes", LENET_TRAIN)
    assert res.returncode == 2 and "--input" in res.stderr and "Traceback" not in res.stderr
    assert not res.stdout
    res = cli("shapes", LENET_TRAIN, "--input", "1x28x28", "--json")
    assert res.returncode == 0, res.stderr
    import json
    doc = json.loads(res.stdout)
    assert doc["input"] == [1, 28, 28] and doc["total_params"] == 431_080


@pytest.mark.parametrize("name", ["lenet.txt", "lenet.yaml"])
def test_prototxt_under_another_suffix_says_so(name, tmp_path):
    """A prototxt saved as .txt or .yaml goes to the YAML reader, which
    cannot read it: the error says what the file looks like."""
    path = tmp_path / name
    with open(LENET, encoding="utf-8") as fh:
        path.write_text(fh.read(), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:")
    assert info.value.message.endswith("(this looks like a Caffe prototxt: name it .prototxt)")
    old = tmp_path / ("old" + os.path.splitext(name)[1])  # the V1 'layers { ... }' layout
    old.write_text('name: "x"\nlayers {\n  name: "r"\n  type: RELU\n}\n', encoding="utf-8")
    with pytest.raises(SpecError, match="looks like a Caffe prototxt"):
        load_spec(old)
    # a YAML spec's own mistakes get no such hint
    plain = tmp_path / ("plain" + os.path.splitext(name)[1])
    plain.write_text("input: 3x8x8\nlayers:\n  - conv: {out: 4, kernel: 3\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(plain)
    assert "YAML syntax error" in info.value.message and "prototxt" not in info.value.message


@pytest.mark.parametrize("ctype, hint", [
    ("Frobnicate", None),  # no Caffe type is near it (difflib gives 'Concat' 0.62)
    ("Convolutoin", "Convolution"), ("Softmx", "Softmax"), ("Dropot", "Dropout"),
    ("Pool", "Pooling"), ("Concatenate", "Concat"), ("Re", None),
])
def test_type_suggestions_are_near_misses_only(write, ctype, hint):
    path = write(INPUT + f'layer {{ name: "a" type: "{ctype}" bottom: "data" top: "a" }}\n')
    message = error(path).message
    said = f"a: unknown Caffe layer type '{ctype}'"
    assert message == said + (f" (did you mean '{hint}'?)" if hint else ""), message


def test_binary_file_is_told_before_its_size(tmp_path):
    """An ONNX model (binary protobuf) named .prototxt is reported as binary,
    not as too large; a large text file still meets the size limit."""
    onnx_like = tmp_path / "resnet18.prototxt"
    with open(onnx_like, "wb") as fh:  # sparse past the header: 17 MB on paper
        fh.write(b"\x08\x07\x12\x07pytorch\x1a\x032.1:\x95\x01\n\x05input\x12\x00")
        fh.truncate(17 * 1024 * 1024)
    exc = error(str(onnx_like))
    assert exc.message.startswith("binary data (a NUL byte at offset ")
    assert "a .prototxt is a text file" in exc.message and "MB" not in exc.message
    big = tmp_path / "big.prototxt"
    with open(big, "wb") as fh:
        fh.write(b'name: "big"\n' + b"# a comment line of text\n" * 400)
        fh.truncate(17 * 1024 * 1024)
    assert error(str(big)).message == "file is 17.8 MB; a spec may be at most 16 MB"
    with open(big, "wb") as fh:  # a character cut in two where the first part ends
        fh.write(b"#" * 8191 + "\u00e9\n".encode())
        fh.truncate(17 * 1024 * 1024)
    assert error(str(big)).message == "file is 17.8 MB; a spec may be at most 16 MB"
