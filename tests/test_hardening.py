"""Regression tests: hostile names, values and files, each case once.

Every refusal is one line with exit code 2 (130 for Ctrl-C), no traceback,
and no file left behind; every output that is written parses.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from fuzzkit import check_error, check_markdown, check_svg, check_text, files_in, run, write_spec

TINY = "input: 3x32x32\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - relu\n"


def spec_file(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path, *argv, match=None):
    before = files_in(tmp_path)
    code, out, err = run(argv, tmp_path)
    check_error(code, err)
    assert files_in(tmp_path) == before, "a refusal left a file behind"
    if match:
        assert match in err, err
    return err


# --- names -------------------------------------------------------------------------

XSS = '"><svg onload=alert(1)>'


def test_report_of_a_markup_name_renders_as_text(tmp_path):
    write_spec(tmp_path, {"name": XSS, "input": "3x32x32", "layers": [{"conv": {"out": 4, "kernel": 3}}]})
    code, _, err = run(["report", "net.json", "-o", "r.md"], tmp_path)
    assert code == 0, err
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    check_markdown(text)
    import markdown_it
    rendered = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<svg" not in rendered and "&lt;svg onload=alert(1)&gt;" in rendered


def test_markdown_specials_in_names_do_not_form_markdown(tmp_path):
    name = "# h [l](javascript:x) `c` | *e*"
    write_spec(tmp_path, {"name": name, "title": name, "input": "3x32x32",
                          "layers": [{"conv": {"out": 4, "kernel": 3, "name": "a|b\n```"}}]})
    code, _, err = run(["report", "net.json", "-s", "bars", "-o", "r.md"], tmp_path)
    assert code == 0, err
    import markdown_it
    html = markdown_it.MarkdownIt("commonmark").render((tmp_path / "r.md").read_text(encoding="utf-8"))
    assert "<a " not in html and "<code>" not in html and "<em>" not in html
    assert html.count("<h1>") == 1 and "javascript:x" in html  # shown, as text


NEEDS_DOT = pytest.mark.skipif(shutil.which("dot") is None, reason="the graph style needs Graphviz's dot")


@pytest.mark.parametrize("style", ["bars", "short", "org", "stack", "blocks",
                                   pytest.param("graph", marks=NEEDS_DOT)])
def test_control_characters_in_names_give_well_formed_svg(tmp_path, style):
    write_spec(tmp_path, {"name": "n\x1b[31m\x01\ufffe", "title": "t\x7f",
                          "input": "3x32x32", "layers": [{"conv": {"out": 4, "kernel": 3, "name": "c\x1b\x02"}},
                                                         {"custom": {"kind": "k\x1b", "output": [4, 30, 30]}}]})
    code, out, err = run(["render", "net.json", "-s", style, "-o", "-", "--title", "x\x1by"], tmp_path)
    assert code == 0, err
    root = check_svg(out)
    assert "\\x1b" in "".join(root.itertext())  # shown as a visible escape


CONTROL_SPEC = {"name": "n\x1b[31m\x01\ufffe", "title": "t\x1b\x01\ufffe", "input": "3x32x32",
                "layers": [{"conv": {"out": 4, "kernel": 3, "name": "c\x1b\x01\ufffe"}},
                           {"custom": {"kind": "k\x1b\x01\ufffe", "output": [4, 30, 30]}}]}


@pytest.mark.parametrize("argv, page", [
    (["render", "net.json", "-o", "o.html"], "o.html"),  # the interactive figure
    (["report", "net.json", "-s", "bars", "-o", "r.html", "--interactive"], "r-interactive.html"),
    (["report", "net.json", "-s", "bars", "-o", "r.html"], "r.html"),
    (["gallery", "net.json", "-s", "bars", "-o", "site"], os.path.join("site", "index.html")),
])
def test_control_characters_in_names_give_well_formed_html(tmp_path, argv, page):
    """ESC, \\x01 and U+FFFE in the title and the names: every page parses, no
    raw control character is in the file, and the names show them as escapes."""
    from pagecheck import check_html as check_document, inline_svgs
    write_spec(tmp_path, CONTROL_SPEC)
    code, _, err = run(argv, tmp_path)
    assert code == 0, err
    text = (tmp_path / page).read_text(encoding="utf-8")
    check_text(text, page)
    check_document(text)
    inline_svgs(text)
    assert "\\x1b\\x01\\ufffe" in text  # shown as visible escapes


def test_default_output_name_never_leaves_the_current_folder(tmp_path):
    for name in ("../../x", "/abs/where/x", "..", "a/../../b", "\x1b[1m"):
        text = json.dumps({"name": name, "input": "3x8x8", "layers": ["relu"]})
        proc = subprocess.run([sys.executable, "-m", "netviz", "render", "-"], input=text, text=True,
                              capture_output=True, cwd=tmp_path, timeout=120)
        assert proc.returncode == 0, proc.stderr
    written = sorted(os.listdir(tmp_path))
    assert all(f.endswith("-bars.svg") and "/" not in f and not f.startswith(".") for f in written)
    assert not (tmp_path.parent / "x-bars.svg").exists() and len(written) == 5


def test_emoji_names_round_trip_through_trace(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "e.py").write_text(textwrap.dedent("""
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                setattr(self, "c\U0001F600", torch.nn.Conv2d(3, 4, 3))
            def forward(self, x):
                return getattr(self, "c\U0001F600")(x)
    """), encoding="utf-8")
    code, _, err = run(["trace", "e.py:Net", "--input", "3x8x8", "-o", "e.yaml"], tmp_path)
    assert code == 0, err
    code, out, err = run(["shapes", "e.yaml"], tmp_path)
    assert code == 0, err
    assert "c\U0001F600" in out


def test_escaped_surrogate_pair_in_json_is_the_character(tmp_path):
    (tmp_path / "n.json").write_text('{"name": "a\\ud83d\\ude00", "input": "3x8x8", "layers": ["relu"]}')
    code, out, err = run(["shapes", "n.json"], tmp_path)
    assert code == 0, err
    assert out.startswith("a\U0001F600:")


def test_lone_surrogate_is_a_located_error(tmp_path):
    (tmp_path / "n.json").write_text('{"name": "a\\ud800", "input": "3x8x8", "layers": ["relu"]}')
    assert refused(tmp_path, "shapes", "n.json").startswith("n.json:1:")


def test_messages_are_one_cut_line(tmp_path):
    spec_file(tmp_path, "input: 3x32x32\nlayers:\n  - conv: {out: 4, kernel: 3, name: \"a\\rb\\x1b\"}\n"
              "  - relu: {inputs: [\"nope\\r\\n\\x1b[2J\"]}\n")
    err = refused(tmp_path, "shapes", "net.yaml")
    assert "\\x1b" in err
    long_path = "d" * 10000 + ".yaml"
    err = refused(tmp_path, "shapes", long_path)
    assert len(err) < 2100
    err = refused(tmp_path, "shapes", "net.yaml", "--input", "x" * 100000)
    assert len(err) < 2100


# --- values --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["!!int abc", "!!int ''", "!!float abc", "!!bool maybe", "²", "!!int ²",
                                   ".inf", ".nan", "1e400", "9" * 5000, "100000000000000"])
def test_bad_yaml_values_are_located(tmp_path, value):
    spec_file(tmp_path, f"input: 3x32x32\nlayers:\n  - conv: {{out: {value}, kernel: 3}}\n")
    assert refused(tmp_path, "shapes", "net.yaml").startswith("net.yaml:3:17: ")


@pytest.mark.parametrize("layer, match", [
    ("upsample: .inf", "finite"), ("upsample: 1e300", "larger than"),
    ("dropout: {p: .nan}", "finite"),
    ("custom: {kind: x, output: [1000000000000, 1000000000000, 1000000000000]}", "2^40"),
    ("fc: 1000000000000", "2^40"),
])
def test_huge_and_infinite_sizes_are_refused(tmp_path, layer, match):
    spec_file(tmp_path, f"input: 3x32x32\nlayers:\n  - {layer}\n")
    for argv in (["shapes", "net.yaml"], ["render", "net.yaml", "-o", "o.svg"],
                 ["report", "net.yaml", "-o", "r.md"]):
        refused(tmp_path, *argv, match=match)


def test_fan_in_is_bounded(tmp_path):
    layers = ["  - relu: {name: r%d, inputs: [input]}" % i for i in range(300)]
    text = "input: 3x8x8\nlayers:\n" + "\n".join(layers) + "\n  - concat: {inputs: [%s]}\n" % ", ".join(
        f"r{i}" for i in range(300))
    spec_file(tmp_path, text)
    refused(tmp_path, "shapes", "net.yaml", match="at most 256")


@pytest.mark.parametrize("argv", [["report", "net.yaml", "-o", "r.md"], ["report", "net.yaml", "-o", "r.html"],
                                  ["gallery", "net.yaml", "-o", "site"]])
def test_fan_in_of_2000_is_refused_before_any_page_is_drawn(tmp_path, argv):
    """A concat of 2,000 inputs: refused by the shape engine, located at the
    layer, before any style lays out (or any page draws) the fan-in."""
    text = "input: 3x8x8\nlayers:\n" + "".join(f"  - relu: {{name: r{i}, inputs: [input]}}\n"
                                                for i in range(2000))
    text += "  - concat: {inputs: [%s]}\n" % ", ".join(f"r{i}" for i in range(2000))
    spec_file(tmp_path, text)
    err = refused(tmp_path, *argv, match="2000 inputs; a layer reads at most 256")
    assert err.startswith("net.yaml:2003:5: ")


def test_large_drawn_sizes_are_capped(tmp_path):
    spec_file(tmp_path, "input: 3x32x32\nlayers:\n  - custom: {kind: x, output: [1000000000000]}\n  - relu\n")
    for style in ("bars", "short", "org", "stack", "blocks"):
        code, out, err = run(["render", "net.yaml", "-s", style, "-o", "-"], tmp_path)
        assert code == 0, err
        root = check_svg(out)
        assert float(root.get("width")) <= 20000 and float(root.get("height")) <= 20000


def test_prototxt_huge_num_output(tmp_path):
    head = 'name: "x"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 32 dim: 32 }\n'
    spec_file(tmp_path, head + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
              'convolution_param { num_output: ' + "9" * 5000 + ' kernel_size: 3 } }\n', "n.prototxt")
    refused(tmp_path, "shapes", "n.prototxt", match="too large")


@pytest.mark.parametrize("opt", [["--scale", "inf"], ["--scale", "nan"], ["--width", "inf"],
                                 ["--width", "nan"], ["--scale", "1e6"], ["--width", "-1"]])
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_scale_and_width_must_be_finite(tmp_path, opt, fmt):
    refused(tmp_path, "render", "lenet5", *opt, "-o", f"o.{fmt}", match=opt[0])


@pytest.mark.parametrize("command", [["gallery", "lenet5", "-o", "site"], ["report", "lenet5", "-o", "r.md"]])
def test_unknown_theme_in_pages(tmp_path, command):
    refused(tmp_path, *command, "--theme", "nope", match="unknown theme")


# --- files ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["yaml", "json", "prototxt", "onnx"])
def test_fifo_is_refused_at_once(tmp_path, suffix):
    """Nothing writes to the pipe: a reader that opened it would wait forever."""
    os.mkfifo(tmp_path / f"f.{suffix}")
    proc = subprocess.run([sys.executable, "-m", "netviz", "shapes", f"f.{suffix}"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "FIFO" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("stdin, match", [(b"\x00\x01binary", "binary data"), (b"\xff\xfe", "not UTF-8"),
                                          (None, "closed"), (b"", "no spec")])
def test_bad_standard_input(tmp_path, stdin, match):
    kw = {"stdin": subprocess.DEVNULL} if stdin == b"" else {"input": stdin} if stdin is not None else {}
    cmd = [sys.executable, "-m", "netviz", "shapes", "-"]
    if stdin is None:  # a closed standard input
        cmd = ["sh", "-c", f"'{sys.executable}' -m netviz shapes - <&-"]
    proc = subprocess.run(cmd, capture_output=True, cwd=tmp_path, timeout=60, **kw)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and match in err and err.count("\n") == 1, err


def test_standard_input_has_the_file_size_limit(tmp_path):
    from netviz.readers.files import MAX_BYTES
    data = b"# " + b"x" * (MAX_BYTES + 10) + b"\ninput: 3x8x8\nlayers: [relu]\n"
    proc = subprocess.run([sys.executable, "-m", "netviz", "shapes", "-"], input=data, capture_output=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and b"at most 16 MB" in proc.stderr


def test_60_mb_on_standard_input_is_refused_like_the_file(tmp_path):
    """Standard input is read only up to the limit, and refused as a file of
    the same size is, each in one located line."""
    data = b"# " + b"x" * (60 * 1024 * 1024) + b"\ninput: 3x8x8\nlayers: [relu]\n"
    (tmp_path / "big.yaml").write_bytes(data)
    piped = subprocess.run([sys.executable, "-m", "netviz", "report", "-", "-o", "r.md"], input=data,
                           capture_output=True, cwd=tmp_path, timeout=120)
    filed = subprocess.run([sys.executable, "-m", "netviz", "report", "big.yaml", "-o", "r.md"],
                           capture_output=True, cwd=tmp_path, timeout=120)
    for proc, where in ((piped, "<stdin>:1:1: "), (filed, "big.yaml:1:1: ")):
        err = proc.stderr.decode()
        assert proc.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(where) and err.endswith("a spec may be at most 16 MB\n"), err
    assert sorted(os.listdir(tmp_path)) == ["big.yaml"]


@pytest.mark.parametrize("argv", [["render", "net.svg", "-o", "net.svg"], ["report", "net.md", "-o", "net.md"]])
def test_same_file_as_input_and_output_is_refused(tmp_path, argv):
    (tmp_path / argv[1]).write_text(TINY)
    refused(tmp_path, *argv, match="it is the input")
    assert (tmp_path / argv[1]).read_text() == TINY


@pytest.mark.parametrize("opt", ["--metrics", "--plot"])
def test_train_outputs_never_replace_the_spec(tmp_path, opt):
    spec_file(tmp_path, TINY)
    refused(tmp_path, "train", "net.yaml", opt, "net.yaml", match="it is the input")


def test_report_is_all_or_nothing(tmp_path):
    (tmp_path / "r-bars.svg").write_text("old bars")
    (tmp_path / "r-stack.svg").mkdir()  # one destination cannot be written
    code, _, err = run(["report", "lenet5", "-o", "r.md"], tmp_path)
    check_error(code, err)
    assert (tmp_path / "r-bars.svg").read_text() == "old bars" and not (tmp_path / "r.md").exists()
    assert sorted(os.listdir(tmp_path)) == ["r-bars.svg", "r-stack.svg"]


# --- templates -------------------------------------------------------------------------

@pytest.mark.parametrize("body, match", [("ok\n{{ 1/0 }}\n", "report.md.j2:2: ZeroDivisionError"),
                                         ("a\n{% include 'report.md.j2' %}\n", "report.md.j2:2:"),
                                         ("{{ model.nothing }}", "report.md.j2:1:")])
def test_template_errors_are_one_line(tmp_path, body, match):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "report.md.j2").write_text(body)
    refused(tmp_path, "report", "lenet5", "-s", "bars", "-o", "r.md", "--template-dir", "tpl", match=match)


# --- training settings -------------------------------------------------------------------

@pytest.mark.parametrize("opt", [["--momentum", "nan"], ["--momentum", "inf"], ["--seed", str(10 ** 30)],
                                 ["--max-time", "inf"], ["--max-time", "nan"], ["--lr", "nan"],
                                 ["--weight-decay", "-1"]])
def test_train_settings_are_checked_before_work(tmp_path, opt):
    spec_file(tmp_path, TINY)
    refused(tmp_path, "train", "net.yaml", "--no-plot", *opt, match=opt[0])


@pytest.mark.parametrize("damage", ["missing", "wrong_type", "rng"])
def test_resume_of_a_damaged_checkpoint(tmp_path, damage):
    torch = pytest.importorskip("torch")
    spec_file(tmp_path, "input: 3x8x8\nlayers:\n  - conv: {out: 2, kernel: 3}\n  - flatten\n  - fc: 10\n")
    code, _, err = run(["train", "net.yaml", "--steps", "2", "--skip-checks", "--no-plot", "--train-size", "64",
                        "--val-size", "32", "--batch-size", "8", "--checkpoint-dir", "ck", "--device", "cpu",
                        "--progress", "off"], tmp_path)
    assert code == 0, err
    path = tmp_path / "ck" / "last.pt"
    payload = torch.load(path, weights_only=True)
    if damage == "missing":
        del payload["optimizer"]
    elif damage == "wrong_type":
        payload["step"] = "three"
    else:
        payload["rng"] = {"ranks": [{"cpu": 5}]}
    torch.save(payload, path)
    refused(tmp_path, "train", "net.yaml", "--steps", "4", "--skip-checks", "--no-plot", "--train-size", "64",
            "--val-size", "32", "--batch-size", "8", "--checkpoint-dir", "ck", "--resume", "--device", "cpu",
            "--progress", "off", match="--resume")


# --- user code -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, match", [
    ("raise BaseException('boom')", "raised BaseException: boom"),
    ("raise GeneratorExit()", "raised GeneratorExit"),
    ("import sys; sys.exit(3)", "sys.exit(3)"),
    ("import os; os._exit(0)", "os._exit(0)"),
    ("return None", "traced no layer"),
    ("return 5", "traced no layer"),
])
def test_user_model_code_that_misbehaves(tmp_path, body, match):
    pytest.importorskip("torch")
    (tmp_path / "u.py").write_text("import torch\nclass Net(torch.nn.Module):\n"
                                   f"    def forward(self, x):\n        {body}\n")
    proc = subprocess.run([sys.executable, "-m", "netviz", "render", "u.py:Net", "--input", "3x8x8",
                           "-o", "u.svg"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and match in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["u.py"]


def test_user_code_changing_directory_does_not_move_outputs(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "sub").mkdir()
    (tmp_path / "cd.py").write_text("import os\nos.chdir('sub')\nimport torch\nNet = torch.nn.ReLU\n")
    code, _, err = run(["render", "cd.py:Net", "--input", "3x8x8", "-o", "o.svg"], tmp_path)
    assert code == 0, err
    assert (tmp_path / "o.svg").exists() and not (tmp_path / "sub" / "o.svg").exists()


def _interrupt_after(tmp_path, argv, marker):
    """Start ``netviz ARGV``, send SIGINT once MARKER exists (the model's code
    wrote it), and return the finished process."""
    import time
    proc = subprocess.Popen([sys.executable, "-m", "netviz", *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not (tmp_path / marker).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_during_trace_leaves_no_file(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "slow.py").write_text(textwrap.dedent("""
        import time, torch
        class Net(torch.nn.Module):
            def forward(self, x):
                open("started", "w").close()
                time.sleep(60)
                return x.relu()
    """))
    code, err = _interrupt_after(tmp_path, ["trace", "slow.py:Net", "--input", "3x8x8", "-o", "t.yaml"],
                                 "started")
    # one line (click ends the terminal's "^C" line first, hence the strip)
    assert code == 130 and "Traceback" not in err and err.strip().count("\n") == 0, err
    assert sorted(os.listdir(tmp_path)) in (["slow.py", "started"], ["__pycache__", "slow.py", "started"])


def test_ctrl_c_during_checkpoint_save_exits_130(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from netviz.train import checkpoint
    spec_file(tmp_path, "input: 3x8x8\nlayers:\n  - conv: {out: 2, kernel: 3}\n  - flatten\n  - fc: 10\n")
    real = torch.save

    def interrupted_save(obj, fh, *a, **k):
        real(obj, fh, *a, **k)
        raise KeyboardInterrupt  # Ctrl-C while the file is being written

    monkeypatch.setattr(torch, "save", interrupted_save)
    code, _, err = run(["train", "net.yaml", "--steps", "2", "--skip-checks", "--no-plot", "--train-size", "64",
                        "--val-size", "32", "--batch-size", "8", "--checkpoint-dir", "ck", "--device", "cpu",
                        "--progress", "off"], tmp_path)
    assert code == 130, err
    assert "Traceback" not in err
    assert not os.path.exists(checkpoint.path_in(tmp_path / "ck"))  # no half-written checkpoint
    assert [f for f in os.listdir(tmp_path / "ck") if f.startswith(".netviz-")] == []


def test_long_kind_and_name_are_cut_quickly(tmp_path):
    import time
    spec_file(tmp_path, "input: 3x32x32\nlayers:\n  - custom: {kind: " + "k" * 100000 + ", output: [3, 32, 32]}\n"
              "  - relu: {name: " + "n" * 100000 + "}\n")
    for style in ("bars", "short", "org", "stack", "blocks"):
        start = time.perf_counter()
        code, out, err = run(["render", "net.yaml", "-s", style, "-o", "-"], tmp_path)
        assert code == 0, err
        assert time.perf_counter() - start < 20, style  # was past 60 s (one measurement per character)
        root = check_svg(out)
        assert float(root.get("width")) <= 20000
