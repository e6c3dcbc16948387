"""PNG and PDF backend: the same scene drawn with matplotlib (Agg / PDF).

One scene pixel is one output pixel at scale 1 (96 dpi). matplotlib's
default font is DejaVu Sans, the font the layout measured with.
"""
from __future__ import annotations

import io

from ..scene import Circle, Group, Path, Polygon, Rect, Scene, Text

DPI = 96.0


def _figure(scene: Scene):
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib import patches

    fig = Figure(figsize=(scene.width * scene.scale / DPI, scene.height * scene.scale / DPI), dpi=DPI)
    if scene.background:
        fig.patch.set_facecolor(scene.background)
    else:
        fig.patch.set_alpha(0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    ax.set_facecolor("none")
    px = scene.scale * 72.0 / DPI  # one scene pixel in points (line widths, font sizes)
    z = [0]

    def zorder():
        z[0] += 1
        return z[0]

    def style(item):
        kw = {"facecolor": getattr(item, "fill", None) or "none",
              "edgecolor": (item.stroke if getattr(item, "stroke", None) and item.stroke_width else "none"),
              "linewidth": getattr(item, "stroke_width", 0) * px, "zorder": zorder()}
        dash = getattr(item, "dash", None)
        if dash:
            kw["linestyle"] = (0, tuple(d / max(getattr(item, "stroke_width", 1), 0.1) for d in dash))
        return kw

    def draw(item):
        if isinstance(item, Group):
            for child in item.children:
                draw(child)
        elif isinstance(item, Circle):
            if item.rx is not None:
                ax.add_patch(patches.Ellipse((item.cx, item.cy), 2 * item.rx, 2 * item.ry,
                                             angle=-item.rotate, **style(item)))
            else:
                ax.add_patch(patches.Circle((item.cx, item.cy), item.r, **style(item)))
        elif isinstance(item, Rect):
            if item.rx:
                ax.add_patch(patches.FancyBboxPatch(
                    (item.x + item.rx, item.y + item.rx), item.w - 2 * item.rx, item.h - 2 * item.rx,
                    boxstyle=f"round,pad={item.rx}", **style(item)))
            else:
                ax.add_patch(patches.Rectangle((item.x, item.y), item.w, item.h, **style(item)))
        elif isinstance(item, Polygon):
            kw = style(item)
            kw["alpha"] = item.opacity
            ax.add_patch(patches.Polygon(item.points, closed=True, **kw))
        elif isinstance(item, Path):
            xs = [p[0] for p in item.points]
            ys = [p[1] for p in item.points]
            ls = (0, tuple(d / max(item.stroke_width, 0.1) for d in item.dash)) if item.dash else "solid"
            ax.plot(xs, ys, color=item.stroke, linewidth=item.stroke_width * px, linestyle=ls,
                    solid_capstyle="butt", zorder=zorder())
            if item.arrow and len(item.points) >= 2:
                (x0, y0), (x1, y1) = item.points[-2], item.points[-1]
                ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=zorder(),
                            arrowprops={"arrowstyle": "-|>", "color": item.stroke,
                                        "lw": item.stroke_width * px, "shrinkA": 0, "shrinkB": 0,
                                        "mutation_scale": 10 * scene.scale})
        elif isinstance(item, Text):
            ax.text(item.x, item.y, item.text, fontsize=item.size * px, color=item.color,
                    ha={"start": "left", "middle": "center", "end": "right"}[item.anchor],
                    va="baseline", fontweight=item.weight, family="DejaVu Sans", zorder=zorder(),
                    parse_math=False)  # labels are plain text, as in SVG: "$x$" stays "$x$"
        else:
            raise TypeError(f"not a scene item: {item!r}")

    for item in scene.children:
        draw(item)
    return fig


def to_png(scene: Scene) -> bytes:
    fig = _figure(scene)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor=fig.get_facecolor(),
                metadata={"Software": None})
    return buf.getvalue()


def to_pdf(scene: Scene) -> bytes:
    fig = _figure(scene)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", dpi=DPI, facecolor=fig.get_facecolor(),
                metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return buf.getvalue()
