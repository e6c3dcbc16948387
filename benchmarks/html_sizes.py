"""Size and writing time of the interactive figure (-o FILE.html): resnet50,
alexnet (zoo specs) and a traced resnet152 (torchvision, --device meta),
beside the static SVG of the same figure, measured in the same run."""
from __future__ import annotations

import time

import netviz


def main():
    for model, kwargs in (("alexnet", {}), ("resnet50", {}),
                          ("torchvision:resnet152", {"device": "meta"})):
        fig = netviz.render(model, **kwargs)
        t = time.perf_counter()
        page = fig.data("html")
        spent = time.perf_counter() - t
        print(f"{model:24s} html {len(page):>9,} bytes ({spent:.2f} s)  svg {len(fig.data('svg')):>8,} bytes")


if __name__ == "__main__":
    main()
