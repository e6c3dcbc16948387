"""``netviz train``: build MODEL from its spec, check it, and train it briefly."""
from __future__ import annotations

import os

import click

from ..cli import input_option, model_argument


def default_plot(model) -> str:
    """MODEL-train.png, named as figures are: pkg.mod:Net gives pkg.mod-Net-train.png
    and dir/nets.py:Net nets-Net-train.png, so that two targets do not share a file."""
    from ..figure import default_name
    return os.path.splitext(default_name(str(model).rstrip("/"), "train"))[0] + ".png"


def _positive(kind):
    return click.IntRange(min=1) if kind is int else click.FloatRange(min=0, min_open=True)


@click.command("train")
@model_argument
@input_option
@click.option("--data", type=str, default=None, metavar="DIR",
              help="ImageFolder-style train/ and val/ folders of images (default: a procedural "
                   "dataset made on the device, no files).")
@click.option("--classes", type=click.IntRange(min=2), default=None,
              help="Number of classes when the network's output is wide (default 10); the last "
                   "fc is resized to it.")
@click.option("--epochs", type=_positive(int), default=None,
              help="Passes over the training examples (default 10).")
@click.option("--steps", type=_positive(int), default=None, help="Optimiser steps (overrides --epochs).")
@click.option("--max-time", type=_positive(float), default=None, metavar="SECONDS",
              help="Stop training after this long (no limit by default); given alone, the run's "
                   "10 epochs are fitted to it (the learning rate decays over that time).")
@click.option("--batch-size", type=_positive(int), default=None,
              help="Examples (images, sequences) per step and process (default 128 on CUDA, 32 on a CPU).")
@click.option("--lr", type=_positive(float), default=None,
              help="Peak learning rate (default 0.01 for sgd, 0.001 for adamw); warm-up, then cosine.")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="sgd", show_default=True,
              help="sgd: momentum 0.9, weight decay 5e-4 as in the AlexNet paper.")
@click.option("--momentum", type=float, default=0.9, show_default=True, help="SGD momentum.")
@click.option("--weight-decay", type=float, default=5e-4, show_default=True, help="Weight decay.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the weights, the procedural data and its order.")
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True,
              help="Where to train; auto takes CUDA when there is a GPU.")
@click.option("--compile", "compile_", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True, help="torch.compile the model (auto: on CUDA for runs of 5 million images or more, "
                   "falling back to eager if compiling fails).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto",
              show_default=True, help="auto: bf16 autocast on CUDA and, for heavy models, on CPUs "
                   "with AMX bf16; fp32 otherwise.")
@click.option("--channels-last", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True, help="channels_last memory format (auto: with bf16).")
@click.option("--deterministic", is_flag=True,
              help="Deterministic algorithms, fp32, no compile: the same run gives the same weights.")
@click.option("--train-size", type=_positive(int), default=None,
              help="Procedural training examples (default 20000 on CUDA, 2048 on a CPU).")
@click.option("--val-size", type=_positive(int), default=None,
              help="Procedural held-out images (default 2000 on CUDA, 512 on a CPU).")
@click.option("--metrics", type=str, default=None, metavar="FILE",
              help="Write the run as JSON: checks, loss curve, accuracies, images/s, settings.")
@click.option("--plot", type=str, default=None, metavar="FILE",
              help="Loss and accuracy PNG (default: next to --metrics, else MODEL-train.png).")
@click.option("--no-plot", is_flag=True, help="Write no plot.")
@click.option("--checkpoint-dir", type=str, default=None, metavar="DIR",
              help="Save last.pt here at the end, every --checkpoint-every steps and on Ctrl-C.")
@click.option("--checkpoint-every", type=_positive(int), default=None, metavar="STEPS",
              help="Also save every this many steps.")
@click.option("--resume", is_flag=True, help="Continue the run saved in --checkpoint-dir.")
@click.option("--skip-checks", is_flag=True,
              help="Train without the shapes, gradients and overfit checks (for a model known "
                   "to work); the output and --metrics say that they were skipped.")
@click.option("--progress", type=click.Choice(["auto", "bar", "lines", "off"]), default="auto",
              show_default=True, help="auto: a bar on a terminal, a few lines otherwise.")
def train_cmd(model, input_shape, data, classes, epochs, steps, max_time, batch_size, lr, optimizer,
              momentum, weight_decay, seed, device, compile_, precision, channels_last,
              deterministic, train_size, val_size, metrics, plot, no_plot, checkpoint_dir,
              checkpoint_every, resume, skip_checks, progress):
    """Build MODEL, check it end to end and train it (e.g. netviz train alexnet).

    Checks first, each passed or failed: every layer's output shape against the
    shape engine, a finite loss with a gradient in every parameter, and
    memorising a handful of images within a step budget fitted to the model's
    pace (--skip-checks leaves them out). Then training on procedural data made
    on the device (images, token sequences, series, or masks for a segmenter;
    --data for a folder of images) with progress, a final accuracy, and
    optionally --metrics JSON and a PNG.
    Runs under torchrun (DistributedDataParallel) as it is.
    """
    from ..errors import UsageError
    from ..train import TrainConfig, train

    if resume and not checkpoint_dir:
        raise UsageError("--resume needs --checkpoint-dir DIR (where the run was saved)")
    if data is not None and (train_size or val_size):
        raise UsageError("--train-size and --val-size are for the procedural dataset, not --data")
    if plot is None and not no_plot and metrics is None:
        plot = default_plot(model)
    from ..fileio import check_not_input
    for opt, path in (("--metrics", metrics), ("--plot", plot)):
        if path:
            check_not_input(path, [model, data] if data else [model], f"{opt} file")
    cfg = TrainConfig(
        model=model, input=input_shape, data=data, classes=classes, epochs=epochs, steps=steps,
        max_time=max_time, batch_size=batch_size, lr=lr, optimizer=optimizer, momentum=momentum,
        weight_decay=weight_decay, seed=seed, device=device, compile=compile_, precision=precision,
        channels_last=channels_last, deterministic=deterministic, train_size=train_size,
        val_size=val_size, metrics=metrics, plot="" if no_plot else plot,
        checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, resume=resume,
        skip_checks=skip_checks, progress=progress)
    train(cfg, echo=click.echo)
