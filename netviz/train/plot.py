"""The run as a PNG: training loss per step, and accuracy (training and held-out)."""
from __future__ import annotations

import os
from ..fileio import atomic_open


def _smooth(values, window):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def write_plot(path, *, title, loss, train_acc, val_acc, chance, metric="accuracy",
               val_iou=None):
    """``loss`` and ``train_acc``: one value per step; ``val_acc`` (and a
    segmenter's ``val_iou``, mean IoU): [step, value] pairs; ``metric`` names
    the accuracy (per pixel for a segmenter). Written to a temporary file,
    then moved into place."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=110)
    ax1, ax2 = fig.subplots(1, 2)
    steps = list(range(1, len(loss) + 1))
    window = max(1, len(loss) // 50)
    ax1.plot(steps, loss, color="#9ecae1", linewidth=0.8, label="per step")
    if window > 1:
        ax1.plot(steps, _smooth(loss, window), color="#08519c", linewidth=1.6,
                 label=f"mean of {window}")
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title("loss")
    ax1.legend(loc="upper right", fontsize=8)
    if train_acc:
        ax2.plot(steps[:len(train_acc)], [100 * a for a in _smooth(train_acc, max(1, window))],
                 color="#fd8d3c", label="training (running)")
    if val_acc:
        ax2.plot([s for s, _ in val_acc], [100 * a for _, a in val_acc], "o-", color="#31a354",
                 label="held-out")
    if val_iou:
        ax2.plot([s for s, _ in val_iou], [100 * v for _, v in val_iou], "s--", color="#756bb1",
                 label="held-out mean IoU")
    ax2.axhline(100 * chance, color="#888888", linestyle="--", linewidth=1,
                label="chance (majority class)" if val_iou else "chance")
    ax2.set_ylim(0, 100)
    ax2.set_xlabel("step")
    ax2.set_ylabel(f"{metric}{', mean IoU' if val_iou else ''} (%)")
    ax2.set_title(metric)
    ax2.legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")
    return path
