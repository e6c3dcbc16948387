"""Training data: a procedural dataset made on the device, or a folder of images.

The procedural dataset needs no file and no download. Each class is one
combination of a shape (disc, square, triangle, ring, cross, diamond, two
bars, dome), a colour and a texture (solid, horizontal or vertical stripes,
checks); every image puts one such figure at a random position and scale
on a noisy background of random tint. It is made at the model's input size
and channel count, on the training device, and is fully determined by the
seed. Images are kept as uint8 on the device and normalised batch by batch.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..errors import UsageError

SHAPES = ("disc", "square", "triangle", "ring", "cross", "diamond", "bars", "dome")
TEXTURES = ("solid", "hstripes", "vstripes", "checks")
COLOURS = ("red", "green", "blue", "yellow")
MAX_CLASSES = len(SHAPES) * len(TEXTURES) * len(COLOURS)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif", ".tiff")

_RGB = ((0.95, 0.2, 0.15), (0.2, 0.85, 0.25), (0.2, 0.35, 1.0), (0.95, 0.85, 0.15))
_GREY = (1.0, 0.75, 0.55, 0.35)


@dataclass
class Dataset:
    """Inputs and labels of a training and a held-out split, on one device.

    ``kind`` says what they are: "image" (uint8 [N, C, H, W] images, int64
    [N] labels), "segment" (the same images, with uint8 [N, H, W] masks of a
    class per pixel), "tokens" (int64 [N, T] token ids) or "series" (float
    [N, T, F] sequences), the last two with int64 [N] labels."""

    x_train: object
    y_train: object
    x_val: object
    y_val: object
    classes: list
    source: str  # "procedural" or the folder
    mean: object = None  # per-channel mean and std of the training images, in [0, 1]
    std: object = None
    kind: str = "image"
    recipe: str = ""  # what the procedural data is, in words

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def unit(self) -> str:
        return "sequences" if self.kind in ("tokens", "series") else "images"

    def describe(self) -> str:
        what = f"{self.source}" + (f" ({self.recipe})" if self.recipe else "")
        return (f"{what}: {len(self.y_train)} training and {len(self.y_val)} held-out "
                f"{self.unit}, {self.num_classes} classes")

    def stats(self):
        if self.kind not in ("image", "segment"):
            return self
        sample = self.x_train[: min(len(self.x_train), 1024)].float() / 255
        self.mean = sample.mean(dim=(0, 2, 3))
        self.std = sample.std(dim=(0, 2, 3)).clamp_min(1e-3)
        return self

    def normalise(self, x, channels_last=False):
        """uint8 images -> float, centred and scaled per channel; token ids and
        float series (made centred and scaled) as they are."""
        import torch
        if self.kind not in ("image", "segment"):
            return x
        x = x.float().div_(255).sub_(self.mean.view(1, -1, 1, 1)).div_(self.std.view(1, -1, 1, 1))
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def target(self, y):
        """Labels as the loss takes them (int64): masks are kept as uint8."""
        return y.long()

    def chance(self) -> float:
        """Chance accuracy: one over the classes for a classifier, and for a
        segmenter the share of the held-out pixels of the most common class
        (the pixel accuracy of always guessing it)."""
        if self.kind != "segment":
            return 1.0 / self.num_classes
        return max(self.pixel_shares())

    def pixel_shares(self) -> list:
        """Each class's share of the held-out pixels (or labels)."""
        import torch
        counts = torch.bincount(self.y_val.reshape(-1).long(), minlength=self.num_classes).double()
        return (counts / counts.sum().clamp_min(1)).tolist()

    def to(self, device):
        for name in ("x_train", "y_train", "x_val", "y_val", "mean", "std"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self


def class_recipe(index: int) -> tuple[int, int, int]:
    """(shape, colour, texture) of class ``index``: neighbouring classes differ in
    shape first, then colour, then texture, so few classes are easy to tell apart."""
    s, c = len(SHAPES), len(COLOURS)
    a, b, t = index % s, (index // s) % c, index // (s * c)
    return a, (a + b) % c, (t + b) % len(TEXTURES)


def class_names(num_classes: int) -> list:
    out = []
    for i in range(num_classes):
        a, c, t = class_recipe(i)
        out.append(f"{COLOURS[c]} {SHAPES[a]}" + ("" if t == 0 else f" ({TEXTURES[t]})"))
    return out


def _palette(torch, channels, device):
    if channels == 3:
        return torch.tensor(_RGB, device=device)
    if channels == 1:
        return torch.tensor(_GREY, device=device).view(-1, 1)
    g = torch.Generator().manual_seed(1234)
    return (0.2 + 0.8 * torch.rand(len(COLOURS), channels, generator=g)).to(device)


def _figure(torch, kind, u, v):
    """Where figure ``kind`` is, in coordinates scaled by its radius (y points down)."""
    au, av = u.abs(), v.abs()
    if kind in (0, 3, 7):
        rho2 = u * u + v * v
        if kind == 0:
            return rho2 <= 1
        if kind == 3:
            return (rho2 >= 0.25) & (rho2 <= 1)
        return (rho2 <= 1) & (v <= 0.2)
    if kind == 1:
        return torch.maximum(au, av) <= 0.8
    if kind == 2:
        return (v <= 0.75) & (v >= -0.85) & (au <= (v + 0.85) * 0.6)
    if kind == 4:
        return ((au <= 0.28) & (av <= 1)) | ((av <= 0.28) & (au <= 1))
    if kind == 5:
        return au + av <= 1
    return (au <= 0.95) & ((av - 0.5).abs() <= 0.22)


def _texture(torch, kind, u, v):
    """The lit part of texture ``kind``: stripes have a period of 0.8 radius."""
    if kind == 0:
        return torch.ones_like(u, dtype=torch.bool)
    wave_u = torch.sin(u * (2.5 * math.pi)) > 0 if kind != 1 else None
    wave_v = torch.sin(v * (2.5 * math.pi)) > 0 if kind != 2 else None
    return wave_v if kind == 1 else wave_u if kind == 2 else wave_u ^ wave_v


def _render(torch, labels, shape, gen, device):
    """Images (float in [0, 1]) of one chunk of labels, and where each figure is
    (bool [n, H, W])."""
    n = labels.shape[0]
    c, h, w = shape
    side = min(h, w)

    def rand(*size):
        return torch.rand(*size, generator=gen, device=device)

    recipe = torch.tensor([class_recipe(i) for i in range(int(labels.max()) + 1)], device=device)
    kind, colour, texture = recipe[labels].unbind(1)
    r = (0.18 + 0.2 * rand(n)) * side  # radius in pixels
    cx = r + rand(n) * (w - 2 * r).clamp_min(0)
    cy = r + rand(n) * (h - 2 * r).clamp_min(0)
    ys = torch.arange(h, device=device, dtype=torch.float32).view(1, h, 1) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, w) + 0.5
    u = (xs - cx.view(n, 1, 1)) / r.view(n, 1, 1)
    v = (ys - cy.view(n, 1, 1)) / r.view(n, 1, 1)
    mask = torch.empty(n, h, w, dtype=torch.bool, device=device)
    pattern = torch.empty(n, h, w, dtype=torch.bool, device=device)
    for k in range(len(SHAPES)):  # each figure is drawn only where it is needed
        idx = (kind == k).nonzero().view(-1)
        if idx.numel():
            mask[idx] = _figure(torch, k, u[idx], v[idx])
    for k in range(len(TEXTURES)):
        idx = (texture == k).nonzero().view(-1)
        if idx.numel():
            pattern[idx] = _texture(torch, k, u[idx], v[idx])

    palette = _palette(torch, c, device)
    fg = (palette[colour] + 0.1 * (rand(n, c) - 0.5)).clamp(0, 1).view(n, c, 1, 1)
    bg = (0.3 * rand(n, c)).view(n, c, 1, 1)
    shade = torch.where(pattern, 1.0, 0.3).unsqueeze(1)
    img = torch.where(mask.unsqueeze(1), fg * shade, bg)
    img += torch.rand(n, c, h, w, generator=gen, device=device).sub_(0.5).mul_(0.2)  # pixel noise
    return img.clamp_(0, 1), mask


def procedural(num_classes: int, shape, n_train: int, n_val: int, seed: int, device="cpu",
               chunk: int = 512) -> Dataset:
    """The procedural dataset at ``shape`` (C, H, W), deterministic from ``seed``."""
    import torch
    if len(shape) != 3:
        raise UsageError(f"netviz train feeds images (CxHxW), but the model's input is "
                         f"{'x'.join(map(str, shape))}: start the network with an image input")
    if not 2 <= num_classes <= MAX_CLASSES:
        raise UsageError(f"the procedural dataset has 2 to {MAX_CLASSES} classes, not "
                         f"{num_classes}: choose --classes in that range")
    device = torch.device(device)
    gen = torch.Generator(device=device)
    parts = []
    for split, n in enumerate((n_train, n_val)):
        gen.manual_seed(seed * 2 + split)
        labels = torch.arange(n, device=device) % num_classes
        labels = labels[torch.randperm(n, generator=gen, device=device)]
        xs = [(_render(torch, labels[i:i + chunk], shape, gen, device)[0] * 255).round_()
              .to(torch.uint8) for i in range(0, n, chunk)]
        parts += [torch.cat(xs), labels]
    return Dataset(*parts, classes=class_names(num_classes), source="procedural").stats()


SEGMENT_FIGURES = 2  # figures per image of the segmentation data (the later on top)
SEGMENT_KINDS_2 = 32  # the figures of a 2-class (foreground/background) segmentation


def segmentation(num_classes: int, shape, n_train: int, n_val: int, seed: int, device="cpu",
                 chunk: int = 512) -> Dataset:
    """Images as :func:`procedural` makes them, each with two figures (the second
    drawn over the first), and their masks: class 0 is the background and class
    k+1 the pixels of figure k (shape, colour and texture as class k of the
    classification data); with 2 classes, every figure of 32 kinds is class 1,
    foreground. Deterministic from ``seed``."""
    import torch
    if len(shape) != 3:
        raise UsageError(f"segmentation needs an image input (CxHxW), not "
                         f"{'x'.join(map(str, shape))}")
    if not 2 <= num_classes <= MAX_CLASSES + 1:
        raise UsageError(f"the procedural segmentation data has 2 to {MAX_CLASSES + 1} classes "
                         f"(background and up to {MAX_CLASSES} figures), not {num_classes}")
    kinds = SEGMENT_KINDS_2 if num_classes == 2 else num_classes - 1
    device = torch.device(device)
    gen = torch.Generator(device=device)
    parts = []
    for split, n in enumerate((n_train, n_val)):
        gen.manual_seed(seed * 2 + split + 1_000_003)
        xs, ms = [], []
        for i in range(0, n, chunk):
            m = min(chunk, n - i)
            img = mask = None
            for _ in range(SEGMENT_FIGURES):
                kind = (torch.rand(m, generator=gen, device=device) * kinds).long().clamp_max(kinds - 1)
                fig, where = _render(torch, kind, shape, gen, device)
                label = (kind + 1 if num_classes > 2 else torch.ones_like(kind)).to(torch.uint8)
                if img is None:
                    img, mask = fig, torch.where(where, label.view(m, 1, 1), 0).to(torch.uint8)
                else:
                    img = torch.where(where.unsqueeze(1), fig, img)
                    mask = torch.where(where, label.view(m, 1, 1), mask)
            xs.append((img * 255).round_().to(torch.uint8))
            ms.append(mask)
        parts += [torch.cat(xs), torch.cat(ms)]
    names = ["background"] + (["figure"] if num_classes == 2 else class_names(num_classes - 1))
    recipe = ("two figures of 32 kinds per image; class per pixel: figure or background"
              if num_classes == 2 else f"two figures per image; class per pixel: background "
              f"or one of {num_classes - 1} figures")
    return Dataset(*parts, classes=names, source="procedural", kind="segment",
                   recipe=recipe).stats()


def _images_in(folder):
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_SUFFIXES)]
    return sorted(found)


def _split(root, name):
    path = os.path.join(root, name)
    if not os.path.isdir(path):
        raise UsageError(f"--data {root}: no {name}/ folder; expected {name}/<class>/<image> "
                         "(train/ and val/ as torchvision's ImageFolder reads them)")
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    items = [(f, c) for c in classes for f in _images_in(os.path.join(path, c))]
    if not items:
        raise UsageError(f"--data {root}: {name}/ holds no images ({', '.join(IMAGE_SUFFIXES)}) "
                         "in class folders")
    return classes, items


def folder_classes(root) -> list:
    """The class names of an ImageFolder-style ``root`` (its train/ subfolders),
    checking that train/ and val/ hold images."""
    if not os.path.isdir(root):
        raise UsageError(f"--data {root}: no such folder")
    classes, _ = _split(root, "train")
    val_classes, _ = _split(root, "val")
    unknown = sorted(set(val_classes) - set(classes))
    if unknown:
        raise UsageError(f"--data {root}: val/ has classes that train/ lacks: {', '.join(unknown)}")
    if len(classes) < 2:
        raise UsageError(f"--data {root}: train/ has {len(classes)} class folder; "
                         "classification needs at least 2")
    return classes


def image_folder(root, shape, device="cpu") -> Dataset:
    """train/ and val/ folders of images, one subfolder per class, decoded with
    PIL and resized to the model's input; all loaded into memory on ``device``."""
    import torch
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise UsageError(f"--data needs a model with a 1- or 3-channel image input, not "
                         f"{'x'.join(map(str, shape))}")
    try:
        from PIL import Image
    except ImportError:
        raise UsageError("--data needs Pillow to decode images: pip install pillow") from None
    classes = folder_classes(root)
    _, train = _split(root, "train")
    _, val = _split(root, "val")
    index = {c: i for i, c in enumerate(classes)}
    c, h, w = shape
    mode = "L" if c == 1 else "RGB"

    def load(items):
        x = torch.empty(len(items), c, h, w, dtype=torch.uint8)
        for i, (path, cls) in enumerate(items):
            try:
                with Image.open(path) as im:
                    im = im.convert(mode).resize((w, h), Image.BILINEAR)
                    data = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
            except (OSError, ValueError) as exc:
                raise UsageError(f"--data: cannot read {path}: {exc}") from None
            x[i] = data.view(h, w, c).permute(2, 0, 1)
        y = torch.tensor([index[cls] for _, cls in items], dtype=torch.int64)
        return x, y

    xt, yt = load(train)
    xv, yv = load(val)
    return Dataset(xt, yt, xv, yv, classes=classes, source=root).stats().to(device)


def epoch_order(n: int, epoch: int, seed: int):
    """The order of the training images in ``epoch``: the same on every rank and
    on resume, since it depends on the seed and the epoch alone."""
    import torch
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)
