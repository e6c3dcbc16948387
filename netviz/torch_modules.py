"""The torch modules netviz defines for its layer types: the fast LRN, the add
and concat joins, and recurrent layers that return their output sequence (or
its last step) alone.

Both the builder (a spec becomes a module) and the tracer (a module becomes a
spec: netviz's own modules map back to their layer types) use them, so they
live here, apart from both. torch is imported only when a class is asked for.
"""
from __future__ import annotations

from .errors import UsageError


def _torch():
    try:
        import torch
    except ImportError:
        raise UsageError("this needs PyTorch, which is not installed: "
                         "pip install 'netviz[torch]'") from None
    return torch


# -- fast local response normalisation ---------------------------------------

def lrn_class():
    """The :class:`FastLRN` module class (defined on first use: it needs torch)."""
    global _FastLRN
    if _FastLRN is None:
        _FastLRN = _define_lrn()
    return _FastLRN


_FastLRN = None


def _define_lrn():
    torch = _torch()
    import torch.nn.functional as F

    class FastLRN(torch.nn.Module):
        """Local response normalisation, equal to :class:`torch.nn.LocalResponseNorm`.

        torch computes the sum of squares over neighbouring channels with
        ``avg_pool3d`` on a padded 5-D copy of the input, which is slow
        (more than half of the 2012 AlexNet's training step on a GPU). Here
        the sum is one 1x1 convolution with a fixed band matrix (a GEMM, on
        tensor cores under autocast, and friendly to channels_last), and the
        rest is element-wise: ``x * (k + alpha/size * band(x^2)) ** -beta``
        (equal to torch's within rounding, in values and gradients).
        """

        def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                     k: float = 1.0, channels: int | None = None):
            super().__init__()
            self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)
            band = self._make_band(channels, None) if channels else torch.empty(0)
            self.register_buffer("band", band, persistent=False)

        def extra_repr(self):
            return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

        def _make_band(self, channels, device):
            # output channel c sums input channels c - size//2 .. c + (size-1)//2:
            # the window torch's zero padding gives, divided by size as its average is.
            idx = torch.arange(channels, device=device)
            diff = idx.view(1, -1) - idx.view(-1, 1)  # [c_out, c_in] = c_in - c_out
            band = (diff >= -(self.size // 2)) & (diff <= (self.size - 1) // 2)
            return band.float()  # 0/1: exact in every dtype

        def forward(self, x):
            if x.dim() < 3:
                raise ValueError(f"LRN needs a (N, C, ...) input with a spatial extent, "
                                 f"got {tuple(x.shape)}")
            c = x.shape[1]
            band = self.band if self.band.shape[0] == c else self._make_band(c, x.device)
            sq = x * x
            weight = band.to(sq.dtype).view(c, c, 1, 1)
            if x.dim() == 4:
                s = F.conv2d(sq, weight)
            else:
                s = F.conv2d(sq.reshape(sq.shape[0], c, -1, 1), weight).reshape(sq.shape)
            return x * s.mul(self.alpha / self.size).add_(self.k).pow_(-self.beta)

    return FastLRN


# -- joins and recurrent layers ----------------------------------------------

RECURRENT: dict = {}  # "lstm" / "gru" / "rnn" -> class, filled by define()
_joins: dict = {}


def _recurrent_class(base):
    """``base`` (nn.LSTM, GRU or RNN) returning its output sequence alone, or its
    last time step with ``last``: the states torch also returns are dropped."""

    class Recurrent(base):
        def __init__(self, *args, last: bool = False, **kwargs):
            super().__init__(*args, **kwargs)
            self.last = bool(last)

        def extra_repr(self):
            return super().extra_repr() + (", last=True" if self.last else "")

        def forward(self, x):
            out = super().forward(x)[0]
            return out[:, -1] if self.last else out

    Recurrent.__name__ = Recurrent.__qualname__ = base.__name__
    return Recurrent


def define():
    """Define the classes (once): fills :data:`RECURRENT`."""
    if _joins:
        return
    torch = _torch()
    for kind, base in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)):
        RECURRENT[kind] = _recurrent_class(base)

    class Add(torch.nn.Module):
        """Element-wise sum of the inputs (a residual join)."""

        def forward(self, *xs):
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out

    class Concat(torch.nn.Module):
        """Concatenation along the channels."""

        def forward(self, *xs):
            return torch.cat(xs, dim=1)

    _joins["add"], _joins["concat"] = Add, Concat


def add_class():
    """The module summing its inputs (a residual join)."""
    define()
    return _joins["add"]


def concat_class():
    """The module concatenating its inputs along the channels."""
    define()
    return _joins["concat"]


# -- normalisation, attention and gating ---------------------------------------

_modern: dict = {}


def modern_classes() -> dict:
    """The modules of the layer types transformers brought (defined once):
    "channel_norm", "attention", "products", "window_attention", "mul",
    "stochastic_depth", "add_bias"."""
    if not _modern:
        _modern.update(_define_modern())
    return _modern


def _define_modern() -> dict:
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class ChannelLayerNorm(nn.LayerNorm):
        """Layer normalisation over the channels of an (N, C, H, W) map at each
        position (ConvNeXt's LayerNorm2d): permuted to channels last and back."""

        def forward(self, x):
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class SelfAttention(nn.MultiheadAttention):
        """nn.MultiheadAttention (batch_first) returning its output alone: one
        input attends to itself, two are queries and keys-and-values, three
        queries, keys and values."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, batch_first=True, **kwargs)

        def forward(self, query, key=None, value=None):
            key = query if key is None else key
            value = key if value is None else value
            return super().forward(query, key, value, need_weights=False)[0]

    class DotProductAttention(nn.Module):
        """The attention products alone (F.scaled_dot_product_attention) on
        inputs already split into ``heads``."""

        def __init__(self, heads: int, dropout: float = 0.0):
            super().__init__()
            self.heads, self.dropout = int(heads), float(dropout)

        def extra_repr(self):
            return f"heads={self.heads}, dropout={self.dropout}"

        def forward(self, query, key=None, value=None):
            key = query if key is None else key
            value = key if value is None else value
            return F.scaled_dot_product_attention(query, key, value,
                                                  dropout_p=self.dropout if self.training else 0.0)

    class WindowAttention(nn.Module):
        """Swin's (shifted) window attention on an (N, H, W, C) map, as
        torchvision's shifted_window_attention computes it: padded to whole
        windows, cyclically shifted, each window's tokens attending to each
        other (with a relative position bias per head with ``rel_pos``)."""

        def __init__(self, dim: int, heads: int, window, shift=(0, 0), bias: bool = True,
                     rel_pos: bool = False, dropout: float = 0.0):
            super().__init__()
            self.heads, self.window, self.shift = int(heads), tuple(window), tuple(shift)
            self.dropout = float(dropout)
            self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
            self.proj = nn.Linear(dim, dim, bias=bias)
            wh, ww = self.window
            if rel_pos:
                self.rel_pos_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), heads))
                nn.init.trunc_normal_(self.rel_pos_table, std=0.02)
                dh = torch.arange(wh).view(-1, 1, 1, 1) - torch.arange(wh).view(1, 1, -1, 1)
                dw = torch.arange(ww).view(1, -1, 1, 1) - torch.arange(ww).view(1, 1, 1, -1)
                index = (dh + wh - 1) * (2 * ww - 1) + (dw + ww - 1)
                self.register_buffer("rel_pos_index", index.reshape(-1), persistent=False)
            else:
                self.rel_pos_table = None

        def extra_repr(self):
            return f"heads={self.heads}, window={self.window}, shift={self.shift}"

        def _mask(self, ph, pw, shift, device):
            """The bias added to the attention logits, (windows or 1, heads or 1, N, N)."""
            (wh, ww), n = self.window, self.window[0] * self.window[1]
            mask = None
            if self.rel_pos_table is not None:
                mask = self.rel_pos_table[self.rel_pos_index].view(n, n, -1).permute(2, 0, 1)
                mask = mask.unsqueeze(0)
            if any(shift):
                region = torch.zeros(ph, pw, device=device)
                count = 0
                for hs in ((0, -wh), (-wh, -shift[0]), (-shift[0], None)):
                    for ws in ((0, -ww), (-ww, -shift[1]), (-shift[1], None)):
                        region[hs[0]:hs[1], ws[0]:ws[1]] = count
                        count += 1
                region = region.view(ph // wh, wh, pw // ww, ww).permute(0, 2, 1, 3).reshape(-1, n)
                apart = (region.unsqueeze(1) - region.unsqueeze(2)) != 0
                shifted = torch.zeros(apart.shape, device=device).masked_fill(apart, -100.0)
                mask = shifted.unsqueeze(1) if mask is None else mask + shifted.unsqueeze(1)
            return mask

        def forward(self, x):
            b, h, w, c = x.shape
            (wh, ww), heads = self.window, self.heads
            x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
            ph, pw = x.shape[1], x.shape[2]
            shift = (0 if wh >= ph else self.shift[0], 0 if ww >= pw else self.shift[1])
            if any(shift):
                x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
            nh, nw, n = ph // wh, pw // ww, wh * ww
            x = x.view(b, nh, wh, nw, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nh * nw, n, c)
            q, k, v = self.qkv(x).reshape(b * nh * nw, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            mask = self._mask(ph, pw, shift, x.device)
            if mask is not None:
                mask = mask.to(q.dtype).expand(nh * nw, heads, n, n).repeat(b, 1, 1, 1)
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                               dropout_p=self.dropout if self.training else 0.0)
            x = self.proj(x.transpose(1, 2).reshape(b * nh * nw, n, c))
            x = x.view(b, nh, nw, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
            if any(shift):
                x = torch.roll(x, shifts=shift, dims=(1, 2))
            return x[:, :h, :w, :].contiguous()

    class Mul(nn.Module):
        """The element-wise product of two inputs (a gate), or of one input and
        a learned scale of shape ``scale`` (a layer scale), broadcast as torch does."""

        def __init__(self, scale=None):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(tuple(scale))) if scale is not None else None

        def forward(self, x, gate=None):
            return x * (self.scale if gate is None else gate)

    class StochasticDepth(nn.Module):
        """Stochastic depth, as torchvision.ops.StochasticDepth: in training, a
        residual branch's output zeroed with probability ``p`` for each sample
        (``drops="samples"``) or for the whole batch (``"batch"``), the rest
        scaled by 1/(1-p); nothing in evaluation."""

        def __init__(self, p: float, drops: str = "samples"):
            super().__init__()
            if drops not in ("samples", "batch"):
                raise ValueError(f"drops must be samples or batch, got {drops!r}")
            self.p, self.drops = float(p), drops

        def extra_repr(self):
            return f"p={self.p}, drops={self.drops}"

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.drops == "samples" else (1,) * x.dim()
            keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
            if self.p < 1.0:
                keep = keep / (1.0 - self.p)
            return x * keep

    class AddBias(nn.Module):
        """One input plus a learned addend of shape ``bias`` (a position
        embedding), broadcast as torch does."""

        def __init__(self, bias):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(tuple(bias)))

        def forward(self, x):
            return x + self.bias

    return {"channel_norm": ChannelLayerNorm, "attention": SelfAttention,
            "products": DotProductAttention, "window_attention": WindowAttention, "mul": Mul,
            "stochastic_depth": StochasticDepth, "add_bias": AddBias}
