"""What a training run is told: the settings, their defaults, their checks,
and the learning-rate schedule."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import CheckFailed, NetvizError, UsageError


class Diverged(CheckFailed):
    """The loss became NaN or infinite."""


class Interrupted(NetvizError):
    exit_code = 130


@dataclass
class TrainConfig:
    model: object
    input: str | None = None
    data: str | None = None
    classes: int | None = None
    epochs: int | None = None
    steps: int | None = None
    max_time: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    device: str = "auto"
    compile: str = "auto"
    precision: str = "auto"
    channels_last: str = "auto"
    deterministic: bool = False
    train_size: int | None = None
    val_size: int | None = None
    metrics: str | None = None
    plot: str | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: bool = False
    progress: str = "auto"
    skip_checks: bool = False
    evals: int = 4
    overfit_steps: int | None = None  # the overfit check's most steps (default: checks.py's)


# A run whose length is not given is this many epochs, on every device: a
# number of steps, not a time, so that what it learns does not depend on how
# fast or how busy the machine is (--max-time alone fits the run to a time).
DEFAULT_EPOCHS = 10
ESTIMATE_AFTER = 5  # a CPU run says its estimated time after this many steps
SEQUENCE_LR = {"sgd": 0.2, "adamw": 3e-3}  # default peak learning rates of sequence models


def defaults(cfg: TrainConfig, cuda: bool) -> TrainConfig:
    from dataclasses import replace
    planned = cfg.steps is None and cfg.epochs is None
    return replace(
        cfg,
        batch_size=cfg.batch_size or (128 if cuda else 32),
        lr=cfg.lr if cfg.lr is not None else (1e-3 if cfg.optimizer == "adamw" else 0.01),
        train_size=cfg.train_size or (20000 if cuda else 2048),
        val_size=cfg.val_size or (2000 if cuda else 512),
        epochs=DEFAULT_EPOCHS if planned else cfg.epochs)


def lr_at(step: int, total: int, base: float, frac: float | None = None) -> float:
    """Linear warm-up over the first 5% of the steps (at most 200), then cosine
    decay to zero at the end of the run: at ``total`` steps, or where ``frac``
    (the part of --max-time used, for runs fitted to it) reaches 1."""
    warm = min(200, total // 20)
    if step < warm:
        return base * (step + 1) / warm
    done = (step - warm) / max(1, total - warm)
    if frac is not None:
        done = max(done, frac)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))


MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes a signed 64-bit seed


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings no run can use (NaN, infinities, negative rates, a
    seed torch cannot take) before any work."""
    def finite(name, value, low=0.0, low_open=False, high=None):
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < low or (low_open and value == low) or (high is not None and value > high):
            bound = f"{'greater than' if low_open else 'at least'} {low:g}" + \
                (f" and at most {high:g}" if high is not None else "")
            raise UsageError(f"--{name} must be a finite number {bound}, got {value!r}")
    finite("momentum", cfg.momentum, 0.0, high=1.0)
    finite("weight-decay", cfg.weight_decay, 0.0)
    finite("lr", cfg.lr, 0.0, low_open=True)
    finite("max-time", cfg.max_time, 0.0, low_open=True)
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or not 0 <= cfg.seed <= MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {cfg.seed!r}")
