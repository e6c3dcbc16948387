"""The traced calls that are normalisation, attention or gating layers: the
torch modules (nn.LayerNorm, GroupNorm, RMSNorm, MultiheadAttention, netviz's
own, ConvNeXt's LayerNorm2d and torchvision's StochasticDepth known by name) and the functions (F.layer_norm,
F.group_norm, F.rms_norm, F.scaled_dot_product_attention, torchvision's
shifted_window_attention, x * y, x + a learned addend). Each gives (type, attrs) or None; the
tracer keeps the type only where the shape engine agrees with what was measured.
"""
from __future__ import annotations

from ..layers import complete


def _attrs(type_name: str, **given) -> tuple[str, dict]:
    return type_name, complete(type_name, given)


def _pair(v):
    v = (v, v) if isinstance(v, int) else tuple(v)
    if len(v) == 1:
        v = (v[0], v[0])
    if len(v) != 2 or not all(isinstance(i, int) for i in v):
        raise ValueError(v)
    return v


def _as_tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _layernorm(m):
    if m.elementwise_affine and m.weight is None:
        return None
    return _attrs("layernorm", dims=len(m.normalized_shape), eps=float(m.eps),
                  affine=bool(m.elementwise_affine),
                  bias=m.bias is not None if m.elementwise_affine else True)


def _channel_layernorm(m):
    """ConvNeXt's LayerNorm2d (and netviz's own): over the channels of a map."""
    if len(m.normalized_shape) != 1:
        return None
    return _attrs("layernorm", channels=True, eps=float(m.eps), affine=bool(m.elementwise_affine),
                  bias=m.bias is not None if m.elementwise_affine else True)


def _rmsnorm(m):
    return _attrs("rmsnorm", dims=len(m.normalized_shape),
                  eps=float(m.eps) if m.eps is not None else None,
                  affine=bool(m.elementwise_affine))


def _mha(m):
    """nn.MultiheadAttention in the batch_first layout (sequences TxE without
    the batch); the sequence-first layout keeps the batch in dimension 1."""
    if not m.batch_first or m.bias_k is not None or m.add_zero_attn:
        return None
    if (m.in_proj_bias is None) != (m.out_proj.bias is None):
        return None
    return _attrs("attention", heads=m.num_heads, bias=m.in_proj_bias is not None,
                  dropout=float(m.dropout))


def _window_attention(m):
    return _attrs("attention", kind="windowed", heads=m.heads, window=_pair(m.window),
                  shift=_pair(m.shift), bias=m.qkv.bias is not None,
                  rel_pos=m.rel_pos_table is not None, dropout=m.dropout)


def _stochastic_depth(m):
    """torchvision.ops.StochasticDepth: dropout of whole samples (its row
    mode) or of the whole batch."""
    drops = {"row": "samples", "batch": "batch"}.get(getattr(m, "mode", None))
    if drops is None:
        return None
    return _attrs("dropout", p=float(m.p), drops=drops)


# classes of other libraries known by name, so that importing them is never needed
NAMED = {("torchvision.models.convnext", "LayerNorm2d"): _channel_layernorm,
         ("torchvision.ops.stochastic_depth", "StochasticDepth"): _stochastic_depth}


def modern_function(name: str, a: dict, n_data: int, n_const: int):
    """Normalisation, attention and gating written as functions: F.layer_norm,
    F.group_norm, F.rms_norm, F.scaled_dot_product_attention, torchvision's
    shifted_window_attention (kept as one call by torch.fx), and x * y."""
    if name == "mul" and n_data == 2 and not n_const:
        return _attrs("mul")  # a gate: x * sigmoid(s)
    if name in ("mul", "add") and n_data == 1 and n_const == 1 and a.get("alpha", 1) == 1:
        from torch.nn import Parameter
        scale = [t for t in (a.get("input"), a.get("other")) if isinstance(t, Parameter)]
        if len(scale) != 1:
            return None
        shape = tuple(scale[0].shape)
        while len(shape) > 1 and shape[0] == 1:  # (1, 1, C) on (N, T, C): the batch's 1s
            shape = shape[1:]
        if name == "add":
            return _attrs("add", bias=shape)  # a learned addend: a position embedding
        return _attrs("mul", scale=shape)  # a learned layer scale
    if n_data != 1 and name in ("layer_norm", "group_norm", "rms_norm"):
        return None
    if name == "layer_norm":
        affine = a.get("weight") is not None
        if not affine and a.get("bias") is not None:
            return None
        return _attrs("layernorm", dims=len(_as_tuple(a["normalized_shape"])),
                      eps=float(a.get("eps", 1e-5)), affine=affine,
                      bias=a.get("bias") is not None if affine else True)
    if name == "group_norm":
        affine = a.get("weight") is not None
        if affine != (a.get("bias") is not None):
            return None
        return _attrs("groupnorm", groups=int(a["num_groups"]), eps=float(a.get("eps", 1e-5)),
                      affine=affine)
    if name == "rms_norm":
        eps = a.get("eps")
        return _attrs("rmsnorm", dims=len(_as_tuple(a["normalized_shape"])),
                      eps=float(eps) if eps is not None else None,
                      affine=a.get("weight") is not None)
    if name == "scaled_dot_product_attention" and 1 <= n_data <= 3 and not a.get("enable_gqa"):
        q = a["query"]
        return _attrs("attention", heads=int(q.shape[1]) if q.dim() == 4 else 1, project=False,
                      dropout=float(a.get("dropout_p", 0.0)))
    if name == "shifted_window_attention" and n_data == 1 and a.get("logit_scale") is None:
        if (a.get("qkv_bias") is None) != (a.get("proj_bias") is None):
            return None
        return _attrs("attention", kind="windowed", heads=int(a["num_heads"]),
                      window=_pair(tuple(a["window_size"])), shift=_pair(tuple(a["shift_size"])),
                      bias=a.get("qkv_bias") is not None,
                      rel_pos=a.get("relative_position_bias") is not None,
                      dropout=float(a.get("attention_dropout", 0.0)))
    return None


def modern_module_table() -> dict:
    """Module class -> function(module) giving (type, attrs) or None."""
    from torch import nn

    from ..torch_modules import modern_classes
    own = modern_classes()
    return {
        nn.LayerNorm: _layernorm, nn.RMSNorm: _rmsnorm,
        nn.GroupNorm: lambda m: _attrs("groupnorm", groups=m.num_groups, eps=float(m.eps),
                                       affine=bool(m.affine)),
        nn.MultiheadAttention: _mha,
        own["channel_norm"]: _channel_layernorm, own["attention"]: _mha,
        own["window_attention"]: _window_attention,
        own["products"]: lambda m: _attrs("attention", heads=m.heads, project=False,
                                          dropout=m.dropout),
        own["stochastic_depth"]: lambda m: _attrs("dropout", p=m.p, drops=m.drops),
        own["add_bias"]: lambda m: _attrs("add", bias=tuple(m.bias.shape)),
        own["mul"]: lambda m: _attrs("mul", scale=tuple(m.scale.shape) if m.scale is not None
                                     else None),
    }
