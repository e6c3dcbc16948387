"""The table of Caffe layer types: the handler of each, the types that are
left out (losses, accuracy), the spellings netviz knows and the V1 names."""
from __future__ import annotations

from .caffe_data import data, dummy_data, hdf5_data, image_data, input_layer, memory_data, window_data
from .caffe_layers import (_plain, batch_norm, concat, conv, dropout, eltwise, flatten, inner_product, lrn,
                           pool, relu, scale, softmax, split)

HANDLERS = {
    "input": input_layer, "data": data, "imagedata": image_data, "windowdata": window_data,
    "memorydata": memory_data, "dummydata": dummy_data, "hdf5data": hdf5_data,
    "convolution": conv, "deconvolution": lambda layer: conv(layer, "deconv"), "pooling": pool, "innerproduct": inner_product, "relu": relu,
    "sigmoid": _plain("sigmoid", "sigmoid_param"), "tanh": _plain("tanh", "tanh_param"),
    "elu": _plain("elu", "elu_param", ("alpha",), (), (("alpha", 1.0),)),
    "swish": _plain("silu", "swish_param", ("beta",), (), (("beta", 1.0),)),
    "lrn": lrn, "dropout": dropout, "batchnorm": batch_norm, "scale": scale,
    "softmax": softmax, "softmaxwithloss": softmax, "concat": concat, "eltwise": eltwise,
    "flatten": flatten, "split": split,
}
DATA_TYPES = {"input", "data", "imagedata", "windowdata", "memorydata", "dummydata", "hdf5data"}
# layers that only score the network (losses, accuracy) or consume blobs: left out
SKIPPED = {"accuracy", "euclideanloss", "hingeloss", "infogainloss", "multinomiallogisticloss",
           "sigmoidcrossentropyloss", "contrastiveloss", "silence", "hdf5output"}
_SPELLED = (
    "Input Data ImageData WindowData MemoryData DummyData HDF5Data Convolution Deconvolution Pooling "
    "InnerProduct "
    "ReLU Sigmoid TanH ELU Swish LRN Dropout BatchNorm Scale Softmax SoftmaxWithLoss Concat Eltwise "
    "Flatten Split Accuracy EuclideanLoss HingeLoss InfogainLoss MultinomialLogisticLoss "
    "SigmoidCrossEntropyLoss ContrastiveLoss Silence HDF5Output "
    # Caffe types netviz cannot draw (named so that a misspelling is told apart from these)
    "PReLU AbsVal BNLL Power Exp Log Threshold Clip Bias Reshape Slice Crop Embed MVN "
    "Reduction ArgMax Tile Python LSTM RNN SPP Im2col Filter BatchReindex Parameter Interp Upsample "
    "Normalize Permute PriorBox DetectionOutput ROIPooling").split()
KNOWN_TYPES = {t.lower(): t for t in _SPELLED}
SUPPORTED = sorted(KNOWN_TYPES[k] for k in set(HANDLERS) | SKIPPED)
V1_TYPES = {
    "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL",
    "CONCAT": "Concat", "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution",
    "DATA": "Data", "DECONVOLUTION": "Deconvolution", "DROPOUT": "Dropout",
    "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss", "ELTWISE": "Eltwise",
    "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output",
    "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
    "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
    "MVN": "MVN", "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence",
    "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice",
    "TANH": "TanH", "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
}
