"""Regenerate netviz/fonts/*.json: advance widths of DejaVu Sans (regular and
bold), the font matplotlib draws with, so that layout can measure text
without loading any drawing library. Run: python scripts/make_font_metrics.py
"""
import json
import os

import matplotlib
from fontTools.ttLib import TTFont

OUT = os.path.join(os.path.dirname(__file__), "..", "netviz", "fonts")
FONTS = {"dejavu-sans": "DejaVuSans.ttf", "dejavu-sans-bold": "DejaVuSans-Bold.ttf"}

for name, filename in FONTS.items():
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", filename)
    font = TTFont(path)
    cmap = font.getBestCmap()
    hmtx = font["hmtx"]
    upm = font["head"].unitsPerEm
    widths = {}
    for code in list(range(32, 0x250)) + list(range(0x2000, 0x2070)) + [0x2192, 0x2212, 0x00D7]:
        glyph = cmap.get(code)
        if glyph is not None:
            widths[str(code)] = hmtx[glyph][0]
    hhea = font["hhea"]
    data = {"font": filename, "units_per_em": upm, "ascent": hhea.ascent, "descent": -hhea.descent,
            "average": round(sum(widths[str(c)] for c in range(32, 127)) / 95), "widths": widths}
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(data, fh, separators=(",", ":"), sort_keys=True)
    print(name, len(widths), "glyphs")
