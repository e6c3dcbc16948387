"""The interactive figure: one self-contained HTML file.

The page holds every scene it can show, laid out here in Python and written
as inline SVG: each style asked for, folded (repeated modules drawn once,
marked xN) and, where the style marks repeats, expanded (every copy drawn).
The page's script (``templates/interactive.js``, inlined) only shows, hides,
pans and zooms them; it lays nothing out. The layers' details sit in a
``<script type="application/json">`` block, written with every ``<`` escaped
so no name can close the block, and are read with ``JSON.parse``; the page
puts text from the model into the document only as text nodes. Nothing is
fetched: no CDN, no fonts, no server.
"""
from __future__ import annotations

import json
import os

from ..errors import UsageError
from ..fileio import gc_paused


def _plain(value):
    """An attribute value as JSON data: numbers, strings, lists, objects."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def layer_data(shaped) -> list[dict]:
    """Every layer's details, in the network's order: name, type, attributes,
    input and output shapes, parameters, MACs, where it came from, and the
    class token its cells carry in the SVG (``layer-TOKEN``)."""
    from ..ir import format_shape
    from ..styles.common import Ids

    out = []
    for layer in shaped.network.layers:
        info = shaped.info[layer.name]
        kind = layer.type if layer.type != "custom" else layer.attrs.get("kind", "custom")
        source = layer.scope  # the module path of a traced layer; else where it was written
        if not source and layer.loc is not None:
            where = os.path.basename(layer.loc.file) if layer.loc.file else "<spec>"
            source = f"{where}:{layer.loc.line}:{layer.loc.col}"
        out.append({
            "name": layer.name, "type": str(kind), "token": Ids.token(layer.name),
            "attrs": {str(k): _plain(v) for k, v in layer.attrs.items()},
            "from": list(layer.inputs),
            "in": [format_shape(s) for s in info.inputs],
            "out": format_shape(info.output),
            "params": info.params, "macs": info.macs, "source": source,
        })
    return out


def json_block(data) -> str:
    """DATA as the text of a ``<script type="application/json">`` element:
    ASCII only, with ``<``, ``>`` and ``&`` escaped, so no value can end the
    element (``</script>``) or open a comment (``<!--``)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def title_drop(scene) -> float:
    """How far down a scene's page view starts: past the title the figure
    draws (the page's heading says it already), keeping the margin above
    it; 0 where the figure draws none."""
    from ..scene import Text, bounds
    titles = [i for i in scene.children if isinstance(i, Text) and i.cls == "title"]
    body = [bounds(i)[1] for i in scene.children if not (isinstance(i, Text) and i.cls == "title")]
    body = [y for y in body if y != float("inf")]
    if not titles or not body:
        return 0.0
    top = min(bounds(t)[1] for t in titles)
    return round(max(0.0, min(body) - max(0.0, top)), 3)


def _svg_for_page(svg: str, prefix: str, drop: float = 0.0) -> str:
    """Scene SVG ready to sit in the page: ids prefixed (several scenes share
    the page), sized by the page rather than by its own width and height.
    Where the figure draws its title (DROP > 0), the view starts DROP
    lower, so that the title shows once, in the page's heading; the title
    stays in the SVG, hidden by the page's style sheet, and the downloads
    (which the style sheet does not reach) show it with the figure's top
    (``data-drawn-top``: where the drawing itself starts)."""
    import re

    from ..reports import inline_svg

    svg = inline_svg(svg, prefix)
    head_end = svg.index(">")
    head = re.sub(r'\s(?:width|height)="[^"]*"', "", svg[:head_end])
    if drop > 0:
        box = re.search(r'\sviewBox="([^"]*)"', head)
        x, y, w, h = (float(v) for v in box.group(1).replace(",", " ").split())
        view = " ".join(f"{v:g}" for v in (x, y + drop, w, h - drop))
        head = head[:box.start()] + f' viewBox="{view}" data-drawn-top="{y:g}"' + head[box.end():]
    head += f' class="nv-scene" data-prefix="{prefix}-" preserveAspectRatio="xMidYMid meet"'
    return head + svg[head_end:]


def scene_views(figure, styles=None) -> list[dict]:
    """The scenes a page of FIGURE shows: for each style (FIGURE's own by
    default), the folded scene and, where the style can draw it, the expanded
    one. Each is ``{"style", "expanded", "svg", "width", "height"}``."""
    from ..figure import render

    shaped = figure.shaped
    options = dict(getattr(figure, "options", None) or {})
    figures = []
    for style in ([figure.style] if styles is None else list(styles)):
        if style == figure.style and not options.get("expand"):
            figures.append(figure)
        elif shaped is None or isinstance(shaped, list):
            raise UsageError(f"this figure cannot be drawn again in the {style} style")
        else:
            figures.append(render(shaped, style=style, **_options_for(style, options)))
    views = views_of(figures)
    if options.get("expand") and len(views) > 1 and views[1]["expanded"]:
        views[0], views[1] = views[1], views[0]  # drawn expanded: the page opens expanded
    return views


def views_of(figures) -> list[dict]:
    """The folded scene of each of FIGURES (one network, drawn folded in
    several styles) and, where its style can, the expanded one beside it."""
    from ..figure import render

    views = []
    for folded in figures:
        shaped, style = folded.shaped, folded.style
        folded_svg = folded.svg()
        pair = [(folded, folded_svg, False)]
        if shaped is not None and not isinstance(shaped, list):
            options = _options_for(style, dict(getattr(folded, "options", None) or {}))
            try:
                expanded = render(shaped, style=style, **{**options, "expand": True, "fold": None})
            except UsageError:
                expanded = None  # the style marks no repeats
            if expanded is not None:
                expanded_svg = expanded.svg()
                if expanded_svg != folded_svg:  # something was folded
                    pair.append((expanded, expanded_svg, True))
        for fig, svg, is_expanded in pair:
            views.append({"style": style, "expanded": is_expanded, "svg": svg,
                          "width": fig.scene.width, "height": fig.scene.height, "drop": title_drop(fig.scene)})
    return views


def _options_for(style: str, options: dict) -> dict:
    """The drawing options of a figure that STYLE accepts, folded."""
    kwargs = {**options, "expand": False}
    if style != "org":
        kwargs.pop("streams", None)
    elif kwargs.get("legend"):
        kwargs["legend"] = False  # the paper's figure has no legend
    if style != "bars":
        kwargs.pop("bar_metric", None)
    if style not in ("bars", "short"):
        kwargs.pop("fold", None)
        kwargs.pop("tangles", None)
    if style != "graph":
        kwargs.pop("direction", None)
        if style not in ("bars", "short"):
            kwargs.pop("max_nodes", None)
    return kwargs


def page(views: list[dict], shaped=None, title: str = "netviz figure") -> str:
    """The interactive page of VIEWS (see :func:`scene_views`), with the
    layers' details and the table of shapes when SHAPED (one network) is given."""
    from .. import __version__
    from ..reports import render_template, table_view
    from ..safetext import visible

    single = shaped is not None and not isinstance(shaped, list)
    title = visible(title)  # the template escapes markup; control characters become escapes
    scenes = []
    for i, view in enumerate(views):
        key = f"s{i}"
        scenes.append({"key": key, "style": view["style"], "expanded": view["expanded"],
                       "svg": _svg_for_page(view["svg"], key, view.get("drop", 0.0))})
    data = {
        "title": title,
        "scenes": [{"key": s["key"], "style": s["style"], "expanded": s["expanded"]} for s in scenes],
        "layers": layer_data(shaped) if single else [],
    }
    styles = list(dict.fromkeys(s["style"] for s in scenes))
    summary = ""
    if single:
        from ..ir import format_shape
        summary = (f"input {format_shape(shaped.input_shape)}, {len(shaped.layers)} layers, "
                   f"{shaped.total_params:,} parameters, {shaped.total_macs:,} multiply-adds")
    table = table_view(shaped) if single else None
    if table is not None:
        table["rows"] = [[visible(cell) for cell in row] for row in table["rows"]]
    return render_template("interactive.html.j2", None, title=title, summary=summary,
                           scenes=scenes, styles=styles, data=json_block(data), table=table,
                           netviz_version=__version__)


def figure_page(figure, styles=None) -> str:
    """FIGURE as an interactive page (in STYLES too, with a style switch)."""
    with gc_paused():
        views = scene_views(figure, styles)
        shaped = figure.shaped
        title = figure.scene.title or (shaped.network.title or shaped.network.name
                                       if shaped is not None and not isinstance(shaped, list)
                                       else "netviz figure")
        return page(views, shaped, title)


def to_html(scene) -> bytes:
    """A scene alone (no layer details) as an interactive page."""
    from .svg import to_svg
    view = {"style": "figure", "expanded": False, "svg": to_svg(scene),
            "width": scene.width, "height": scene.height, "drop": title_drop(scene)}
    return page([view], None, scene.title or "netviz figure").encode("utf-8")
