"""``netviz trace`` and ``netviz check``: a real PyTorch model as a spec, and
a spec held against a real model."""
from __future__ import annotations

import click

from ..cli import input_option, trace_kwargs, trace_options


@click.command("trace")
@click.argument("target", metavar="TARGET")
@input_option
@trace_options
@click.option("-o", "--output", default=None, metavar="SPEC.yaml",
              help="Write the traced network as a YAML spec (default: print the shapes table).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of 'netviz shapes --json'.")
@click.option("--batch", type=int, default=1, show_default=True,
              help="Batch of the traced forward: shapes and counts are per sample, --profile "
                   "times depend on it.")
def trace_cmd(target, input_shape, device, depth, profile, output, as_json, batch):
    """Trace TARGET (torchvision:NAME, package.module:ATTR or path/to/file.py:ATTR).

    ATTR is an nn.Module class, a function that builds one with no arguments,
    or an instance. Loading a Python target runs its code, as importing it
    would. Weights are never loaded.
    """
    from ..models import shaped
    if output:
        from ..trace.spec_out import check_destination
        check_destination(output)  # before the work, not after
    options = trace_kwargs(device, depth, profile)
    if batch != 1:
        options["batch"] = batch
    result = shaped(target, input=input_shape, **options)
    if output:
        from ..table import short_count
        from ..trace.spec_out import write_spec
        header = (f"netviz spec of {target}, input {'x'.join(map(str, result.input_shape))}",
                  *result.notes,
                  f"{result.total_params:,} parameters, {result.total_macs:,} multiply-adds")
        write_spec(result, output, header)
        click.echo(f"wrote {output}: {len(result.layers)} layers, "
                   f"{short_count(result.total_params)} parameters", err=True)
    elif as_json:
        import json
        data = result.to_json()
        data["notes"] = list(result.notes)
        if result.metrics:
            data["metrics"] = {k: dict(v) for k, v in result.metrics.items()}
        click.echo(json.dumps(data, indent=2))
    else:
        from ..table import format_table
        click.echo(format_table(result))


@click.command("check")
@click.argument("spec", metavar="SPEC")
@click.argument("target", metavar="TARGET")
@input_option
@trace_options
def check_cmd(spec, target, input_shape, device, depth, profile):
    """Check that SPEC (a zoo name or spec file) describes TARGET, a PyTorch model.

    TARGET is traced at SPEC's input size (or --input). Layers of a kind that
    only one side has are dropped when they have no parameters and keep the
    shape (e.g. the spec's softmax, dropout, activations); the rest are
    aligned in order, each pair must agree in type, output shape and
    parameters, and the total parameters must agree. Exit 0 on a match, 1 on
    a mismatch.
    """
    from ..errors import CheckFailed, UsageError
    from ..ir import format_shape
    from ..models import is_trace_target, load, shaped
    from ..shapes import infer
    from ..trace.check import compare
    if is_trace_target(spec):
        raise UsageError(f"check SPEC TARGET: {spec!r} is a PyTorch target; the first argument "
                         "is the spec (a zoo name or a spec file), the second the model")
    spec_net = infer(load(spec, input=input_shape))
    size = input_shape or format_shape(spec_net.input_shape)
    traced = shaped(target, input=size, **trace_kwargs(device, depth, profile))
    report = compare(spec_net, traced)
    click.echo(f"check {spec} against {target} at input {format_shape(spec_net.input_shape)}")
    if report.dropped():
        click.echo(f"not compared: {report.dropped()}")
    for line in report.lines():
        click.echo(f"  {line}")
    if not report.ok:
        raise CheckFailed(f"mismatch: {report.count} difference(s) between {spec} and "
                          f"{target} over {report.compared} aligned layers (listed above)")
    click.echo(f"match: {report.compared} layers agree in type, output shape and parameters "
               f"({traced.total_params:,} parameters in the model)")
