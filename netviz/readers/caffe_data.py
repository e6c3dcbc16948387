"""Caffe's input layers (Input, Data, ImageData, MemoryData, DummyData, ...):
the network's input size, from the shape they declare or from their
transform (crop size) and the channels of their images."""
from __future__ import annotations

from ..errors import SpecError
from .caffe_layers import CaffeLayer, Section, image_shape  # noqa: F401
from .pbtext import Message


def _data(layer, shape, why: str | None = None):
    """The first top is the network's input; the others (labels) are not drawn."""
    r = layer.reader
    layer.count(1, None, "top")
    if shape is None:
        if r.needs_input is None:
            r.needs_input = (f"{layer.label}: the {layer.type} layer does not say the input's size "
                             f"({why}): give it with --input CxHxW (e.g. --input 3x224x224)", layer.loc)
        shape = ()
    node = r.emit("input", {"shape": shape}, (), layer.loc, layer.caffe_name or layer.tops[0],
                  len(shape) or 3, layer.type)
    r.blobs[layer.tops[0]] = ("layer", node)
    for top in layer.tops[1:]:
        r.blobs[top] = ("label", f"is the labels of data layer '{layer.label}': netviz draws "
                        "the network, not its loss")


def _crop(layer, *sections: Section) -> int | None:
    for sec in sections:
        crop = sec.get("crop_size", "int", 0, 0)
        if crop:
            return crop
    return None


def _transform(layer):
    return layer.body.sub("transform_param", f"{layer.label}: transform_param", check=False)


def _channels(t: Section) -> int:
    return 1 if len(t.fields("mean_value")) == 1 else 3


def data(layer):
    t = _transform(layer)
    crop = _crop(layer, t, layer.body.sub("data_param", check=False))
    _data(layer, (_channels(t), crop, crop) if crop else None, "no transform_param crop_size")


def image_data(layer):
    t = _transform(layer)
    p = layer.body.sub("image_data_param", check=False)
    c = 3 if p.get("is_color", "bool", True) else 1
    crop = _crop(layer, t)
    h, w = p.get("new_height", "int", 0, 0), p.get("new_width", "int", 0, 0)
    shape = (c, crop, crop) if crop else (c, h, w) if h and w else None
    _data(layer, shape, "no crop_size, new_height or new_width")


def window_data(layer):
    t = _transform(layer)
    crop = _crop(layer, t, layer.body.sub("window_data_param", check=False))
    _data(layer, (_channels(t), crop, crop) if crop else None, "no crop_size")


def memory_data(layer):
    p = layer.body.sub("memory_data_param", check=False)
    c, h, w = (p.get(k, "int", 0, 0) for k in ("channels", "height", "width"))
    crop = _crop(layer, _transform(layer))
    if crop:
        h = w = crop
    _data(layer, (c, h, w) if c and h and w else None, "memory_data_param lacks channels, height "
          "or width")


def dummy_data(layer):
    p = layer.body.sub("dummy_data_param", check=False)
    shapes = p.fields("shape")
    if shapes:
        dims = Section(shapes[0].value, f"{layer.label}: shape", ("dim",)).many("dim", "int")
        return _data(layer, image_shape(dims, shapes[0].loc, f"{layer.label}: shape"))
    dims = [(p.many(k, "int") or [0])[0] for k in ("num", "channels", "height", "width")]
    _data(layer, tuple(dims[1:]) if all(dims) else None, "no shape")


def hdf5_data(layer):
    _data(layer, None, "an HDF5Data layer's sizes are in its files")


def input_layer(layer):
    p = layer.param("input_param", ("shape",))
    shapes = p.fields("shape")
    layer.count(1, None, "top")
    if not shapes:
        return _data(layer, None, "input_param has no shape")
    if len(shapes) not in (1, len(layer.tops)):
        layer.fail(f"input_param has {len(shapes)} shapes for {len(layer.tops)} tops: give one, "
                   "or one per top")
    r = layer.reader
    for i, top in enumerate(layer.tops):
        f = shapes[i if len(shapes) > 1 else 0]
        if not isinstance(f.value, Message):
            raise SpecError.at(f"{layer.label}: input_param shape must be a {{ dim: ... }} block", f.loc)
        what = f"{layer.label}: input_param shape"
        shape = image_shape(Section(f.value, what, ("dim",)).many("dim", "int"), f.loc, what)
        name = layer.caffe_name if len(layer.tops) == 1 and layer.caffe_name else top
        node = r.emit("input", {"shape": shape}, (), layer.loc, name, len(shape), layer.type)
        r.blobs[top] = ("layer", node)
