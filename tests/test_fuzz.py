"""Fuzzing every command and output format with hostile names, hostile values
and mutated zoo specs (hypothesis).

Whatever the input, netviz either succeeds with outputs that parse (SVG
well-formed XML, HTML and rendered Markdown with only the tags netviz writes
and no event attribute, no raw control character anywhere) or refuses with
one line and exit code 2, leaving no file behind; never a traceback.

A default run tries a bounded number of examples (under a minute);
``pytest -m fuzz`` runs long (NETVIZ_FUZZ_EXAMPLES examples per test, 300
unless set).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netviz import styles as style_table
from netviz.layers import BY_NAME
from fuzzkit import (HOSTILE, check_error, check_html, check_markdown, check_pdf, check_png,
                     check_stderr_lines, check_svg, files_in, run, write_spec)

pytestmark = pytest.mark.fuzz

LONG = int(os.environ.get("NETVIZ_FUZZ_EXAMPLES", "0"))


def _settings(default_examples: int):
    """DEFAULT_EXAMPLES (fixed, the same every run) in a default run; LONG
    fresh ones each under ``pytest -m fuzz``."""
    return settings(max_examples=LONG or default_examples, deadline=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck))


FUZZ = _settings(30)          # tests of a few commands each
FUZZ_EVERY = _settings(5)     # the test of every command and format (about 2 s an example)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STYLES = list(style_table.STYLES)
BASES = [os.path.join(ROOT, "netviz", "zoo", f"{n}.yaml") for n in ("lenet5", "alexnet", "zfnet")] + \
        [os.path.join(ROOT, "examples", f"{n}.yaml") for n in ("tiny", "residual", "inception", "lstm", "unet")]

# --- hostile text --------------------------------------------------------------

_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
    list("\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\u200b\u200c\u200d\u2060\u202a\u202e\u2066\u2069"
         "\ufeff\ufffe\uffff<>&\"'`*_[]()#|{}%$\\!~:/.\r\n\t"))
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(_ALPHABET, min_size=1, max_size=40),
                         st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=4).map("".join))


def _tiny(name, title, layer_name, kind):
    return {"name": name, "title": title, "input": "3x32x32", "layers": [
        {"conv": {"out": 8, "kernel": 3, "name": layer_name}},
        {"relu": None},
        {"custom": {"kind": kind, "output": [8, 30, 30], "params": 5}},
        {"maxpool": 2},
        {"flatten": None},
        {"fc": 10},
    ]}


# --- running a command and checking what it left ----------------------------------

def _exercise(spec_text_or_dict, argv, check_success):
    """Run ``netviz ARGV`` (NET standing for the spec file) in a fresh folder;
    a success is checked by CHECK_SUCCESS(folder, stdout), a failure must be
    one line, exit 2, with nothing written."""
    folder = tempfile.mkdtemp(prefix="netviz-fuzz-")
    try:
        if isinstance(spec_text_or_dict, dict):
            spec = os.path.basename(write_spec(folder, spec_text_or_dict))
        else:
            spec = "net.yaml"
            with open(os.path.join(folder, spec), "w", encoding="utf-8", errors="surrogatepass") as fh:
                fh.write(spec_text_or_dict)
        before = files_in(folder)
        code, out, err = run([spec if a == "NET" else a for a in argv], folder)
        if code != 0:
            check_error(code, err)
            assert files_in(folder) == before, f"files left behind: {files_in(folder) - before}"
            return code
        check_stderr_lines(err)
        check_success(folder, out)
        return code
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read(folder, name, mode="r"):
    with open(os.path.join(folder, name), mode, **({"encoding": "utf-8"} if mode == "r" else {})) as fh:
        return fh.read()


def _svg_file(name):
    return lambda folder, out: check_svg(_read(folder, name))


def _report_md(folder, out):
    check_markdown(_read(folder, "r.md"))
    for f in os.listdir(folder):
        if f.endswith(".svg"):
            check_svg(_read(folder, f))


def _shapes(folder, out):
    assert "Traceback" not in out
    from fuzzkit import RAW_CONTROL
    assert not RAW_CONTROL.search(out)


EVERY_FORMAT = (
    [(["shapes", "NET"], _shapes), (["shapes", "NET", "--json"], lambda f, out: json.loads(out)),
     (["render", "NET", "-o", "-"], lambda f, out: check_svg(out)),
     (["render", "NET", "-s", "stack", "-o", "o.png"], lambda f, out: check_png(_read(f, "o.png", "rb"))),
     (["render", "NET", "-s", "bars", "-o", "o.pdf"], lambda f, out: check_pdf(_read(f, "o.pdf", "rb"))),
     (["report", "NET", "-o", "r.md"], _report_md),
     (["report", "NET", "-o", "r.html"], lambda f, out: check_html(_read(f, "r.html"))),
     (["gallery", "NET", "-o", "site"], lambda f, out: check_html(_read(f, os.path.join("site", "index.html"))))]
    + [(["render", "NET", "-s", s, "-o", f"o-{s}.svg", "--legend" if s != "org" else "--no-legend"],
        _svg_file(f"o-{s}.svg")) for s in STYLES]
)


@FUZZ_EVERY
@given(name=hostile_text, title=hostile_text, layer_name=hostile_text, kind=hostile_text)
def test_hostile_names_through_every_command_and_format(name, title, layer_name, kind):
    spec = _tiny(name, title, layer_name, kind)
    for argv, check in EVERY_FORMAT:
        # a name is never a reason to refuse a spec (docs/spec.md, Names)
        assert _exercise(spec, argv, check) == 0, argv


@FUZZ
@given(title=hostile_text)
def test_hostile_title_option(title):
    assert _exercise(_tiny("net", "t", "c", "k"), ["render", "NET", "--title", title, "-o", "t.svg"],
                     _svg_file("t.svg")) == 0


# --- mutated specs ------------------------------------------------------------------

any_value = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.integers(), st.integers(2 ** 39, 2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -0.0, 1e-300, 0.5]),
    hostile_text, st.lists(st.integers(-2, 2 ** 41), max_size=4), st.dictionaries(hostile_text, st.integers(), max_size=2),
)


@st.composite
def mutated_spec(draw):
    base = draw(st.sampled_from(BASES))
    with open(base, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    if isinstance(spec, list):
        spec = {"input": "3x32x32", "layers": spec}
    layers = spec["layers"]
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["field", "field", "top", "delete", "duplicate", "type", "inputs"]))
        i = draw(st.integers(0, len(layers) - 1))
        layer = layers[i]
        if what == "top":
            spec[draw(st.sampled_from(["name", "title", "input", "streams", "description"]))] = draw(any_value)
        elif what == "delete" and len(layers) > 1:
            del layers[i]
        elif what == "duplicate":
            layers.insert(i, json.loads(json.dumps(layer)))
        elif what == "type":
            layers[i] = {draw(st.sampled_from(sorted(BY_NAME))): draw(any_value)}
        elif what == "inputs" and isinstance(layer, dict):
            body = next(iter(layer.values())) if len(layer) == 1 else layer
            if isinstance(body, dict):
                body["inputs"] = draw(st.lists(hostile_text | st.sampled_from(["input", "conv1", "relu1"]),
                                               max_size=3))
        else:
            if isinstance(layer, str):
                layer = layers[i] = {layer: {}}
            if isinstance(layer, dict) and len(layer) == 1:
                ltype, body = next(iter(layer.items()))
                if not isinstance(body, dict):
                    body = layer[ltype] = {}
                t = BY_NAME.get(ltype)
                names = [f.name for f in t.fields] if t else []
                field = draw(st.sampled_from(names + ["name", "label", "bogus"]))
                body[field] = draw(any_value)
    return spec


def _mutated_checks(style):
    return [(["shapes", "NET"], _shapes),
            (["render", "NET", "-s", style, "-o", "m.svg"], _svg_file("m.svg")),
            (["report", "NET", "-s", style, "-o", "r.md"], _report_md)]


@FUZZ
@given(spec=mutated_spec(), style=st.sampled_from(STYLES))
def test_mutated_zoo_specs(spec, style):
    for argv, check in _mutated_checks(style):
        _exercise(spec, argv, check)


# --- hostile YAML text ---------------------------------------------------------------

_FRAGMENTS = ["!!int abc", "!!int ''", "!!float abc", "!!bool maybe", "!!str 5", "!!null x", "²", "٣",
              ".inf", "-.inf", ".nan", "1e400", "9" * 400, "0x" + "f" * 40, "&a [*a]", "*undefined",
              "!!python/object:os.system", "<<: {out: 3}", "{", "[", "'", '"\\ud800"',
              '"\\ud83d\\ude00"', "~", "null", "[1, 2, 3, 4, 5]", "3x224x224", "0", "-1", "2e12"]


@FUZZ
@given(field=st.sampled_from(["out", "kernel", "stride", "pad", "groups", "name", "dilation"]),
       value=st.sampled_from(_FRAGMENTS) | st.text(_ALPHABET, max_size=12),
       where=st.sampled_from(["conv", "input", "top"]))
def test_hostile_yaml_scalars(field, value, where):
    value = value.replace("\n", " ").replace("\r", " ")
    if where == "conv":
        text = f"input: 3x32x32\nlayers:\n  - conv: {{out: 4, kernel: 3, {field}: {value}}}\n"
    elif where == "input":
        text = f"input: {value}\nlayers:\n  - relu\n"
    else:
        text = f"name: {value}\ninput: 3x32x32\nlayers:\n  - relu\n"
    _exercise(text, ["shapes", "NET"], _shapes)
    _exercise(text, ["render", "NET", "-o", "y.svg"], _svg_file("y.svg"))


# --- user templates -------------------------------------------------------------------

_TEMPLATE_BITS = ["{{ model.title }}", "{{ 1/0 }}", "{% include 'report.md.j2' %}", "{{ model.nothing }}",
                  "{% for %}", "{{ model.title | nofilter }}", "{{ ''.__class__.__mro__ }}", "{% raw %}",
                  "{{ model.figures | length }}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
                  "{% extends 'report.md.j2' %}", "plain text", "\n"]


@FUZZ
@given(bits=st.lists(st.sampled_from(_TEMPLATE_BITS), min_size=1, max_size=4))
def test_user_templates(bits):
    folder = tempfile.mkdtemp(prefix="netviz-fuzz-tpl-")
    try:
        os.mkdir(os.path.join(folder, "tpl"))
        with open(os.path.join(folder, "tpl", "report.md.j2"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(bits))
        code, out, err = run(["report", "lenet5", "-s", "bars", "-o", "r.md", "--template-dir", "tpl"], folder)
        if code != 0:
            check_error(code, err)
            assert "template" in err
            assert files_in(folder) == {os.path.join("tpl", "report.md.j2")}
        else:
            check_stderr_lines(err)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
