"""The model zoo: spec files shipped with netviz, written in the same YAML
users write, so each one doubles as an example."""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(HERE) if f.endswith(".yaml"))


def path(name: str) -> str:
    return os.path.join(HERE, f"{name}.yaml")


def exists(name: str) -> bool:
    return os.path.isfile(path(name))


def describe(name: str) -> str:
    """The spec's one-line description, read without parsing the whole file."""
    with open(path(name), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("description:"):
                return line.split(":", 1)[1].strip()
    return ""
