"""The table of layer types a spec may use.

One entry per type: its fields (kind, default, documentation), its aliases,
the scalar a short form sets (``- fc: 4096`` sets ``out``) and the category
styles draw it as. The spec reader validates against this table and the spec
reference in the docs is generated from it, so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # pos, nonneg, pair_pos, pair_nonneg, bool, float, prob, shape, str, int
    default: object = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class LayerType:
    name: str
    category: str
    doc: str
    fields: tuple[Field, ...] = ()
    short: str | None = None  # the field a scalar short form sets
    aliases: tuple[str, ...] = ()
    min_inputs: int = 1
    max_inputs: int | None = 1

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


_WINDOW = (
    Field("stride", "pair_pos", None, "step of the window; default: the kernel size"),
    Field("pad", "pair_nonneg", 0, "zero padding on each side"),
)

ACTIVATIONS = {
    "relu": "max(0, x)", "relu6": "min(max(0, x), 6)",
    "leaky_relu": "ReLU with a small slope for x < 0",
    "elu": "exponential linear unit", "gelu": "Gaussian error linear unit",
    "silu": "x * sigmoid(x) (swish)", "sigmoid": "logistic function",
    "tanh": "hyperbolic tangent", "hardswish": "hard swish",
    "hardsigmoid": "hard sigmoid", "mish": "x * tanh(softplus(x))",
}

TYPES: tuple[LayerType, ...] = (
    LayerType("input", "input", "The network's input; one per network.",
              (Field("shape", "shape", REQUIRED, "CxHxW (or features), without the batch"),),
              short="shape", min_inputs=0, max_inputs=0),
    LayerType("conv", "conv", "2-D convolution (torch.nn.Conv2d).", (
        Field("out", "pos", REQUIRED, "output channels"),
        Field("kernel", "pair_pos", REQUIRED, "kernel size: n or [h, w]"),
        Field("stride", "pair_pos", 1, "stride"),
        Field("pad", "pair_nonneg", 0, "zero padding on each side"),
        Field("dilation", "pair_pos", 1, "spacing between kernel taps"),
        Field("groups", "pos", 1, "channel groups; divides both in and out channels"),
        Field("bias", "bool", True, "learn an additive bias"),
    ), short="out", aliases=("conv2d", "convolution")),
    LayerType("deconv", "deconv", "2-D transposed convolution, or deconvolution "
              "(torch.nn.ConvTranspose2d; Caffe's Deconvolution): each input pixel "
              "spreads a kernel over the output, which grows by the stride: "
              "(H-1)*stride - 2*pad + dilation*(kernel-1) + output_pad + 1.", (
        Field("out", "pos", REQUIRED, "output channels"),
        Field("kernel", "pair_pos", REQUIRED, "kernel size: n or [h, w]"),
        Field("stride", "pair_pos", 1, "stride: how much the output grows"),
        Field("pad", "pair_nonneg", 0, "rows and columns cut from each side of the output"),
        Field("output_pad", "pair_nonneg", 0, "extra rows and columns added on one side of the "
              "output; less than the stride or the dilation"),
        Field("dilation", "pair_pos", 1, "spacing between kernel taps"),
        Field("groups", "pos", 1, "channel groups; divides both in and out channels"),
        Field("bias", "bool", True, "learn an additive bias"),
    ), short="out", aliases=("convtranspose2d", "conv_transpose", "conv_transpose2d",
                             "deconvolution", "transposed_conv")),
    LayerType("upsample", "upsample", "Upsampling by interpolation, without parameters "
              "(torch.nn.Upsample, F.interpolate): give either a scale (output size "
              "floor(H*scale), as torch computes it) or an output size, not both.", (
        Field("scale", "float", None, "factor on height and width"),
        Field("size", "pair_pos", None, "output size: n or [h, w]"),
        Field("mode", "str", "nearest", "nearest, bilinear or bicubic"),
        Field("align_corners", "bool", None, "bilinear and bicubic only: align the corner "
              "pixels of input and output (torch's align_corners)"),
    ), short="scale", aliases=("interpolate", "upsampling")),
    LayerType("lrn", "lrn", "Local response normalisation across channels "
              "(torch.nn.LocalResponseNorm; the 2012 AlexNet uses size 5, "
              "alpha 1e-4, beta 0.75, k 2).", (
        Field("size", "pos", 5, "number of neighbouring channels"),
        Field("alpha", "float", 1e-4, "scale"),
        Field("beta", "float", 0.75, "exponent"),
        Field("k", "float", 1.0, "additive constant"),
    ), short="size", aliases=("localresponsenorm",)),
    LayerType("maxpool", "maxpool", "2-D max pooling (torch.nn.MaxPool2d).", (
        Field("kernel", "pair_pos", REQUIRED, "window size: n or [h, w]"), *_WINDOW,
        Field("dilation", "pair_pos", 1, "spacing between window taps"),
        Field("ceil_mode", "bool", False, "round the output size up instead of down"),
    ), short="kernel", aliases=("max_pool", "maxpool2d", "max_pool2d")),
    LayerType("avgpool", "avgpool", "2-D average pooling (torch.nn.AvgPool2d).", (
        Field("kernel", "pair_pos", REQUIRED, "window size: n or [h, w]"), *_WINDOW,
        Field("ceil_mode", "bool", False, "round the output size up instead of down"),
        Field("count_include_pad", "bool", True, "count padding in the average"),
    ), short="kernel", aliases=("avg_pool", "avgpool2d", "avg_pool2d")),
    LayerType("adaptive_avgpool", "avgpool", "Adaptive average pooling to a fixed "
              "output size (torch.nn.AdaptiveAvgPool2d).",
              (Field("output", "pair_pos", REQUIRED, "output size: n or [h, w]"),),
              short="output", aliases=("adaptiveavgpool2d", "adaptive_avg_pool")),
    LayerType("adaptive_maxpool", "maxpool", "Adaptive max pooling to a fixed "
              "output size (torch.nn.AdaptiveMaxPool2d).",
              (Field("output", "pair_pos", REQUIRED, "output size: n or [h, w]"),),
              short="output", aliases=("adaptivemaxpool2d", "adaptive_max_pool")),
    LayerType("global_avgpool", "avgpool", "Average over the whole spatial extent "
              "(adaptive average pooling to 1x1; x.mean((2, 3), keepdim=True)).",
              (Field("keepdim", "bool", True, "keep the 1x1: false gives the C features alone, "
                     "as x.mean((2, 3)) does"),), aliases=("gap",)),
    LayerType("flatten", "flatten", "Flatten CxHxW into one vector of C*H*W features."),
    LayerType("fc", "fc", "Fully connected layer (torch.nn.Linear), applied to the "
              "last dimension of its input as torch does: put a flatten before it "
              "to use a whole feature map.", (
        Field("out", "pos", REQUIRED, "output features"),
        Field("bias", "bool", True, "learn an additive bias"),
    ), short="out", aliases=("linear", "dense", "innerproduct", "fully_connected")),
    LayerType("dropout", "dropout", "Dropout (only active in training): of single elements "
              "(torch.nn.Dropout), or, with drops: samples or batch, stochastic depth "
              "(torchvision.ops.StochasticDepth): a residual branch's whole output dropped for "
              "some samples of the batch, or for the whole batch at once; what is kept is "
              "scaled by 1/(1-p).", (
        Field("p", "prob", 0.5, "probability of zeroing an element (a sample's output, the batch's)"),
        Field("drops", "str", "elements", "what is dropped together: elements, samples "
              "(stochastic depth's row mode) or batch"),
    ), short="p"),
    LayerType("batchnorm", "batchnorm", "Batch normalisation over channels "
              "(torch.nn.BatchNorm2d, or BatchNorm1d on vectors).", (
        Field("eps", "float", 1e-5, "added to the variance"),
        Field("momentum", "float", 0.1, "running-statistics momentum"),
        Field("affine", "bool", True, "learn a scale and shift per channel"),
    ), aliases=("bn", "batchnorm2d", "batch_norm")),
    LayerType("layernorm", "norm", "Layer normalisation (torch.nn.LayerNorm): each "
              "sample is normalised over its last `dims` dimensions (torch's normalized_shape "
              "is those sizes), or, with channels: true, over the channels at each position of "
              "a CxHxW map (ConvNeXt's LayerNorm2d). The output has the input's shape.", (
        Field("dims", "pos", 1, "trailing dimensions normalised together"),
        Field("channels", "bool", False, "normalise over the channels of a CxHxW map at each "
              "position instead of over the trailing dimensions"),
        Field("eps", "float", 1e-5, "added to the variance"),
        Field("affine", "bool", True, "learn a scale per normalised element "
              "(torch's elementwise_affine)"),
        Field("bias", "bool", True, "with affine: learn a shift per normalised element too"),
    ), aliases=("layer_norm", "ln")),
    LayerType("groupnorm", "norm", "Group normalisation (torch.nn.GroupNorm): the "
              "channels (the first dimension) split into groups, each normalised over its "
              "channels and the whole spatial extent.", (
        Field("groups", "pos", REQUIRED, "channel groups; divides the channels"),
        Field("eps", "float", 1e-5, "added to the variance"),
        Field("affine", "bool", True, "learn a scale and shift per channel"),
    ), short="groups", aliases=("group_norm", "gn")),
    LayerType("rmsnorm", "norm", "Root-mean-square normalisation (torch.nn.RMSNorm): each "
              "sample divided by the root mean square of its last `dims` dimensions, "
              "without centring.", (
        Field("dims", "pos", 1, "trailing dimensions normalised together"),
        Field("eps", "float", None, "added to the mean square; default: the machine "
              "epsilon of the input's type, as torch"),
        Field("affine", "bool", True, "learn a scale per normalised element"),
    ), aliases=("rms_norm",)),
    LayerType("attention", "attention", "Multi-head dot-product attention. With kind "
              "full (torch.nn.MultiheadAttention with batch_first), a sequence TxE (tokens x "
              "embedding, without the batch) attends to itself, or to a second input (keys "
              "and values) or to a second and third (keys, values) of their own widths; the "
              "queries, keys and values are projected to E, split into heads, and the result "
              "projected back: the output is TxE. With project: false the layer is the "
              "products alone (F.scaled_dot_product_attention) on inputs already split into "
              "heads, heads x T x d. With kind windowed (Swin) the input is an HxWxC map "
              "(channels last), padded to whole windows, and each window's tokens attend "
              "to each other.", (
        Field("heads", "pos", REQUIRED, "attention heads; divides the embedding"),
        Field("kind", "str", "full", "full or windowed"),
        Field("window", "pair_pos", None, "windowed: the window, n or [h, w] tokens"),
        Field("shift", "pair_nonneg", 0, "windowed: the cyclic shift of the windows (Swin's "
              "shifted windows)"),
        Field("bias", "bool", True, "learn the biases of the projections"),
        Field("project", "bool", True, "learn the query, key, value and output projections; "
              "false: the attention products alone"),
        Field("rel_pos", "bool", False, "windowed: learn a relative position bias per head "
              "and offset within a window (Swin's table)"),
        Field("dropout", "prob", 0.0, "dropout on the attention weights (training only)"),
    ), short="heads", aliases=("multiheadattention", "multihead_attention", "mha",
                               "self_attention"), max_inputs=3),
    LayerType("mul", "mul", "Element-wise product, broadcast as torch does: gating with "
              "two inputs (squeeze-and-excitation's x * sigmoid(s), the Cx1x1 gate "
              "spread over HxW), or a learned scale on one input (ConvNeXt's layer scale).", (
        Field("scale", "shape", None, "one input: the shape of the learned scale, e.g. 96x1x1 "
              "for one factor per channel of a CxHxW map"),
    ), aliases=("multiply", "gate"), min_inputs=1, max_inputs=2),
    LayerType("softmax", "softmax", "Softmax over the classes: the network's output.",
              aliases=("prob",)),
    LayerType("add", "add", "Element-wise sum of two or more inputs of the same shape "
              "(residual connections), or of one input and a learned addend broadcast over it "
              "as torch does (ViT's position embedding).", (
        Field("bias", "shape", None, "one input: the shape of the learned addend, e.g. 197x768 "
              "for ViT-B/16's position embedding"),
    ), aliases=("sum", "eltwise"), min_inputs=1, max_inputs=None),
    LayerType("concat", "concat", "Concatenation along the channels (Inception "
              "branches); all inputs share their other dimensions.",
              aliases=("cat",), min_inputs=2, max_inputs=None),
    LayerType("embedding", "embedding", "A table of learned vectors looked up by integer "
              "ids (torch.nn.Embedding): a sequence of T token ids (an input of shape T) "
              "becomes T vectors, T x dim; any other shape gains a last dimension of dim.", (
        Field("num", "pos", REQUIRED, "vocabulary size: the ids run from 0 to num-1"),
        Field("dim", "pos", REQUIRED, "length of each vector"),
        Field("padding_idx", "int", None, "an id whose vector stays zero and gets no gradient "
              "(from -num to num-1, as torch allows)"),
    ), short="dim", aliases=("embed",)),
    *(LayerType(kind, "recurrent", f"{what} over a sequence TxF (time steps x features, "
                "without the batch; torch's batch_first layout). The output is the whole "
                "sequence of the last layer's states, T x hidden*directions (torch's "
                "output[0]), or only its last time step with last: true.",
                (Field("hidden", "pos", REQUIRED, "features of the hidden state"),
                 Field("layers", "pos", 1, "recurrent layers stacked, each reading the "
                       "sequence the one before outputs"),
                 Field("bidirectional", "bool", False, "a second layer reads the sequence "
                       "backwards; the outputs of both are concatenated"),
                 Field("bias", "bool", True, "learn the input and hidden biases"),
                 Field("dropout", "prob", 0.0, "dropout on the outputs of every layer but "
                       "the last"),
                 *fields,
                 Field("last", "bool", False, "output only the last time step, "
                       "hidden*directions features (output[:, -1] in torch): what a "
                       "classifier reads; for a bidirectional layer the backward half "
                       "has then read only that step")),
                short="hidden", aliases=aliases)
      for kind, what, fields, aliases in (
          ("lstm", "Long short-term memory (torch.nn.LSTM)",
           (Field("proj_size", "nonneg", 0, "project each hidden state down to this size "
                  "(smaller than hidden; 0: none)"),), ("long_short_term_memory",)),
          ("gru", "Gated recurrent unit (torch.nn.GRU)", (), ()),
          ("rnn", "Elman recurrent layer (torch.nn.RNN)",
           (Field("nonlinearity", "str", "tanh", "tanh or relu"),), ("elman",)),
      )),
    LayerType("custom", "custom", "Any other module, with its output shape given "
              "(what `netviz trace` writes for modules without a rule of their own).", (
        Field("kind", "str", REQUIRED, "what it is, e.g. LayerNorm"),
        Field("output", "shape", REQUIRED, "its output shape"),
        Field("params", "nonneg", 0, "its parameter count"),
        Field("macs", "nonneg", 0, "its multiply-adds"),
    ), short="kind", min_inputs=0, max_inputs=None),
) + tuple(
    LayerType(act, "act", f"Activation: {doc}; drawn as part of the layer before it.",
              (Field("slope", "float", 0.01, "negative slope"),) if act == "leaky_relu" else (),
              aliases=("relu_",) if act == "relu" else ())
    for act, doc in ACTIVATIONS.items()
)

BY_NAME: dict[str, LayerType] = {t.name: t for t in TYPES}
ALIASES: dict[str, str] = {}
for _t in TYPES:
    ALIASES[_t.name] = _t.name
    for _a in _t.aliases:
        ALIASES[_a] = _t.name

COMMON_FIELDS = (
    Field("name", "str", None, "the layer's id; default: its type and a running number"),
    Field("label", "str", None, "text drawn for the layer instead of the generated one"),
    Field("inputs", "names", None, "the layers it reads from; default: the layer before"),
)


def _default_value(f: Field):
    d = f.default
    return (d, d) if f.kind.startswith("pair") and isinstance(d, int) else d


DEFAULTS: dict[str, tuple[tuple[str, object], ...]] = {
    t.name: tuple((f.name, _default_value(f)) for f in t.fields
                  if not f.required and f.default is not None)
    for t in TYPES}


def complete(type_name: str, attrs: dict) -> dict:
    """ATTRS with every omitted field at its default, as the spec reader
    leaves them: pairs as (h, w), a pool's stride defaulting to its kernel."""
    out = dict(DEFAULTS[type_name])
    out.update((k, v) for k, v in attrs.items() if v is not None)
    if type_name in ("maxpool", "avgpool") and out.get("stride") is None:
        out["stride"] = out["kernel"]
    return out


def canonical(type_name: str) -> str | None:
    """The canonical type for a name or alias (case- and dash-insensitive)."""
    key = type_name.strip().lower().replace("-", "_")
    return ALIASES.get(key)


def known_names() -> list[str]:
    return sorted(ALIASES)


KIND_TEXT = {
    "pos": "integer > 0", "nonneg": "integer >= 0", "int": "integer",
    "pair_pos": "n or [h, w], > 0", "pair_nonneg": "n or [h, w], >= 0",
    "bool": "true or false", "float": "number", "prob": "number from 0 to 1",
    "shape": "CxHxW or a list", "str": "text", "names": "name or list of names",
}


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_default(f: Field) -> str:
    if f.default is REQUIRED:
        return "required"
    if f.default is None:
        return "-"
    if isinstance(f.default, bool):
        return "`true`" if f.default else "`false`"
    return f"`{f.default}`"


def _md_fields(fields) -> list[str]:
    lines = ["| field | value | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{f.name}` | {KIND_TEXT.get(f.kind, f.kind)} | {_md_default(f)} | {_md(f.doc)} |"
              for f in fields]
    return lines + [""]


def type_facts(t: LayerType, code=lambda s: f"`{s}`") -> list[str]:
    """What the reference says of a type besides its fields (aliases, short
    form, inputs); ``code`` marks up literal text for the output format."""
    facts = []
    if t.aliases:
        facts.append("also written " + ", ".join(code(a) for a in t.aliases))
    if t.short:
        facts.append(f"{code(f'- {t.name}: VALUE')} sets {code(t.short)}")
    if t.max_inputs != 1 or t.min_inputs != 1:
        most = "any number of" if t.max_inputs is None else str(t.max_inputs)
        facts.append(f"reads {t.min_inputs} to {most} inputs" if t.min_inputs != t.max_inputs
                     else f"reads {t.min_inputs} inputs")
    return facts


def reference_markdown() -> str:
    """The layer-type reference of docs/spec.md, as Markdown (the docs carry a
    copy, and a test keeps it equal to this)."""
    lines = ["### Fields every layer takes", "", *_md_fields(COMMON_FIELDS)]
    acts = [t for t in TYPES if t.category == "act"]
    for t in TYPES:
        if t.category == "act":
            continue
        lines += [f"### `{t.name}`", "", _md(t.doc), ""]
        facts = type_facts(t)
        if facts:
            text = "; ".join(facts)
            lines += [text[0].upper() + text[1:] + ".", ""]
        lines += _md_fields(t.fields) if t.fields else ["No fields of its own.", ""]
    lines += ["### Activations", "",
              "Drawn as part of the layer before them; none has parameters.", "",
              "| type | also written | what it computes |", "| --- | --- | --- |"]
    for t in acts:
        extra = "".join(f"; field `{f.name}`: {_md(f.doc)}, default {_md_default(f)}"
                        for f in t.fields)
        doc = t.doc.split(";")[0].removeprefix("Activation: ")
        lines.append(f"| `{t.name}` | {', '.join(f'`{a}`' for a in t.aliases) or '-'} | "
                     f"{_md(doc)}{extra} |")
    return "\n".join(lines) + "\n"
