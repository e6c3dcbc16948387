"""The command line's frame: help, `netviz list`, suggestions, light imports."""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

ZOO_DIR = os.path.join(os.path.dirname(__file__), "..", "netviz", "zoo")
HEAVY = ("torch", "matplotlib")


def test_help(cli):
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: netviz" in proc.stdout
    for command in ("list", "shapes"):
        assert any(line.split()[:1] == [command] for line in proc.stdout.splitlines())


def test_shapes_help(cli):
    proc = cli("shapes", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--input", "--json", "MODEL"):
        assert option in proc.stdout


def test_console_script():
    script = os.path.join(os.path.dirname(sys.executable), "netviz")
    if not os.path.exists(script):
        pytest.skip("the netviz console script is not installed next to this python")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Usage: netviz" in proc.stdout


def test_list_one_line_per_zoo_model(cli):
    proc = cli("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    files = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ZOO_DIR, "*.yaml")))
    assert [line.split()[0] for line in lines] == files
    for line in lines:
        assert len(line.split()) > 1, f"no description: {line!r}"


def test_unknown_command_suggests(cli):
    proc = cli("shapez", "alexnet")
    assert proc.returncode == 2
    assert proc.stderr == "netviz: no command 'shapez' (did you mean 'shapes'?); try 'netviz --help'\n"


def test_unknown_model_suggests(cli):
    proc = cli("shapes", "alexnt")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("netviz: unknown model 'alexnt' (did you mean 'alexnet'?)")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = cli("shapes", "vg16")
    assert proc.returncode == 2 and "(did you mean 'vgg16'?)" in proc.stderr


def _imported_after(code_or_args):
    """The heavy modules present in sys.modules when a fresh interpreter exits."""
    report = ("import atexit, sys\n"
              "atexit.register(lambda: sys.__stderr__.write('HEAVY=' + ','.join("
              f"m for m in {HEAVY!r} if m in sys.modules) + '\\n'))\n")
    proc = subprocess.run([sys.executable, "-c", report + code_or_args], capture_output=True,
                          text=True, timeout=120)
    marker = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, proc.stderr
    return proc, marker[-1][len("HEAVY="):]


def test_import_netviz_is_light():
    proc, heavy = _imported_after("import netviz\nprint(netviz.__version__)")
    assert proc.returncode == 0, proc.stderr
    assert heavy == ""


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["shapes", "alexnet", "--json"],
                                  ["shapes", "--help"]])
def test_cli_is_light(argv):
    code = f"import sys\nsys.argv = ['netviz', *{argv!r}]\nfrom netviz.cli import run\nrun()\n"
    proc, heavy = _imported_after(code)
    assert proc.returncode == 0, proc.stderr
    assert heavy == "", f"netviz {' '.join(argv)} imported {heavy}"


def test_a_spec_on_standard_input(cli, tmp_path):
    spec = "name: piped\ninput: 3x16x16\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - flatten\n  - fc: 2\n"
    r = cli("shapes", "-", "--json", input=spec)
    assert r.returncode == 0, r.stderr
    import json
    assert json.loads(r.stdout)["layers"][1]["output"] == [4, 14, 14]
    r = cli("render", "-", "--style", "short", input=spec, cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "piped-short.svg").exists(), r.stderr
    r = cli("render", "-", "-o", tmp_path / "x.svg", input=spec.replace("kernel", "kernal"))
    assert r.returncode == 2 and r.stderr.startswith("<stdin>:4:") and "did you mean 'kernel'" in r.stderr
    assert not (tmp_path / "x.svg").exists() and r.stderr.count("\n") == 1
    for args, message in [(("render", "-"), "no spec on standard input"),
                          (("render", "-", "-"), "give it once")]:
        r = cli(*args, input="", cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_every_command_that_takes_a_model_reads_standard_input(cli, tmp_path):
    spec = "name: piped\ninput: 3x16x16\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - flatten\n  - fc: 2\n"
    r = cli("train", "-", "--steps", "1", "--no-plot", "--skip-checks", input=spec, cwd=tmp_path)
    assert r.returncode == 0 and "done: 1 steps" in r.stderr + r.stdout, r.stderr
    r = cli("report", "-", "-o", tmp_path / "r.md", "--style", "bars", input=spec)
    assert r.returncode == 0 and (tmp_path / "r.md").exists(), r.stderr
