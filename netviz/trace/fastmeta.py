"""Faster meta tensors for the calls whose output shape is plain.

On the meta device nothing is computed, only shapes, but torch still works
them out through Python decompositions that are slow for some calls
(batch_norm alone is most of a ResNet's meta forward). While tracing on meta,
this torch-function mode answers those calls itself with an empty meta tensor
of the shape torch would give: the input's shape for normalisations,
activations and dropout, the broadcast shape for element-wise arithmetic, the
last dimension swapped for linear, and the query's shape for attention. In-place
calls give back their input, as torch does. Every other call runs as usual.
"""
from __future__ import annotations

SAME_SHAPE = frozenset(
    "batch_norm layer_norm group_norm instance_norm local_response_norm rms_norm relu relu6 "
    "gelu silu sigmoid tanh hardswish hardsigmoid mish leaky_relu elu selu celu hardtanh "
    "softplus dropout dropout1d dropout2d dropout3d alpha_dropout softmax log_softmax".split())
ARITHMETIC = frozenset("add sub mul div truediv radd rsub rmul rtruediv".split())
IN_PLACE_ARITHMETIC = frozenset(
    "__iadd__ __isub__ __imul__ __itruediv__ add_ sub_ mul_ div_".split())


def _inplace(name: str, args, kwargs) -> bool:
    if kwargs.get("inplace"):
        return True
    if name.endswith("_") and not name.startswith("__"):
        return True  # relu_, add_, ...
    # F.relu(x, True), F.dropout(x, p, training, True), F.hardtanh(x, lo, hi, True)
    return len(args) > 1 and args[-1] is True and name.strip("_") in (
        "relu", "relu6", "elu", "selu", "celu", "leaky_relu", "hardtanh", "dropout",
        "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "hardswish", "hardsigmoid",
        "silu", "mish")


def same_shape_modules() -> tuple:
    """Module classes whose forward gives back the input's shape (exact
    classes: a subclass may do more)."""
    from torch import nn
    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
            nn.LocalResponseNorm, nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
            nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.LeakyReLU, nn.ELU, nn.Dropout,
            nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity)


def module_output(module, args, kwargs, classes):
    """On meta, the output of a same-shape module without running it; else None."""
    import torch
    if kwargs or len(args) != 1 or type(module) not in classes:
        return None
    x = args[0]
    if not isinstance(x, torch.Tensor) or x.device.type != "meta":
        return None
    if getattr(module, "inplace", False) or type(module) is torch.nn.Identity:
        return x
    return torch.empty(x.shape, dtype=x.dtype, device="meta")


def fast_meta_mode():
    import torch
    from torch.overrides import TorchFunctionMode

    Tensor = torch.Tensor

    def binary(a, b):
        ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
        if ta and tb:
            if a.device.type != "meta" or b.device.type != "meta":
                return None
            shape = torch.broadcast_shapes(a.shape, b.shape)
            return torch.empty(shape, dtype=torch.result_type(a, b), device="meta")
        t = a if ta else b
        if not isinstance(a if tb else b, (int, float, bool)) or t.device.type != "meta":
            return None
        return torch.empty(t.shape, dtype=torch.result_type(a, b), device="meta")

    class FastMeta(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            raw = getattr(func, "__name__", "")
            name = raw.strip("_")
            first = args[0] if args else None
            if isinstance(first, Tensor) and first.device.type == "meta":
                if name in SAME_SHAPE:
                    if name.endswith("softmax") and (len(args) > 3 or kwargs.get("dtype")):
                        return func(*args, **kwargs)  # a dtype of its own
                    if _inplace(raw, args, kwargs):
                        return first
                    return torch.empty(first.shape, dtype=first.dtype, device="meta")
                if name == "linear" and len(args) > 1 and isinstance(args[1], Tensor):
                    return first.new_empty(first.shape[:-1] + (args[1].shape[0],))
                if name == "multi_head_attention_forward":
                    out = _attention(first, args, kwargs)
                    if out is not None:
                        return out
            if len(args) == 2 and not kwargs:
                if raw in IN_PLACE_ARITHMETIC:
                    if isinstance(first, Tensor) and binary(*args) is not None and \
                            binary(*args).shape == first.shape:
                        return first
                elif name in ARITHMETIC:
                    out = binary(*args)
                    if out is not None:
                        return out
            return func(*args, **kwargs)

    return FastMeta()


_MHA = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
        "in_proj_bias", "bias_k", "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight",
        "out_proj_bias", "training", "key_padding_mask", "need_weights", "attn_mask",
        "use_separate_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
        "static_k", "static_v", "average_attn_weights", "is_causal")


def _attention(query, args, kwargs):
    """(attn_output, attn_weights) of F.multi_head_attention_forward, or None
    where the plain shapes do not apply (extra key/value rows)."""
    a = dict(zip(_MHA, args))
    a.update(kwargs)
    if a.get("bias_k") is not None or a.get("add_zero_attn") or a.get("static_k") is not None:
        return None
    key = a["key"]
    batched = query.dim() == 3
    e, heads = a["embed_dim_to_check"], a["num_heads"]
    out = query.new_empty(query.shape[:-1] + (e,))
    if not a.get("need_weights", True):
        return out, None
    lq, s = query.shape[0], key.shape[0]
    n = query.shape[1] if batched else None
    avg = a.get("average_attn_weights", True)
    shape = ((lq, s) if avg else (heads, lq, s))
    weights = query.new_empty(((n,) + shape) if batched else shape)
    return out, weights
