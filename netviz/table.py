"""The terminal table of ``netviz shapes``: plain text, no colour library."""
from __future__ import annotations

from .ir import ShapedNetwork, format_shape
from .safetext import terminal

CELL_WIDTH = 60  # a longer name or kind is cut in the table


def cols(text: str) -> int:
    """Terminal columns TEXT takes: wide (CJK) characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def human(n: int) -> str:
    return f"{n:,}"


def short_count(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def format_table(shaped: ShapedNetwork) -> str:
    net = shaped.network
    metric_keys = sorted({k for m in shaped.metrics.values() for k in m})
    branching = not net.is_chain
    batch = any(i.batch for i in shaped.info.values())  # traced: where the batch went
    head = ["layer", "type", "output", "params", "MACs"] + metric_keys + (["from"] if branching else [])
    head += ["batch"] if batch else []
    rows = []
    for layer in net.layers:
        info = shaped.info[layer.name]
        kind = layer.type if layer.type != "custom" else layer.attrs.get("kind", "custom")
        row = [terminal(layer.name, CELL_WIDTH), terminal(kind, CELL_WIDTH), format_shape(info.output),
               human(info.params), human(info.macs)]
        m = shaped.metrics.get(layer.name, {})
        row += [f"{m[k]:.3f}" if k in m else "" for k in metric_keys]
        if branching:
            row.append(terminal(", ".join(layer.inputs), CELL_WIDTH * 2))
        if batch:
            row.append(info.batch)
        rows.append(row)
    total = ["total", "", "", human(shaped.total_params), human(shaped.total_macs)]
    total += [f"{sum(m.get(k, 0.0) for m in shaped.metrics.values()):.3f}" for k in metric_keys]
    total += [""] if branching else []
    total += [""] if batch else []
    widths = [max(cols(r[i]) for r in [head, total, *rows]) for i in range(len(head))]
    right = {3, 4} | {5 + i for i in range(len(metric_keys))}

    def fmt(row):
        return "  ".join(" " * (w - cols(c)) + c if i in right else c + " " * (w - cols(c))
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    title = terminal(net.title or net.name, CELL_WIDTH * 2)
    lines = [f"{title}: input {format_shape(shaped.input_shape)}, {len(net.layers)} layers", "",
             fmt(head), rule, *map(fmt, rows), rule, fmt(total),
             "", f"{human(shaped.total_params)} parameters ({short_count(shaped.total_params)}), "
                 f"{human(shaped.total_macs)} multiply-adds ({short_count(shaped.total_macs)})"]
    for note in shaped.notes:
        lines.append(terminal(note))
    if shaped.warnings:
        lines.append("")
        lines += [terminal(f"warning: {w}") for w in shaped.warnings]
    return "\n".join(lines)
