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
