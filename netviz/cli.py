"""The command line: a thin click layer over the library.

Commands live in their own modules and are imported only when used, so
``netviz --help`` stays fast and imports neither torch nor matplotlib.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import re
import sys

import click

from .errors import NetvizError, SpecError

COMMANDS = {
    "list": ("netviz.cli", "list_cmd"),
    "shapes": ("netviz.cli", "shapes_cmd"),
    "render": ("netviz.commands.render", "render"),
    "legend": ("netviz.commands.legend", "legend_cmd"),
    "gallery": ("netviz.commands.docs", "gallery_cmd"),
    "report": ("netviz.commands.docs", "report_cmd"),
    "train": ("netviz.commands.train", "train_cmd"),
    "trace": ("netviz.commands.trace", "trace_cmd"),
    "check": ("netviz.commands.trace", "check_cmd"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        cmd = getattr(importlib.import_module(module), attr)
        if cmd.short_help is None and cmd.help:  # the first sentence, without its examples
            text = re.sub(r"\s*\((e\.g\.|such as|as in)[^)]*\)", "", " ".join(cmd.help.split()))
            cmd.short_help = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
        return cmd

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and name not in COMMANDS:
            from .errors import did_you_mean
            raise click.UsageError(f"no command {name!r}{did_you_mean(name, COMMANDS)}; try 'netviz --help'")
        return super().resolve_command(ctx, args)


# Options shared by several commands, bundled as decorators.
def input_option(f):
    return click.option("--input", "input_shape", metavar="CxHxW",
                        help="Input size without the batch, e.g. 3x224x224 "
                             "(default: the spec's).")(f)


def trace_options(f):
    """Options for MODELs that are PyTorch targets (ignored for specs)."""
    f = click.option("--device", type=click.Choice(["auto", "cuda", "cpu", "meta"]), default="auto",
                     show_default=True, help="Where a PyTorch model runs while it is traced.")(f)
    f = click.option("--depth", type=click.IntRange(min=0), default=None,
                     help="How deep into nested modules a traced model is shown.")(f)
    f = click.option("--profile", is_flag=True,
                     help="Time each layer and record peak memory (CUDA).")(f)
    return f


def trace_kwargs(device, depth, profile) -> dict:
    return {"device": device, "depth": depth, "profile": profile}


def model_argument(f):
    return click.argument("model", metavar="MODEL")(f)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="netviz", prog_name="netviz")
def main():
    """Figures of neural networks, from a layer list or a PyTorch model.

    MODEL is a zoo name (see 'netviz list'), a spec file (YAML or JSON, a
    Caffe .prototxt, an .onnx model), '-' for a YAML or JSON spec on standard
    input, or a PyTorch target such as torchvision:alexnet.
    """


@click.command("list")
def list_cmd():
    """List the models of the zoo, one line each."""
    from . import zoo
    names = zoo.names()
    width = max(map(len, names))
    for name in names:
        click.echo(f"{name.ljust(width)}  {zoo.describe(name)}")


@click.command("shapes")
@model_argument
@input_option
@trace_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON contract instead of a table.")
def shapes_cmd(model, input_shape, device, depth, profile, as_json):
    """Output shape, parameters and multiply-adds of every layer."""
    from .models import shaped
    result = shaped(model, input=input_shape, **trace_kwargs(device, depth, profile))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        from .table import format_table
        click.echo(format_table(result))


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    from .safetext import terminal
    return f"netviz: warning: {terminal(message, MESSAGE_WIDTH)}\n"


MESSAGE_WIDTH = 2000  # a message longer than this (a value of 100,000 characters) is cut


def say(message: str) -> None:
    """One line on standard error, control characters escaped; nothing at all
    when standard error is gone."""
    from .safetext import terminal
    try:
        click.echo(terminal(message, MESSAGE_WIDTH), err=True)
    except (OSError, ValueError, AttributeError):
        pass


def run(argv=None):
    """Entry point: one clear line and a non-zero exit for bad input."""
    import warnings
    warnings.formatwarning = _one_line_warning  # the CLI's warnings are for users, not for debugging
    try:
        rv = main.main(args=argv, prog_name="netviz", standalone_mode=False)
    except NetvizError as exc:
        msg = str(exc) if isinstance(exc, SpecError) and exc.file else f"netviz: {exc}"
        say(msg)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        say("netviz: interrupted")
        sys.exit(130)
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:  # bare `netviz` (click >= 8.2)
        click.echo(exc.format_message())
        sys.exit(0)
    except click.ClickException as exc:
        say(f"netviz: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        say("netviz: aborted")
        sys.exit(130)
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.close()
        sys.exit(0)
    except RecursionError:
        say("netviz: the input is nested too deeply to be read")
        sys.exit(2)
    except MemoryError:
        say("netviz: out of memory; the input is too large")
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)
