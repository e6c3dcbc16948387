import os
import sys
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files under tests/golden from the current output")


def pytest_configure(config):
    """``pytest -m fuzz`` runs the fuzz suite long: many examples per test,
    drawn afresh each run (NETVIZ_FUZZ_EXAMPLES sets how many)."""
    if "fuzz" in (config.getoption("markexpr", "") or ""):
        os.environ.setdefault("NETVIZ_FUZZ_EXAMPLES", "300")


@pytest.fixture
def update_goldens(request):
    return request.config.getoption("--update-goldens")


@pytest.fixture
def golden(update_goldens):
    """golden(relpath, text): compare text with tests/golden/relpath (or rewrite it)."""
    def check(relpath: str, text: str):
        path = os.path.join(GOLDEN, relpath)
        if update_goldens or not os.path.exists(path):
            if not update_goldens:
                pytest.fail(f"golden file {relpath} is missing: run pytest --update-goldens")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            return
        with open(path, encoding="utf-8") as fh:
            expected = fh.read()
        assert text == expected, f"output differs from golden {relpath} (refresh with --update-goldens)"
    return check


def run_cli(*args, input=None, cwd=None, env=None):
    """Run `python -m netviz ARGS` in a fresh process; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "netviz", *map(str, args)], capture_output=True,
                          text=True, input=input, cwd=cwd, env=env, timeout=600)


@pytest.fixture
def cli():
    return run_cli
