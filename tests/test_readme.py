"""The README runs as written.

Every command line of the README's ``sh`` blocks is run from a folder that
sees the repository's ``examples/`` (as a fresh clone does), and each must
exit 0 and write the file its ``-o`` names. A line marked ``# stand-in``
names a file the reader supplies (their own model): it must be refused as one
``netviz:`` line with exit code 2, never run as if it were real. The Python
block runs too, and its ``# 60965224``-style result comments are checked.

Not run: the installation lines (``pip install ...``, which set up the
environment this test runs in, and the whole test suite it starts), and the
training commands of the ``text`` blocks (``netviz train``, ``torchrun``),
which take minutes and are covered by tests/test_train.py. The PyTorch lines
run when torch is installed (on the CPU; ``--device meta`` where the README
says so), and are skipped otherwise.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAND_IN = "# stand-in"
NOT_RUN = ("pip install", "python -m pytest")


def blocks(lang: str) -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def commands() -> list[str]:
    lines = [line.strip() for block in blocks("sh") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith(NOT_RUN)]


def _strip_comment(line: str) -> str:
    """The command without its trailing ``# ...`` comment (quotes respected)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return shlex.join(list(lexer)).replace("'|'", "|")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A folder laid out as a fresh clone is (examples/ in it), with a
    ``netviz`` on PATH that runs this checkout."""
    folder = tmp_path_factory.mktemp("readme")
    os.symlink(os.path.join(ROOT, "examples"), folder / "examples")
    bindir = folder / ".bin"
    bindir.mkdir()
    (bindir / "netviz").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netviz "$@"\n')
    (bindir / "netviz").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return folder, env


def test_the_readme_has_commands_and_marks_its_stand_ins():
    cmds = commands()
    assert len(cmds) >= 20
    assert sum(STAND_IN in c for c in cmds) >= 1
    for c in cmds:
        assert c.startswith(("netviz ", "cat ")), f"not a netviz command: {c}"


@pytest.mark.parametrize("line", commands())
def test_readme_command(clone, line):
    folder, env = clone
    needs_torch = re.search(r"\btorchvision:|\w\.\w+:\w", line.split("#")[0])
    if needs_torch and STAND_IN not in line:
        pytest.importorskip("torch")
        pytest.importorskip("torchvision")
    cmd = _strip_comment(line)
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600)
    if STAND_IN in line:
        # a file the reader supplies: here it does not exist, and netviz says so in one line
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("netviz: ") and proc.stderr.count("\n") == 1, proc.stderr
        return
    assert proc.returncode == 0, f"{line}\n{proc.stderr}"
    out = re.search(r"-o (\S+)", cmd)
    if out:
        assert (folder / out.group(1)).is_file(), f"{line} wrote no {out.group(1)}"


def test_readme_python_block(clone, monkeypatch):
    folder, _ = clone
    (block,) = blocks("python")
    monkeypatch.chdir(folder)
    namespace: dict = {}
    for line in block.splitlines():
        code, _, comment = line.partition("#")
        if not code.strip():
            continue
        value = eval(code, namespace) if "=" not in code.replace("==", "") and not code.startswith("import") \
            else exec(code, namespace)
        expected = comment.strip()
        if value is not None and expected.isdigit():
            assert value == int(expected), line
    assert (folder / "alexnet.svg").is_file()
