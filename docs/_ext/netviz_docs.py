"""Directives that build parts of netviz's own documentation from the code,
so the reference pages cannot drift from what the program does:

``.. netviz-layer-types::``  the spec reference, from the table in netviz/layers.py
``.. netviz-cli::``          the CLI reference, from the click commands
``.. netviz-styles::``       one section per style in netviz.styles.STYLES, with figures
``.. netviz-command:: ARGS`` runs ``netviz ARGS`` at build time and shows its output
``.. netviz-toctree::``      a toctree that leaves out pages that do not exist
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import tempfile

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.directives.other import TocTree
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.parsing import nested_parse_to_nodes

logger = logging.getLogger(__name__)

KINDS = {
    "pos": "positive integer",
    "nonneg": "integer, 0 or more",
    "int": "integer",
    "pair_pos": "positive integer, or [h, w]",
    "pair_nonneg": "integer 0 or more, or [h, w]",
    "bool": "true or false",
    "float": "number",
    "prob": "number from 0 to 1",
    "shape": "shape: CxHxW, or a list",
    "str": "text",
    "names": "layer name, or a list of them",
}


def rst_escape(text: str) -> str:
    for ch in "\\*`_|":
        text = text.replace(ch, "\\" + ch)
    return text


def _default(f) -> str:
    from netviz.layers import REQUIRED
    if f.default is REQUIRED:
        return "required"
    if f.default is None:
        return "\\-"
    if isinstance(f.default, bool):
        return "``true``" if f.default else "``false``"
    return f"``{f.default!r}``" if isinstance(f.default, str) else f"``{f.default}``"


def _field_table(fields) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 15 25 15 45", "",
             "   * - field", "     - value", "     - default", "     - meaning"]
    for f in fields:
        lines += [f"   * - ``{f.name}``", f"     - {rst_escape(KINDS.get(f.kind, f.kind))}",
                  f"     - {_default(f)}", f"     - {rst_escape(f.doc) or '-'}"]
    return lines + [""]


def layer_types_rst() -> list[str]:
    """The spec reference as reStructuredText lines."""
    from netviz.layers import COMMON_FIELDS, TYPES, type_facts

    lines = ["Fields every layer takes", "-" * 24, "", *_field_table(COMMON_FIELDS)]
    acts = [t for t in TYPES if t.category == "act"]
    for t in TYPES:
        if t.category == "act":
            continue
        lines += [f"``{t.name}``", "-" * (len(t.name) + 4), "", rst_escape(t.doc), ""]
        facts = [f"drawn as: {t.category}"] + type_facts(t, code=lambda s: f"``{s}``")
        lines += [f"- {fact}" for fact in facts] + [""]
        lines += _field_table(t.fields) if t.fields else ["It has no fields of its own.", ""]
    if acts:
        lines += ["Activations", "-" * 11, "",
                  "Drawn as part of the layer before them; none has parameters.", "",
                  ".. list-table::", "   :header-rows: 1", "   :widths: 20 20 60", "",
                  "   * - type", "     - also written", "     - what it computes"]
        for t in acts:
            extra = "".join(f"; field ``{f.name}`` ({rst_escape(f.doc)}, default {_default(f)})"
                            for f in t.fields)
            doc = t.doc.split(";")[0].removeprefix("Activation: ")
            lines += [f"   * - ``{t.name}``", "     - " + (", ".join(f"``{a}``" for a in t.aliases) or "\\-"),
                      f"     - {rst_escape(doc)}{extra}"]
        lines.append("")
    return lines


class LayerTypesDirective(SphinxDirective):
    def run(self):
        self.env.note_dependency(os.path.abspath(__import__("netviz.layers").layers.__file__))
        content = StringList(layer_types_rst(), source="netviz/layers.py")
        return list(nested_parse_to_nodes(self.state, content, allow_section_headings=True))


def command_help(name: str | None = None, width: int = 80) -> str:
    """``netviz [NAME] --help`` as click prints it."""
    import click
    from netviz.cli import main

    ctx = click.Context(main, info_name="netviz", terminal_width=width, max_content_width=width)
    if name is None:
        return main.get_help(ctx)
    cmd = main.get_command(ctx, name)
    sub = click.Context(cmd, info_name=name, parent=ctx, terminal_width=width, max_content_width=width)
    return cmd.get_help(sub)


class CliDirective(SphinxDirective):
    def run(self):
        from netviz.cli import COMMANDS
        lines = ["``netviz``", "-" * 10, "", ".. code-block:: text", ""]
        lines += ["   " + ln for ln in command_help().splitlines()] + [""]
        for name in COMMANDS:
            head = f"``netviz {name}``"
            lines += [head, "-" * len(head), "", ".. code-block:: text", ""]
            lines += ["   " + ln if ln.strip() else "" for ln in command_help(name).splitlines()] + [""]
        return list(nested_parse_to_nodes(self.state, StringList(lines, source="netviz/cli.py"),
                                          allow_section_headings=True))


class StylesDirective(SphinxDirective):
    """One section per style, each with figures of the given models."""

    option_spec = {"models": directives.unchanged_required}

    def run(self):
        import importlib

        from netviz.styles import STYLES
        models = (self.options.get("models") or "alexnet").split()
        out = []
        for style, module in STYLES.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().split("\n\n")[0]
            # the docstrings point at the project's reference images; not shown here
            doc = re.sub(r"\s*\(\.\./reference/[^)]*\)", "", doc)
            doc = re.sub(r",\s*\.\./reference/[^)\s]*", "", doc).replace("``", "")
            lines = [f"``{style}``", "-" * (len(style) + 4), ""]
            legend = style != "org"  # the paper's figure has no legend
            for model in models:
                lines += [f".. netviz:: {model}", f"   :style: {style}"] + (["   :legend:"] if legend else []) + [
                    f"   :caption: ``{model}`` in the ``{style}`` style "
                    f"(``netviz render {model} --style {style}{' --legend' if legend else ''}``)", ""]
            section = nested_parse_to_nodes(self.state, StringList(lines, source="netviz/styles"),
                                            allow_section_headings=True)
            if doc:  # the style's own description, as plain text after the title
                for node in section:
                    if isinstance(node, nodes.section):
                        node.insert(1, nodes.paragraph(text=" ".join(doc.split())))
            out += section
        return out


def run_command(args: list[str]) -> tuple[int, str]:
    """Run ``netviz ARGS`` in this process, in an empty folder; (status, output)."""
    from netviz.cli import run

    buf = io.StringIO()
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                try:
                    run(args)
                    status = 0
                except SystemExit as exc:
                    status = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(here)
    return status, buf.getvalue()


class CommandDirective(SphinxDirective):
    """``.. netviz-command:: shapes lenet5``: the command and its real output."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        text = self.arguments[0]
        args = shlex.split(text)
        if args and args[0] == "netviz":
            args = args[1:]
        status, output = run_command(args)
        if status != 0:
            logger.error("netviz %s exited with %s: %s", " ".join(args), status, output.strip(),
                         location=(self.env.docname, self.lineno))
        code = f"$ netviz {' '.join(shlex.quote(a) for a in args)}\n{output.rstrip()}"
        block = nodes.literal_block(code, code, language="console")
        self.set_source_info(block)
        return [block]


class OptionalTocTree(TocTree):
    """A toctree whose entries are left out when their page does not exist;
    with ``:rest:``, every other page follows, in name order."""

    option_spec = dict(TocTree.option_spec, rest=directives.flag)

    def run(self):
        found = self.env.found_docs
        keep, named = [], set()
        for line in self.content:
            entry = line.strip()
            target = entry.rsplit("<", 1)[-1].rstrip(">").strip() if entry.endswith(">") else entry
            if not entry or target in found:
                keep.append(line)
                named.add(target)
        if "rest" in self.options:
            keep += sorted(d for d in found if d not in named and d != self.env.docname)
        self.options.pop("rest", None)
        self.content = StringList(keep, source=self.content.source(0) if self.content else "")
        return super().run()


def setup(app):
    app.add_directive("netviz-layer-types", LayerTypesDirective)
    app.add_directive("netviz-cli", CliDirective)
    app.add_directive("netviz-styles", StylesDirective)
    app.add_directive("netviz-command", CommandDirective)
    app.add_directive("netviz-toctree", OptionalTocTree)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
