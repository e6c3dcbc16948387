"""The documentation: built with sphinx-build -W, checked against the code it
documents, every example in it run; the netviz directive's cache and errors."""
from __future__ import annotations

import contextlib
import html
import io
import os
import shutil
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

import netviz
from netviz.cli import COMMANDS
from netviz.layers import COMMON_FIELDS, TYPES
from netviz.styles import STYLES

from pagecheck import inline_svgs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def doc_pages() -> list[str]:
    pages = []
    for folder, dirs, files in os.walk(DOCS):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        pages += [os.path.relpath(os.path.join(folder, f), DOCS) for f in sorted(files)
                  if f.endswith((".rst", ".md"))]
    return pages


def page_text(html_text: str) -> str:
    """The visible text of a built page (tags dropped, entities decoded)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html_text, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


# --- the whole documentation ---------------------------------------------------------

@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "html"
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", "-q", DOCS, str(out)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out


def _read(out, name):
    with open(out / name, encoding="utf-8") as fh:
        return fh.read()


def test_every_page_is_built_and_its_figures_are_well_formed(built_docs):
    pages = doc_pages()
    assert {"index.rst", "quickstart.rst", "alexnet.rst", "layers.rst", "cli.rst", "styles.rst",
            "architecture.md"} <= set(pages)
    from sphinx.util.docutils import docutils  # noqa: F401 - sphinx present
    md_read = True
    try:
        import myst_parser  # noqa: F401
    except ImportError:
        md_read = False
    total_figures = 0
    for page in pages:
        if page.endswith(".md") and not md_read:
            continue
        name = os.path.splitext(page)[0] + ".html"
        text = _read(built_docs, name)
        svgs = inline_svgs(text)  # well-formed, internal references resolve
        total_figures += len(svgs)
        ids = re.findall(r'\bid="([^"]+)"', text)
        dup = {i for i in ids if ids.count(i) > 1}
        assert not dup, f"{name}: duplicate ids {sorted(dup)[:5]}"
    assert total_figures >= 10


def test_spec_reference_lists_every_layer_type_and_field(built_docs):
    text = page_text(_read(built_docs, "layers.html"))
    for t in TYPES:
        assert t.name in text
        for alias in t.aliases:
            assert alias in text, f"alias {alias} of {t.name} is missing"
        for f in t.fields:
            assert f.name in text and (not f.doc or f.doc.split()[0] in text), f"{t.name}.{f.name}"
    for f in COMMON_FIELDS:
        assert f.name in text
    # one section per non-activation type, each with a table row per field
    raw = _read(built_docs, "layers.html")
    conv = raw[raw.index('id="conv"'):]
    conv = conv[:conv.index("</section>")]
    conv_type = next(t for t in TYPES if t.name == "conv")
    assert len(re.findall(r"<tr", conv)) == len(conv_type.fields) + 1


def test_cli_reference_shows_every_command_and_option(built_docs):
    import click
    from netviz.cli import main
    text = page_text(_read(built_docs, "cli.html"))
    ctx = click.Context(main, info_name="netviz")
    for name in COMMANDS:
        assert f"netviz {name}" in text
        section = text[text.index(f"Usage: netviz {name}"):]
        cmd = main.get_command(ctx, name)
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert any(o in section for o in param.opts), f"{name} {param.opts}"


def test_styles_page_shows_every_style(built_docs):
    raw = _read(built_docs, "styles.html")
    for style in STYLES:
        m = re.search(rf'<section id="{re.escape(style)}">(.*?)</section>', raw, re.DOTALL)
        assert m, f"no section for style {style}"
        assert len(inline_svgs(m.group(1))) == 2, style  # alexnet and lenet5


def test_alexnet_page_numbers_are_the_engines(built_docs):
    text = page_text(_read(built_docs, "alexnet.html"))
    paper, tv = netviz.shaped("alexnet"), netviz.shaped("alexnet-torchvision")
    assert f"{paper.total_params:,}" in text and f"{tv.total_params:,}" in text
    at224 = netviz.shaped("alexnet", input="3x224x224")
    assert at224["conv1"].output == (96, 54, 54)
    assert f"{at224['flatten1'].output[0]:,} features" in text
    assert at224.warnings and str(at224.warnings[0]) in text  # the command's output, made at build time


# --- every example in the docs runs -----------------------------------------------------

CODE_RST = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\w+)\s*$")
COMMAND_RST = re.compile(r"^\s*\.\. netviz-command::\s*(.+)$")
FENCE_MD = re.compile(r"^(\s*)```+\s*(?:\{(?:code-block|code)\}\s*)?([\w-]*)\s*$")
SHELL = ("", "sh", "bash", "shell", "zsh")
FILENAME = re.compile(r"^[\w.-]+\.\w+$")


def _rst_blocks(lines):
    i = 0
    while i < len(lines):
        m, c = CODE_RST.match(lines[i]), COMMAND_RST.match(lines[i])
        if c:
            yield "console", None, "$ " + c.group(1).strip()
        if not m:
            i += 1
            continue
        indent, lang, caption = len(m.group(1)), m.group(2), None
        i += 1
        while i < len(lines) and re.match(r"^\s+:(\w+):(.*)$", lines[i]):
            opt = re.match(r"^\s+:(\w+):(.*)$", lines[i])
            if opt.group(1) == "caption":
                caption = opt.group(2).strip()
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        yield lang, caption, textwrap.dedent("\n".join(body)).strip("\n") + "\n"


OPEN_MD = re.compile(r"^\s*(```+)")


def _md_blocks(lines):
    """Code blocks of a MyST page; other fenced blocks (a ```{netviz} figure,
    say) are passed over whole, so their fences never pair with others."""
    i = 0
    while i < len(lines):
        fence = OPEN_MD.match(lines[i])
        if not fence:
            i += 1
            continue
        m = FENCE_MD.match(lines[i])
        ticks = fence.group(1)
        lang, caption, body = (m.group(2) or "") if m else None, None, []
        i += 1
        while i < len(lines) and lines[i].strip() != ticks:
            opt = re.match(r"^:(\w+):(.*)$", lines[i].strip())
            if opt and not body and opt.group(1) == "caption":
                caption = opt.group(2).strip()
            elif not (opt and not body):
                body.append(lines[i])
            i += 1
        i += 1
        if m:
            yield lang, caption, textwrap.dedent("\n".join(body)).strip("\n") + "\n"


def examples(page: str) -> list[tuple]:
    """The steps of a page's examples, in order: ("file", name, text) for a
    block captioned with a file name, ("netviz", args) for each `$ netviz ...`
    line of a console block and each `netviz ...` line of a plain shell
    block, ("python", code) for each python block."""
    with open(os.path.join(DOCS, page), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    blocks = _md_blocks(lines) if page.endswith(".md") else _rst_blocks(lines)
    steps = []
    for lang, caption, body in blocks:
        if caption and FILENAME.match(caption):
            steps.append(("file", caption, body))  # "save this as NAME"
        elif lang in ("console", "shell-session"):
            text = body.replace("\\\n", " ")
            for line in text.splitlines():
                if line.startswith("$ "):
                    args = shlex.split(line[2:], comments=True)
                    if args and args[0] == "netviz":
                        steps.append(("netviz", args[1:]))
        elif lang in SHELL:  # a plain shell block: its `netviz ...` lines
            for line in body.replace("\\\n", " ").splitlines():
                args = shlex.split(line, comments=True) if line.startswith("netviz ") else []
                if args:
                    steps.append(("netviz", args[1:]))
        elif lang in ("python", "py", "pycon") and caption is None:
            steps.append(("python", body))
    return steps


def run_netviz(args) -> tuple[int, str]:
    from netviz.cli import run
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, buf.getvalue()


def test_the_example_extractor_finds_the_examples():
    steps = examples("quickstart.rst")
    kinds = [s[0] for s in steps]
    assert ("file", "tiny.yaml") in [(s[0], s[1]) for s in steps]
    assert kinds.count("netviz") >= 6 and "python" in kinds
    # the file comes before the commands that read it
    assert kinds.index("file") < next(i for i, s in enumerate(steps) if s[0] == "netviz" and "tiny.yaml" in s[1])


def test_figure_fences_are_passed_over_whole(tmp_path, monkeypatch):
    page = ("# p\n\n```{netviz} alexnet\n:style: org\n```\n\nnetviz prose, not a command\n\n"
            "```sh\nnetviz render lenet5 -o a.svg\n```\n\n```{netviz} lenet5\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "DOCS", str(tmp_path))
    (tmp_path / "p.md").write_text(page, encoding="utf-8")
    assert examples("p.md") == [("netviz", ["render", "lenet5", "-o", "a.svg"])]


@pytest.mark.parametrize("page", [p for p in doc_pages() if examples(p)])
def test_docs_examples_run(page, tmp_path, monkeypatch):
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")  # as in a clone
    monkeypatch.chdir(tmp_path)
    for step in examples(page):
        if step[0] == "file":
            (tmp_path / step[1]).write_text(step[2], encoding="utf-8")
        elif step[0] == "netviz":
            args = step[1]
            code, output = run_netviz(args)
            assert code == 0, f"{page}: netviz {' '.join(args)} exited {code}: {output}"
            for opt in ("-o", "--output"):
                if opt in args and args[args.index(opt) + 1] != "-":
                    target = args[args.index(opt) + 1]
                    assert os.path.exists(target), f"{page}: netviz {' '.join(args)} wrote no {target}"
        else:
            code = compile(step[1], f"{page} (python example)", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, {"__name__": "__docs_example__"})


# --- the directive: cache and errors, in a small project -------------------------------

def sphinx_build(src, out, freshenv=False):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    warnings = io.StringIO()
    with patch_docutils(src), docutils_namespace():
        app = Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", status=None,
                     warning=warnings, freshenv=freshenv)
        app.build()
    return app.statuscode, warnings.getvalue()


CONF = 'extensions = ["netviz.sphinxext"]\nproject = "t"\nhtml_theme = "basic"\n'
INDEX = """Figures
=======

Some text.

.. netviz:: alexnet
   :style: short
   :caption: AlexNet

.. netviz:: lenet5
   :format: png
   :width: 300px
   :alt: LeNet

.. netviz::

   name: tiny
   input: 1x8x8
   layers:
     - conv: {out: 4, kernel: 3}
     - flatten
     - fc: 2

.. toctree::

   other
"""
OTHER = "Other\n=====\n\n.. netviz:: nets/small.yaml\n   :legend:\n"
SMALL = "name: small\ninput: 1x16x16\nlayers:\n  - conv: {out: 4, kernel: 5}\n  - maxpool: 2\n"


@pytest.fixture
def project(tmp_path):
    src = tmp_path / "src"
    (src / "nets").mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text(INDEX)
    (src / "other.rst").write_text(OTHER)
    (src / "nets" / "small.yaml").write_text(SMALL)
    return src, tmp_path / "out"


@pytest.fixture
def renders(monkeypatch):
    import netviz.figure
    calls = []
    real = netviz.figure.render

    def counting(model, *a, **k):
        calls.append(model)
        return real(model, *a, **k)
    monkeypatch.setattr(netviz.figure, "render", counting)
    return calls


def test_directive_draws_each_figure_once(project, renders):
    src, out = project
    status, warnings = sphinx_build(src, out)
    assert status == 0 and warnings == "", warnings
    assert len(renders) == 4
    index = (out / "index.html").read_text()
    assert len(inline_svgs(index)) == 2
    img = re.search(r'<img class="netviz" src="(_images/netviz-[0-9a-f]+\.png)" alt="LeNet" '
                    r'style="width: 300px;', index)
    assert img and (out / img.group(1)).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<figcaption>" in index and "AlexNet" in index
    assert len(inline_svgs((out / "other.html").read_text())) == 1

    # page text and a caption changed, figures not: the page is read again, nothing is redrawn
    (src / "index.rst").write_text(INDEX.replace("Some text.", "Other text.")
                                   .replace(":caption: AlexNet", ":caption: The *AlexNet*"))
    status, _ = sphinx_build(src, out)
    assert status == 0 and len(renders) == 4
    assert "Other text." in (out / "index.html").read_text()
    assert "The <em>AlexNet</em>" in (out / "index.html").read_text()
    assert len(inline_svgs((out / "index.html").read_text())) == 2

    # a fresh environment reads everything again, still nothing is redrawn
    status, _ = sphinx_build(src, out, freshenv=True)
    assert status == 0 and len(renders) == 4

    # one option changed: exactly that figure is drawn again
    (src / "index.rst").write_text(INDEX.replace(":style: short", ":style: bars"))
    status, _ = sphinx_build(src, out)
    assert status == 0 and renders[4:] == ["alexnet"]

    # the spec file changed: its page is read again and its figure redrawn
    (src / "nets" / "small.yaml").write_text(SMALL.replace("out: 4", "out: 6"))
    status, _ = sphinx_build(src, out)
    assert status == 0 and len(renders) == 6 and renders[5].endswith("small.yaml")


def _line_of(text, needle):
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_broken_inline_spec_fails_the_build_at_its_line(project, renders):
    src, out = project
    broken = INDEX.replace("kernel: 3}", "kernal: 3}")
    (src / "index.rst").write_text(broken)
    status, warnings = sphinx_build(src, out)
    assert status == 2
    line = _line_of(broken, "kernal")
    assert f"index.rst:{line}: ERROR: netviz: inline spec, line 4 column" in warnings
    assert "no field 'kernal' (did you mean 'kernel'?)" in warnings
    # nothing changed: the page is read again and still fails
    status, warnings = sphinx_build(src, out)
    assert status == 2 and "kernal" in warnings
    (src / "index.rst").write_text(INDEX)
    status, warnings = sphinx_build(src, out)
    assert status == 0 and warnings == ""


def test_unknown_model_and_broken_spec_file(project, renders):
    src, out = project
    text = INDEX.replace(".. netviz:: lenet5", ".. netviz:: lenet")
    (src / "index.rst").write_text(text)
    (src / "nets" / "small.yaml").write_text(SMALL.replace("kernel: 5", "kernel: 50"))
    status, warnings = sphinx_build(src, out)
    assert status == 2
    assert (f"index.rst:{_line_of(text, 'netviz:: lenet')}: ERROR: netviz: unknown model 'lenet' "
            "(did you mean 'lenet5'?)") in warnings
    other = re.search(r"other.rst:4: ERROR: netviz: .*small.yaml:(\d+):\d+: (.*)", warnings)
    assert other, warnings
    assert int(other.group(1)) == 4 and "conv" in other.group(2)


def test_sphinx_build_exits_non_zero_with_one_clear_line(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text("T\n=\n\n.. netviz:: alexnet\n   :style: shortt\n")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if "ERROR" in ln]
    assert len(errors) == 1 and "Traceback" not in res.stderr
    assert "index.rst:4: ERROR: netviz: unknown style 'shortt' (did you mean 'short'?)" in errors[0]
