"""PNG and PDF backend: the same scene drawn with matplotlib (Agg / PDF).

One scene pixel is one output pixel at scale 1 (96 dpi). matplotlib's
default font is DejaVu Sans, the font the layout measured with.
"""
from __future__ import annotations

import contextlib
import io
import warnings

from ..scene import Circle, Group, Path, Polygon, Rect, Scene, Text

DPI = 96.0


# Fonts with the glyphs DejaVu Sans lacks (CJK above all), tried in this order
# wherever they are installed; matplotlib falls back glyph by glyph.
FALLBACK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC",
                  "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN",
                  "Noto Sans", "Unifont")


class MissingGlyphs(UserWarning):
    """Text that no installed font can draw in PNG or PDF (SVG leaves it to the viewer)."""


def _families(scene: Scene) -> list[str]:
    """DejaVu Sans, then installed fallback fonts; warn once about text that
    none of them can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    text = "".join(t.text for t in scene.texts())
    if text.isascii():
        return ["DejaVu Sans"]
    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans"] + [f for f in FALLBACK_FONTS if f in installed]
    missing = dict.fromkeys(ch for ch in text if not ch.isspace())
    for family in families:
        have = FT2Font(installed[family]).get_charmap()
        missing = {ch: None for ch in missing if ord(ch) not in have}
        if not missing:
            break
    if missing:
        sample = "".join(list(missing)[:8])
        warnings.warn(f"no installed font can draw {sample!r} in PNG or PDF (SVG shows it); install a "
                      "font that has it, such as Debian's fonts-noto-cjk", MissingGlyphs, stacklevel=3)
    return families


def _figure(scene: Scene):
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib import patches

    inches = _inches(scene)
    fig = Figure(figsize=inches, dpi=_dpi(scene))
    if scene.background:
        fig.patch.set_facecolor(scene.background)
    else:
        fig.patch.set_alpha(0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    ax.set_facecolor("none")
    px = inches[0] * 72.0 / scene.width  # one scene pixel in points (line widths, font sizes)
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
                                        "mutation_scale": 10 * px / 0.75})
        elif isinstance(item, Text):
            ax.text(item.x, item.y, item.text, fontsize=item.size * px, color=item.color,
                    ha={"start": "left", "middle": "center", "end": "right"}[item.anchor],
                    va="baseline", fontweight=item.weight, family=families, zorder=zorder(),
                    parse_math=False)  # labels are plain text, as in SVG: "$x$" stays "$x$"
        else:
            raise TypeError(f"not a scene item: {item!r}")

    families = _families(scene)
    for item in scene.children:
        draw(item)
    return fig


def _inches(scene: Scene) -> tuple[float, float]:
    """The figure's size in inches: its printed size where it has one, else
    one pixel (at its scale) per 1/96 inch."""
    if scene.print_width is not None:
        return scene.print_width / 25.4, scene.print_height / 25.4
    return scene.width * scene.scale / DPI, scene.height * scene.scale / DPI


def _dpi(scene: Scene) -> float:
    """Dots per inch that give the PNG width * scale pixels whatever its printed size."""
    return scene.width * scene.scale / _inches(scene)[0]


@contextlib.contextmanager
def _quiet():
    """matplotlib warns once per missing glyph; _families has said it once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support .* natively")
        yield


MAX_PIXELS = 64_000_000  # a PNG larger than this takes gigabytes to draw


def to_png(scene: Scene) -> bytes:
    w, h = round(scene.width * scene.scale), round(scene.height * scene.scale)
    if w * h > MAX_PIXELS:
        from ..errors import UsageError
        raise UsageError(f"a PNG of {w}x{h} pixels ({w * h / 1e6:.0f} megapixels) is more than netviz draws "
                         f"({MAX_PIXELS // 1_000_000} at most): give a smaller --width or --scale, or write "
                         "SVG or PDF")
    fig = _figure(scene)
    buf = io.BytesIO()
    with _quiet():
        fig.savefig(buf, format="png", dpi=_dpi(scene), facecolor=fig.get_facecolor(),
                metadata={"Software": None})
    return buf.getvalue()


def to_pdf(scene: Scene) -> bytes:
    fig = _figure(scene)
    buf = io.BytesIO()
    with _quiet():
        fig.savefig(buf, format="pdf", dpi=_dpi(scene), facecolor=fig.get_facecolor(),
                metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return buf.getvalue()
