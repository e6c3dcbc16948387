"""The wheel carries the templates and the zoo: build it from a copy of the
sources, install it into a fresh virtual environment, run `netviz gallery`
there from an unrelated folder."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.slow


def _copy_sources(dest):
    """What a wheel is built from, without build outputs or caches. The
    netviz/templates link is copied as a link, as a clone has it."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    shutil.copytree(os.path.join(ROOT, "netviz"), dest / "netviz", symlinks=True, ignore=ignore)
    shutil.copytree(os.path.join(ROOT, "templates"), dest / "templates", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if os.path.exists(os.path.join(ROOT, name)):
            shutil.copy(os.path.join(ROOT, name), dest / name)


def _build_wheel(src, dist) -> str:
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if importlib.util.find_spec("build") is not None:
        cmd = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)]
    else:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "-w", str(dist), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=src)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheels = [f for f in os.listdir(dist) if f.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return str(dist / wheels[0])


def test_wheel_installs_and_draws_a_gallery(tmp_path):
    from netviz import zoo
    from netviz.reports import templates_dir

    src = tmp_path / "src"
    src.mkdir()
    _copy_sources(src)
    wheel = _build_wheel(src, tmp_path / "dist")

    names = set(zipfile.ZipFile(wheel).namelist())
    for tpl in os.listdir(templates_dir()):
        assert f"netviz/templates/{tpl}" in names, f"template {tpl} is not in the wheel"
    for model in zoo.names():
        assert f"netviz/zoo/{model}.yaml" in names
    assert not any(n.startswith("templates/") for n in names), "templates outside the package"

    # A fresh environment; the dependencies (click, jinja2, ...) come from this
    # one's site-packages through a .pth path line, which does not run this
    # environment's editable-install hook: netviz itself can only come from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, "outer-deps.pth"), "w") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                          "--no-index", "--disable-pip-version-check", "-q", wheel],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = subprocess.run([str(py), "-c", "import netviz, netviz.reports as r; "
                            "print(netviz.__file__); print(r.templates_dir())"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    module, templates = where.stdout.split()
    assert module.startswith(site) and templates.startswith(site), where.stdout
    assert not os.path.islink(templates)

    res = subprocess.run([str(venv / "bin" / "netviz"), "gallery", "-o", "site"], capture_output=True,
                         text=True, cwd=work, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    page = (work / "site" / "index.html").read_text(encoding="utf-8")
    for model in zoo.names():
        assert f'<section class="model" id="{model}">' in page
    assert "<style>" in page and "table.shapes" in page  # the stylesheet template came too
