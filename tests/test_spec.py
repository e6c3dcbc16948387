"""The YAML/JSON spec reader: the forms a spec may take, and every kind of
bad input, each answered with one located line and exit code 2."""
from __future__ import annotations

import json
import os

import pytest

from netviz.errors import SpecError
from netviz.shapes import infer
from netviz.readers import load_spec, parse_shape, parse_spec


def fails(cli, tmp_path, content, name="net.yaml"):
    """Run `netviz shapes FILE` on content; return its one line of stderr."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    proc = cli("shapes", path, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.endswith("\n") and proc.stderr.count("\n") == 1, proc.stderr
    line = proc.stderr.rstrip("\n")
    assert line.startswith(f"{path}:"), line
    return line[len(str(path)) + 1:]  # "LINE:COL: message"


# --- bad input -------------------------------------------------------------------

HEAD = "name: t\ninput: 3x8x8\nlayers:\n  - relu\n"  # the next layer is on line 5


def test_yaml_syntax_error(cli, tmp_path):
    msg = fails(cli, tmp_path, HEAD + "  - conv: {out: 4, kernel: 3]\n  - relu\n")
    assert msg == "5:29: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping)"


def test_yaml_tab_indent(cli, tmp_path):
    msg = fails(cli, tmp_path, HEAD + "\t- relu\n")
    assert msg.startswith("5:1: YAML syntax error: ") and msg.endswith("YAML indents with spaces, not tabs")


def test_unknown_layer_type_suggests(cli, tmp_path):
    assert fails(cli, tmp_path, HEAD + "  - convv: {out: 4, kernel: 3}\n") == \
        "5:5: unknown layer type 'convv' (did you mean 'conv'?)"
    assert fails(cli, tmp_path, HEAD + "  - maxpol: 2\n") == \
        "5:5: unknown layer type 'maxpol' (did you mean 'maxpool'?)"


def test_unknown_field_suggests(cli, tmp_path):
    msg = fails(cli, tmp_path, HEAD + "  - conv: {out: 4, kernal: 3}\n")
    assert msg.startswith("5:20: conv has no field 'kernal' (did you mean 'kernel'?); its fields are out, kernel,")


def test_missing_field(cli, tmp_path):
    assert fails(cli, tmp_path, HEAD + "  - conv: {out: 4}\n") == \
        "5:5: conv needs 'kernel' (kernel size: n or [h, w])"


@pytest.mark.parametrize("layer, expected", [
    ("conv: {out: four, kernel: 3}", "5:17: conv 'out' must be an integer, got 'four'"),
    ("conv: {out: 4.5, kernel: 3}", "5:17: conv 'out' must be an integer, got 4.5"),
    ("conv: {out: 4, kernel: [3, 3, 3]}",
     "5:28: conv 'kernel' must be an integer or a pair [h, w] of integers, got [3, 3, 3]"),
    ("conv: {out: 4, kernel: 3, bias: 1}", "5:37: conv 'bias' must be true or false, got 1"),
    ("dropout: {p: 1.5}", "5:18: dropout 'p' must be between 0 and 1, got 1.5"),
    ("relu: {name: [a, b]}", "5:18: 'name' must be a string, got ['a', 'b']"),
])
def test_wrong_typed_field(cli, tmp_path, layer, expected):
    assert fails(cli, tmp_path, HEAD + f"  - {layer}\n") == expected


@pytest.mark.parametrize("layer, expected", [
    ("conv: {out: 0, kernel: 3}", "5:17: conv 'out' must be positive, got 0"),
    ("conv:\n      out: 4\n      kernel: -3", "7:15: conv 'kernel' must be positive, got -3"),
    ("maxpool: {kernel: 2, stride: [1, 0]}", "5:34: maxpool 'stride' must be positive, got [1, 0]"),
    ("conv: {out: 4, kernel: 3, pad: -1}", "5:36: conv 'pad' must not be negative, got -1"),
])
def test_zero_or_negative_size(cli, tmp_path, layer, expected):
    assert fails(cli, tmp_path, HEAD + f"  - {layer}\n") == expected


def test_zero_input_size(cli, tmp_path):
    assert fails(cli, tmp_path, "input: 3x0x8\nlayers:\n  - relu\n") == \
        "1:8: 'input': every size must be positive, got 3x0x8"


def test_reference_to_a_missing_layer(cli, tmp_path):
    assert fails(cli, tmp_path, HEAD + "  - add: {inputs: [relu1, nope]}\n") == \
        "5:5: add1: no layer named 'nope'"
    assert fails(cli, tmp_path, HEAD + "  - add: {inputs: [relu1, rleu1]}\n") == \
        "5:5: add1: no layer named 'rleu1' (did you mean 'relu1'?)"


def test_cycle(cli, tmp_path):
    text = HEAD + ("  - add: {name: a, inputs: [relu1, c]}\n  - relu: {name: b, inputs: a}\n"
                   "  - relu: {name: c, inputs: b}\n")
    assert fails(cli, tmp_path, text) == \
        "5:5: a: the layers form a cycle (a reads c, c reads b, b reads a); a network is a graph without loops"


def test_duplicate_name(cli, tmp_path):
    assert fails(cli, tmp_path, HEAD + "  - relu: {name: a}\n  - sigmoid: {name: a}\n") == \
        "6:5: duplicate layer name 'a' (first used at line 5)"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(cli, tmp_path, content):
    assert fails(cli, tmp_path, content) == "1:1: empty spec: expected a mapping with 'input' and 'layers'"


def test_binary_file(cli, tmp_path):
    content = b"input: 3x8x8\nlayers:\n  - relu\x00\x01\x02\xff\n"
    assert fails(cli, tmp_path, content) == \
        "3:9: binary data (a NUL byte at offset 29): a spec is a YAML or JSON text file"


def test_not_utf8(cli, tmp_path):
    content = "input: 3x8x8\nlayers:\n  - relu: {label: caf\u00e9}\n".encode("latin-1")
    assert fails(cli, tmp_path, content) == \
        "3:22: not UTF-8 text (byte 0xe9): a spec is a YAML or JSON text file"


def test_control_character(cli, tmp_path):
    assert fails(cli, tmp_path, HEAD + "  - \x07relu\n") == \
        "5:5: control character U+0007 is not allowed in a YAML spec: a spec is a text file"


def test_50_mb_file(cli, tmp_path):
    path = tmp_path / "net.yaml"
    with open(path, "wb") as fh:  # sparse: nothing is written but the size
        fh.truncate(50 * 1024 * 1024)
    proc = cli("shapes", path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"{path}:1:1: file is 52.4 MB; a spec may be at most 16 MB\n"


def test_file_that_does_not_exist(cli, tmp_path):
    proc = cli("shapes", tmp_path / "missing.yaml")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"netviz: {tmp_path / 'missing.yaml'}: no such file\n"


def test_directory(cli, tmp_path):
    (tmp_path / "d.yaml").mkdir()
    proc = cli("shapes", tmp_path / "d.yaml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"netviz: {tmp_path / 'd.yaml'}: is a directory, not a spec file\n"


def test_json_spec_is_accepted(cli, tmp_path):
    spec = {"name": "tiny", "input": [3, 8, 8],
            "layers": [{"conv": {"out": 4, "kernel": 3, "pad": 1}}, "relu",
                       {"type": "maxpool", "kernel": 2}, {"lrn": {"alpha": 1e-05}},
                       "flatten", {"fc": 10}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(spec, indent=2))
    proc = cli("shapes", path, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == "tiny"
    assert [(layer["type"], layer["output"]) for layer in data["layers"]] == [
        ("input", [3, 8, 8]), ("conv", [4, 8, 8]), ("relu", [4, 8, 8]), ("maxpool", [4, 4, 4]),
        ("lrn", [4, 4, 4]), ("flatten", [64]), ("fc", [10])]
    assert load_spec(path)["lrn1"].get("alpha") == 1e-05  # JSON's exponent form is a number


def test_json_error_is_located(cli, tmp_path):
    text = '{\n  "input": "3x8x8",\n  "layers": [\n    "relu"\n    {"fc": 10}\n  ]\n}\n'
    assert fails(cli, tmp_path, text, "net.json") == \
        "5:5: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"
    text = '{\n  "input": "3x8x8",\n  "layers": [\n    "relu",\n    {"fc": "ten"}\n  ]\n}\n'
    assert fails(cli, tmp_path, text, "net.json") == "5:12: fc 'out' must be an integer, got 'ten'"


# --- specs are data ------------------------------------------------------------------

@pytest.mark.parametrize("text, where", [
    (HEAD + '  - relu: {label: !!python/object/apply:os.system ["touch pwned"]}\n', "5:19"),
    (HEAD + '  - !!python/object/apply:os.system ["touch pwned"]\n', "5:5"),
    ('!!python/object/apply:os.system ["touch pwned"]\n', "1:1"),
    ('name: !!python/object/apply:os.system ["touch pwned"]\ninput: 3x8x8\nlayers: [relu]\n', "1:7"),
    (HEAD + '  - relu: !!python/name:os.system\n', "5:11"),
])
def test_python_tags_are_refused_not_run(cli, tmp_path, text, where):
    msg = fails(cli, tmp_path, text)
    assert msg.startswith(f"{where}: YAML tag !!python/"), msg
    assert "is not allowed: a spec is plain data" in msg
    assert not (tmp_path / "pwned").exists()


def test_custom_tag_is_refused():
    with pytest.raises(SpecError, match=r"^x:5:18: YAML tag !secret is not allowed"):
        parse_spec(HEAD + "  - relu: {name: !secret a}\n", "x")


def test_self_referencing_alias():
    with pytest.raises(SpecError, match=r"^x:1:8: a YAML alias refers to itself"):
        parse_spec("input: &a [3, *a]\nlayers: [relu]\n", "x")


def test_alias_bomb_is_read_once():
    """Nested aliases that would expand to 10**10 items are read once each."""
    value = "&b0 [x, x, x, x, x, x, x, x, x, x]"
    for i in range(1, 10):
        value = f"&b{i} [{value}, {', '.join([f'*b{i - 1}'] * 9)}]"
    with pytest.raises(SpecError, match=r"^x:5:19: 'label' must be a string, got \[\[\.\.\.\], \[\.\.\.\], .{0,60}$"):
        parse_spec(HEAD + f"  - relu: {{label: {value}}}\n", "x")


def test_duplicate_keys():
    with pytest.raises(SpecError, match=r"^x:5:31: conv field 'out' is given twice"):
        parse_spec(HEAD + "  - conv: {out: 4, kernel: 3, out: 5}\n", "x")
    with pytest.raises(SpecError, match=r"^x:4:1: 'input' is given twice \(first at line 1\)"):
        parse_spec("input: 3x8x8\nlayers: [relu]\nname: n\ninput: 3x9x9\n", "x")


def test_nesting_too_deep():
    with pytest.raises(SpecError, match=r"^x:"):
        parse_spec("input: 3x8x8\nlayers:\n  - relu: {label: " + "[" * 5000 + "]" * 5000 + "}\n", "x")


# --- the forms a spec may take -------------------------------------------------------

def test_short_forms():
    net = parse_spec("input: 3x227x227\nlayers:\n  - conv: {out: 96, kernel: 11, stride: 4}\n"
                     "  - relu\n  - maxpool: 3\n  - flatten\n  - fc: 4096\n  - dropout: 0.3\n"
                     "  - softmax:\n")
    assert [layer.type for layer in net] == ["input", "conv", "relu", "maxpool", "flatten", "fc",
                                             "dropout", "softmax"]
    assert [layer.name for layer in net] == ["input", "conv1", "relu1", "maxpool1", "flatten1",
                                             "fc1", "dropout1", "softmax1"]
    conv = net["conv1"]
    assert (conv.get("out"), conv.get("kernel"), conv.get("stride"), conv.get("pad"),
            conv.get("groups")) == (96, (11, 11), (4, 4), (0, 0), 1)
    assert net["maxpool1"].get("kernel") == net["maxpool1"].get("stride") == (3, 3)
    assert net["fc1"].get("out") == 4096 and net["dropout1"].get("p") == 0.3
    assert all(layer.inputs == (prev.name,) for prev, layer in zip(net.layers, net.layers[1:]))
    result = infer(net)
    assert result["conv1"].output == (96, 55, 55) and result["maxpool1"].output == (96, 18, 18)


def test_long_form_hxw_name_and_label():
    net = parse_spec("input: 3x20x30\nlayers:\n"
                     "  - {type: conv, name: c1, label: First, out: 8, kernel: [3, 5], pad: [1, 2],"
                     " stride: [1, 2]}\n"
                     "  - type: maxpool\n    kernel: [2, 3]\n    name: p1\n", "x")
    c1, p1 = net["c1"], net["p1"]
    assert (c1.type, c1.label, c1.get("kernel"), c1.get("pad"), c1.get("stride")) == \
        ("conv", "First", (3, 5), (1, 2), (1, 2))
    assert (c1.loc.file, c1.loc.line, c1.loc.col) == ("x", 3, 5)
    assert p1.label is None and p1.get("stride") == (2, 3) and p1.loc.line == 4
    result = infer(net)
    assert result["c1"].output == (8, 20, 15)  # (30 + 4 - 5) // 2 + 1 = 15
    assert result["p1"].output == (8, 10, 5)
    assert result["c1"].params == 8 * 3 * 3 * 5 + 8


def test_block_style_fields_and_aliases_of_types():
    net = parse_spec("input: 1x8x8\nlayers:\n  - Conv2d:\n      out: 2\n      kernel: 3\n"
                     "  - linear: 5\n  - BN\n")
    assert [layer.type for layer in net] == ["input", "conv", "fc", "batchnorm"]


def test_plain_list_with_input_layer():
    net = parse_spec("- input: 1x28x28\n- flatten\n- fc: 10\n", "list.yaml", default_name="list")
    assert net.name == "list" and [layer.type for layer in net] == ["input", "flatten", "fc"]
    assert infer(net)["fc1"].output == (10,)


def test_top_level_fields():
    net = parse_spec("name: n\ntitle: T\ndescription: D\nstreams: 2\ninput: 3x8x8\nlayers: [relu]\n")
    assert (net.name, net.title, net.description, net.streams) == ("n", "T", "D", 2)


def test_branching_inputs_are_ordered_topologically():
    net = parse_spec("input: 3x8x8\nlayers:\n  - add: {name: s, inputs: [a, b]}\n"
                     "  - relu: {name: a, inputs: input}\n  - sigmoid: {name: b, inputs: input}\n")
    assert [layer.name for layer in net] == ["input", "a", "b", "s"]
    assert net["s"].loc.line == 3


@pytest.mark.parametrize("text, expected", [
    ("3x227x227", (3, 227, 227)), ("3*224*224", (3, 224, 224)), ("3 x 8 x 8", (3, 8, 8)),
    ("3\u00d78\u00d78", (3, 8, 8)), ([3, 8, 8], (3, 8, 8)), (4096, (4096,)), ("(3, 8, 8)", (3, 8, 8)),
])
def test_parse_shape(text, expected):
    assert parse_shape(text) == expected


@pytest.mark.parametrize("bad", ["3x0x8", "three", True, [], [3, "8"], "3x-1x2", 0])
def test_parse_shape_rejects(bad):
    with pytest.raises(ValueError):
        parse_shape(bad)


def test_bad_input_option(cli):
    proc = cli("shapes", "alexnet", "--input", "3xbig")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == "netviz: --input: expected a shape like 3x227x227, got '3xbig'\n"


def test_zoo_specs_are_readable_by_the_reader():
    zoo = os.path.join(os.path.dirname(__file__), "..", "netviz", "zoo")
    for name in os.listdir(zoo):
        if name.endswith(".yaml"):
            net = load_spec(os.path.join(zoo, name))
            assert net.layers[0].type == "input"
            assert all(layer.loc is not None and layer.loc.line > 1 for layer in net.layers)


# --- docs/spec.md stays true ---------------------------------------------------------

DOCS_SPEC = os.path.join(os.path.dirname(__file__), "..", "docs", "spec.md")


def _doc():
    with open(DOCS_SPEC, encoding="utf-8") as fh:
        return fh.read()


def test_docs_layer_reference_is_the_generated_one():
    from netviz.layers import reference_markdown
    doc = _doc()
    begin, end = "<!-- layer types: begin -->\n", "<!-- layer types: end -->\n"
    assert doc.count(begin) == doc.count(end) == 1
    assert doc[doc.index(begin) + len(begin):doc.index(end)] == reference_markdown(), \
        "docs/spec.md's layer types differ from netviz/layers.py: paste reference_markdown() in"


def test_docs_alexnet_example_is_the_zoo_spec():
    doc = _doc()
    block = doc.split(":caption: alexnet.yaml\n\n", 1)[1].split("```", 1)[0]
    zoo = os.path.join(os.path.dirname(__file__), "..", "netviz", "zoo", "alexnet.yaml")
    with open(zoo, encoding="utf-8") as fh:
        assert block == fh.read()


def test_docs_224_warning_is_the_engines():
    from netviz.models import shaped
    conv1 = next(str(w) for w in shaped("alexnet", input="3x224x224").warnings if w.layer == "conv1")
    assert f"warning: {conv1}\n" in _doc()


def test_a_spec_that_never_ends_is_refused_without_reading_it_all():
    from netviz.errors import SpecError
    from netviz.readers import load_spec
    with pytest.raises(SpecError, match=r"/dev/zero: is a device, not a spec file"):
        load_spec("/dev/zero")  # its size reads as 0: a device is refused before any read


def test_a_folder_named_like_a_zoo_model_does_not_hide_it(tmp_path, cli):
    (tmp_path / "alexnet").mkdir()
    r = cli("shapes", "alexnet", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_a_repeated_type_key_is_refused(tmp_path, cli):
    spec = tmp_path / "t.yaml"
    spec.write_text("input: 3x8x8\nlayers:\n  - {type: conv, out: 4, kernel: 1, type: relu}\n")
    r = cli("shapes", spec)
    assert r.returncode == 2 and r.stderr.strip() == f"{spec}:3:37: duplicate key 'type'"
