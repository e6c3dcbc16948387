"""Procedural sequences: token ids for an embedding, or float series TxF.

Both are made on the training device, fully determined by the seed, with
balanced classes, and need no file and no download.

- **Tokens** (a network whose input is ``T`` token ids read by an embedding of
  ``num`` tokens): K of the tokens are *markers*, the others noise. Every
  sequence holds its class's marker more often than any other marker (from
  once, with no other marker, up to a few times among fewer copies of the
  others), at random positions among noise tokens: the class is *the marker
  that occurs most often*. The embedding's ``padding_idx`` is never used.
- **Series** (input ``TxF``, floats): class k is a sinusoid of the k-th of K
  frequencies, spread from one cycle per sequence to T/4, with a random
  amplitude and phase on each of the F channels, a small frequency jitter and
  Gaussian noise: the class is *how fast the channels oscillate*.
"""
from __future__ import annotations

import math

from ..errors import UsageError
from .data import Dataset


def _labels(torch, n, k, gen, device):
    labels = torch.arange(n, device=device) % k
    return labels[torch.randperm(n, generator=gen, device=device)]


def marker_tokens(vocab: int, classes: int, padding_idx=None) -> tuple[list, int]:
    """The K marker tokens, and the first noise token: markers are the first K
    tokens other than the padding token; noise is every token after them."""
    pad = None if padding_idx is None else padding_idx % vocab
    usable = [t for t in range(vocab) if t != pad]
    if len(usable) < classes + 1:
        raise UsageError(f"the embedding's vocabulary of {vocab} tokens is too small for "
                         f"{classes} classes: the procedural sequences need {classes} marker "
                         "tokens and at least one noise token"
                         + (" besides the padding token" if pad is not None else ""))
    return usable[:classes], len(usable)


def most_counts(length: int, classes: int) -> int:
    """How often the class's marker occurs at most: markers fill at most half the
    sequence even when every other marker occurs one time fewer."""
    return max(1, (length // 2 + classes - 1) // classes)


def _token_split(torch, labels, length, vocab, classes, padding_idx, gen, device):
    n = labels.shape[0]
    markers, _ = marker_tokens(vocab, classes, padding_idx)
    pad = None if padding_idx is None else padding_idx % vocab
    noise = torch.tensor([t for t in range(vocab) if t != pad][classes:], device=device)
    cmax = most_counts(length, classes)
    top = 1 + (torch.rand(n, generator=gen, device=device) * cmax).long().clamp_max(cmax - 1)
    counts = (torch.rand(n, classes, generator=gen, device=device) * top.view(n, 1)).long()
    counts = counts.clamp_max(top.view(n, 1) - 1)  # the others: fewer than the class's marker
    counts[torch.arange(n, device=device), labels] = top
    cum = counts.cumsum(1)  # slot i holds marker j when cum[j-1] <= i < cum[j]
    slot = torch.arange(length, device=device).view(1, length, 1)
    which = (slot >= cum.view(n, 1, classes)).sum(-1)  # 0..K; K: noise
    table = torch.tensor(markers, device=device)
    fill = noise[(torch.rand(n, length, generator=gen, device=device) * len(noise)).long()
                 .clamp_max(len(noise) - 1)]
    slots = torch.where(which < classes, table[which.clamp_max(classes - 1)], fill)
    where = torch.rand(n, length, generator=gen, device=device).argsort(1)  # random positions
    return torch.empty_like(slots).scatter_(1, where, slots)


def tokens(classes: int, length: int, vocab: int, n_train: int, n_val: int, seed: int,
           device="cpu", padding_idx=None) -> Dataset:
    """Sequences of ``length`` token ids below ``vocab``: the class is the marker
    token that occurs most often (see the module's description)."""
    import torch
    device = torch.device(device)
    marker_tokens(vocab, classes, padding_idx)
    gen = torch.Generator(device=device)
    parts = []
    for split, n in enumerate((n_train, n_val)):
        gen.manual_seed(seed * 2 + split)
        labels = _labels(torch, n, classes, gen, device)
        parts += [_token_split(torch, labels, length, vocab, classes, padding_idx, gen, device),
                  labels]
    markers, _ = marker_tokens(vocab, classes, padding_idx)
    names = [f"marker {t}" for t in markers]
    return Dataset(*parts, classes=names, source="procedural", kind="tokens",
                   recipe=f"sequences of {length} tokens from {vocab}; the class is the most "
                          f"frequent of {classes} marker tokens")


def frequencies(length: int, classes: int) -> list:
    """Cycles per sequence of each class: from 1 to max(2, T/4), evenly spaced."""
    hi = max(2.0, length / 4)
    if classes == 1:
        return [1.0]
    return [1.0 + (hi - 1.0) * k / (classes - 1) for k in range(classes)]


def series(classes: int, shape, n_train: int, n_val: int, seed: int, device="cpu",
           noise: float = 0.3) -> Dataset:
    """Float sequences TxF: class k oscillates at the k-th frequency on every channel."""
    import torch
    length, features = shape
    if length < 4:
        raise UsageError(f"the procedural float sequences need at least 4 time steps, not "
                         f"{length}: give a longer input (--input TxF)")
    device = torch.device(device)
    freq = torch.tensor(frequencies(length, classes), device=device)
    spacing = float(freq[1] - freq[0]) if classes > 1 else 1.0
    t = torch.arange(length, device=device, dtype=torch.float32).view(1, length, 1)
    gen = torch.Generator(device=device)
    parts = []
    for split, n in enumerate((n_train, n_val)):
        gen.manual_seed(seed * 2 + split)
        labels = _labels(torch, n, classes, gen, device)

        def rand(*size):
            return torch.rand(*size, generator=gen, device=device)
        f = freq[labels] + (rand(n) - 0.5) * 0.4 * spacing  # +-20% of the spacing
        amp = (0.5 + rand(n, 1, features))
        phase = rand(n, 1, features) * (2 * math.pi)
        x = amp * torch.sin(2 * math.pi * f.view(n, 1, 1) * t / length + phase)
        x += noise * torch.randn(n, length, features, generator=gen, device=device)
        parts += [x, labels]
    names = [f"{float(c):.3g} cycles" for c in freq]
    return Dataset(*parts, classes=names, source="procedural", kind="series",
                   recipe=f"{length}x{features} series; the class is the frequency, one of "
                          f"{classes} from {float(freq[0]):.3g} to {float(freq[-1]):.3g} cycles "
                          "per sequence")
