"""Sphinx configuration for netviz's documentation.

Every figure is drawn at build time by the ``netviz`` directive
(netviz/sphinxext.py); the spec and CLI references are generated from the
code by docs/_ext/netviz_docs.py. Build with::

    sphinx-build -W -b html docs docs/_build
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import netviz  # noqa: E402

project = "netviz"
author = "the netviz authors"
copyright = "2026, the netviz authors"
version = release = netviz.__version__

extensions = ["netviz.sphinxext", "netviz_docs"]
# Markdown pages (docs/*.md) are read with MyST when it is installed (the
# `docs` extra installs it); without it they are left out of the build.
if importlib.util.find_spec("myst_parser") is not None:
    extensions.append("myst_parser")
    source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
    myst_heading_anchors = 3
else:
    source_suffix = {".rst": "restructuredtext"}

root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_title = f"netviz {release}"
html_static_path = []
pygments_style = "sphinx"
nitpicky = False
